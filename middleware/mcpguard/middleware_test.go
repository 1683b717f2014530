package mcpguard_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/mcpguard"
)

const stubbornScope = "tools/call stubborn"

// The incident: a tool that ignores its context, called 12 times by a
// client that gives up on each call 50 ms after it reached the tool.
// Every handler is reported lagging under its tool's scope, blocked on
// the line where it waits, and returns late once released.
func TestToolIgnoringCancellationLagsUnderItsScope(t *testing.T) {
	const n = 12
	blockedLine := lineOf(t, "helpers_test.go", "<-ts.release // blocks here")
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			m := newMonitor(t)
			ts := newTools()
			defer ts.free()
			cs := tr.connect(t, newServer(ts, []mcpguard.Option{mcpguard.WithMonitor(m)}))

			for i := range n {
				if _, err := ts.giveUpOn(cs, "stubborn"); !errors.Is(err, context.Canceled) {
					t.Fatalf("call %d: error %v, want context.Canceled", i, err)
				}
			}
			waitFor(t, "every stubborn handler is lagging, its stack read", func() bool {
				e := entry(m.Snapshot(), stubbornScope, stubbornScope)
				return e.Lagging == n && len(e.BlockedAt) == 1 && e.BlockedAt[0].Count == n
			})
			s := m.Snapshot()
			e := entry(s, stubbornScope, stubbornScope)
			if s.Lagging != n || e.Live != n || e.Lagged != n || e.LateExits != 0 {
				t.Errorf("Lagging = %d, entry Live, Lagged, LateExits = %d, %d, %d; want %d, %d, %d, 0",
					s.Lagging, e.Live, e.Lagged, e.LateExits, n, n, n)
			}
			b := e.BlockedAt[0]
			if !strings.HasSuffix(b.Site.File, "/middleware/mcpguard/helpers_test.go") || b.Site.Line != blockedLine || b.Reason != "chan receive" {
				t.Errorf("blocked at %s:%d (%s), want helpers_test.go:%d (chan receive)", b.Site.File, b.Site.Line, b.Reason, blockedLine)
			}
			for _, f := range b.Frames { // ctxguard's own frames are left out, as grpcguard's are
				if strings.HasPrefix(f.Function, "github.com/ctxguard/ctxguard/middleware/mcpguard.") {
					t.Errorf("blocked at %s: frames %v hold the middleware's own %s", b.Site, b.Frames, f.Function)
				}
			}
			if sc := scopeStats(s, stubbornScope); sc.Lagging != n || sc.Shed != 0 {
				t.Errorf("scope %s: Lagging %d, Shed %d; want %d, 0", stubbornScope, sc.Lagging, sc.Shed, n)
			}

			ts.free()
			waitFor(t, "the released handlers return", func() bool {
				return entry(m.Snapshot(), stubbornScope, stubbornScope).LateExits == n
			})
			waitFor(t, "nothing is live", func() bool { return m.Snapshot().Live == 0 })
		})
	}
}

// A tool that returns when its call is cancelled is never reported.
func TestToolHonouringCancellationNeverLags(t *testing.T) {
	const n = 12
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			m := newMonitor(t)
			ts := newTools()
			defer ts.free()
			cs := tr.connect(t, newServer(ts, []mcpguard.Option{mcpguard.WithMonitor(m)}))
			before := m.Snapshot().Spawned // initialize

			for i := range n {
				if _, err := callFor(cs, "obedient", giveUp); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("call %d: error %v, want context.Canceled", i, err)
				}
			}
			waitFor(t, "every call is tracked and has returned", func() bool {
				s := m.Snapshot()
				return s.Spawned == before+n && s.Live == 0
			})
			if s := m.Snapshot(); s.Lagged != 0 || len(s.Goroutines) != 0 || len(s.Scopes) != 0 {
				t.Errorf("Lagged = %d, Goroutines = %+v, Scopes = %+v; want none", s.Lagged, s.Goroutines, s.Scopes)
			}
		})
	}
}

// Handlers see their scope: the tool's for tool calls, the method for
// other requests; notifications get none. Goroutines a tool spawns are
// scoped to its call and lag when they outlive it.
func TestRequestsAreScopedByToolOrMethod(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			m := newMonitor(t)
			ts := newTools()
			defer ts.free()
			seen := make(chan [2]string, 100)
			record := func(next mcp.MethodHandler) mcp.MethodHandler {
				return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
					seen <- [2]string{method, ctxguard.ScopeFrom(ctx)}
					return next(ctx, method, req)
				}
			}
			cs := tr.connect(t, newServer(ts, []mcpguard.Option{mcpguard.WithMonitor(m)}, record))

			res, err := callFor(cs, "scope", giveUp*100)
			if err != nil || text(res) != "tools/call scope" {
				t.Errorf("scope tool: %q, %v; want %q", text(res), err, "tools/call scope")
			}
			rr, err := cs.ReadResource(context.Background(), &mcp.ReadResourceParams{URI: "test://scope"})
			if err != nil || len(rr.Contents) != 1 || rr.Contents[0].Text != "resources/read" {
				t.Errorf("resource: %+v, %v; want the scope resources/read", rr, err)
			}
			if err := cs.Ping(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			for len(seen) > 0 {
				s := <-seen
				want := s[0] // other requests: the method (initialize, ping...)
				switch {
				case strings.HasPrefix(s[0], "notifications/"):
					want = ""
				case s[0] == "tools/list":
					want = "" // the middleware's own listing, before the call is scoped
				case s[0] == "tools/call":
					want = "tools/call scope"
				}
				if s[1] != want {
					t.Errorf("%s seen with scope %q, want %q", s[0], s[1], want)
				}
			}

			if res, err := callFor(cs, "spawner", giveUp*100); err != nil || text(res) != "crawling" {
				t.Fatalf("spawner: %q, %v", text(res), err)
			}
			const crawl = "github.com/ctxguard/ctxguard/middleware/mcpguard_test.(*tools).crawl"
			waitFor(t, "the crawl outliving its call lags under the call's scope", func() bool {
				return entry(m.Snapshot(), crawl, "tools/call spawner").Lagging == 1
			})
			ts.free()
			waitFor(t, "nothing is live", func() bool { return m.Snapshot().Live == 0 })
		})
	}
}

// The middleware added twice (by a framework and by the program, say)
// tracks each request once: the outer one tracks it and the inner one
// passes it through.
func TestNestedMiddlewareTracksARequestOnce(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			m := newMonitor(t)
			ts := newTools()
			defer ts.free()
			opts := []mcpguard.Option{mcpguard.WithMonitor(m)}
			cs := tr.connect(t, newServer(ts, opts, mcpguard.Middleware(opts...)))
			for i := range 2 { // the first call also lists the tools
				before := m.Snapshot().Spawned
				res, err := callFor(cs, "scope", giveUp*100)
				if err != nil || text(res) != "tools/call scope" {
					t.Errorf("call %d: %q, %v; want %q", i, text(res), err, "tools/call scope")
				}
				if n := m.Snapshot().Spawned - before; i == 1 && n != 1 {
					t.Errorf("a call tracked %d times, want once", n)
				}
			}
		})
	}
}
