package mcpguard_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/mcpguard"
	"github.com/ctxguard/ctxguard/spawn"
)

const (
	grace = 50 * time.Millisecond
	// giveUp is how long the client waits for a call before it cancels
	// it, as an agent's user stopping it would.
	giveUp = 50 * time.Millisecond
)

func newMonitor(t testing.TB) *ctxguard.Monitor {
	t.Helper()
	m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slog.New(slog.DiscardHandler), ReportInterval: time.Hour})
	t.Cleanup(func() { m.Close() })
	return m
}

// tools is the test server's tools and what they wait for.
type tools struct {
	release  chan struct{} // closed to let stubborn handlers return
	started  chan started  // receives each call as its handler starts, if not nil
	once     sync.Once
	stubborn atomic.Int64  // stubborn handlers that have started
	starts   chan struct{} // receives as each stubborn handler starts, if there is room
}

// started is a tool call that started: its tool and context.
type started struct {
	name string
	ctx  context.Context
}

func newTools() *tools {
	return &tools{release: make(chan struct{}), starts: make(chan struct{}, 64)}
}

// free lets every stubborn handler return; it is safe to call twice.
func (ts *tools) free() { ts.once.Do(func() { close(ts.release) }) }

var objectSchema = map[string]any{"type": "object"}

// add registers the test tools on s:
//   - stubborn ignores its context and waits for release;
//   - obedient waits for its context to end or release;
//   - quick answers at once;
//   - scope answers with the scope its context carries;
//   - spawner starts a goroutine that ignores its context and answers;
//   - panicky panics.
func (ts *tools) add(s *mcp.Server) {
	tool := func(name string, h func(ctx context.Context) string) {
		s.AddTool(&mcp.Tool{Name: name, InputSchema: objectSchema}, func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			if ts.started != nil {
				ts.started <- started{name, ctx}
			}
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: h(ctx)}}}, nil
		})
	}
	tool("stubborn", ts.ignoreContext)
	tool("obedient", func(ctx context.Context) string {
		select {
		case <-ctx.Done():
			return "cancelled"
		case <-ts.release:
			return "released"
		}
	})
	tool("quick", func(context.Context) string { return "done" })
	tool("scope", func(ctx context.Context) string { return ctxguard.ScopeFrom(ctx) })
	tool("spawner", func(ctx context.Context) string {
		spawn.Go(ctx, ts.crawl)
		return "crawling"
	})
	tool("panicky", func(context.Context) string { panic("panicky tool") })
	s.AddResource(&mcp.Resource{URI: "test://scope", Name: "scope"}, func(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: req.Params.URI, Text: ctxguard.ScopeFrom(ctx)}}}, nil
	})
}

func (ts *tools) ignoreContext(ctx context.Context) string {
	ts.stubborn.Add(1)
	select {
	case ts.starts <- struct{}{}:
	default:
	}
	<-ts.release // blocks here, whatever ctx says
	return "released"
}

func (ts *tools) crawl(ctx context.Context) {
	<-ts.release // the crawl goes on after the call is over
}

// transports are the two ways the tests reach the server: the SDK's
// in-memory transport, and its streamable HTTP handler on loopback.
var transports = []struct {
	name    string
	connect func(t testing.TB, s *mcp.Server) *mcp.ClientSession
}{
	{"inmemory", connectInMemory},
	{"streamable", connectStreamable},
}

var client = mcp.NewClient(&mcp.Implementation{Name: "test-client", Version: "v0"}, nil)

func connectInMemory(t testing.TB, s *mcp.Server) *mcp.ClientSession {
	t.Helper()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := s.Connect(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := client.Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs.Close()
		ss.Wait()
	})
	return cs
}

func connectStreamable(t testing.TB, s *mcp.Server) *mcp.ClientSession {
	t.Helper()
	srv := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server at %s, want loopback", srv.URL)
	}
	cs, err := client.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: srv.URL, MaxRetries: -1}, nil)
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cs.Close()
		srv.CloseClientConnections()
		srv.Close()
	})
	return cs
}

// newServer returns a server with the test tools, guarded by mcpguard
// with opts, and inner middleware if any (added first, so that mcpguard
// wraps them).
func newServer(ts *tools, opts []mcpguard.Option, inner ...mcp.Middleware) *mcp.Server {
	s := newBareServer(ts)
	s.AddReceivingMiddleware(inner...)
	s.AddReceivingMiddleware(mcpguard.Middleware(opts...))
	return s
}

// newBareServer returns a server with the test tools, without mcpguard.
func newBareServer(ts *tools) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "test-server", Version: "v0"}, nil)
	ts.add(s)
	return s
}

func callParams(name string) *mcp.CallToolParams {
	return &mcp.CallToolParams{Name: name, Arguments: map[string]any{}}
}

// callFor calls the tool name, giving up after d.
// giveUpOn calls a tool that ignores its context (stubborn, or another
// running ignoreContext), one call at a time, as a client that gives up
// giveUp after the call reached the tool's handler;
// a call turned away is answered before. A fixed client timeout alone
// could run out before a busy server has read the call, which would then
// have nothing to lag.
func (ts *tools) giveUpOn(cs *mcp.ClientSession, name string) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type answer struct {
		res *mcp.CallToolResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := cs.CallTool(ctx, callParams(name))
		done <- answer{res, err}
	}()
	select {
	case a := <-done:
		return a.res, a.err
	case <-ts.starts:
		time.AfterFunc(giveUp, cancel)
		a := <-done
		return a.res, a.err
	}
}

func callFor(cs *mcp.ClientSession, name string, d time.Duration) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return cs.CallTool(ctx, callParams(name))
}

// text returns the text of a result's first content.
func text(res *mcp.CallToolResult) string {
	if res == nil || len(res.Content) == 0 {
		return ""
	}
	if tc, ok := res.Content[0].(*mcp.TextContent); ok {
		return tc.Text
	}
	return ""
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// entry returns the Snapshot entry with name and scope, or a zero entry.
func entry(s ctxguard.Snapshot, name, scope string) ctxguard.GoroutineStats {
	for _, g := range s.Goroutines {
		if g.Name == name && g.Scope == scope {
			return g
		}
	}
	return ctxguard.GoroutineStats{}
}

// scopeStats returns the Snapshot's statistics of the named scope.
func scopeStats(s ctxguard.Snapshot, name string) ctxguard.ScopeStats {
	for _, sc := range s.Scopes {
		if sc.Scope == name {
			return sc
		}
	}
	return ctxguard.ScopeStats{}
}

// lineOf returns the line of this package's file that contains text, which
// must occur once.
func lineOf(t testing.TB, file, text string) int {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	line := 0
	for i, l := range strings.Split(string(src), "\n") {
		if strings.Contains(l, text) {
			if line != 0 {
				t.Fatalf("%s has %q on lines %d and %d", file, text, line, i+1)
			}
			line = i + 1
		}
	}
	if line == 0 {
		t.Fatalf("%s has no %q", file, text)
	}
	return line
}
