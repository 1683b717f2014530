package mcpguard_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/mcpguard"
)

// scopeRecorder is an inner middleware that records the scope of each
// tools/call and counts the tools/list requests it sees.
type scopeRecorder struct {
	mu     sync.Mutex
	scopes map[string]int
	lists  int
}

func (r *scopeRecorder) middleware(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		r.mu.Lock()
		switch method {
		case "tools/call":
			if r.scopes == nil {
				r.scopes = map[string]int{}
			}
			r.scopes[ctxguard.ScopeFrom(ctx)]++
		case "tools/list":
			r.lists++
		}
		r.mu.Unlock()
		return next(ctx, method, req)
	}
}

// Tool names come from the client: names the server does not list, of a
// megabyte, of invalid UTF-8, or thousands of distinct ones, all share
// one scope, and the SDK's "unknown tool" error reaches the client
// unchanged; listing the server's tools to tell costs one tools/list per
// second at most.
func TestToolNamesTheServerDoesNotListShareOneScope(t *testing.T) {
	const distinct = 3000
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			m := newMonitor(t)
			ts := newTools()
			defer ts.free()
			rec := &scopeRecorder{}
			cs := tr.connect(t, newServer(ts, []mcpguard.Option{mcpguard.WithMonitor(m)}, rec.middleware))

			// The unknown tool error quotes the name, and go-sdk's
			// streamable client (v1.0.0) reads server-sent events of 1 MiB
			// at most: half a megabyte there, megabytes in memory.
			size := 2 << 20
			if tr.name == "streamable" {
				size = 1 << 19
			}
			names := []string{strings.Repeat("x", size), "bad\xff\xfe utf-8 \xc3", strings.Repeat("\xff", size/4)}
			for i := range distinct {
				names = append(names, fmt.Sprintf("no-such-tool-%d", i))
			}
			start := time.Now()
			var wg sync.WaitGroup
			const callers = 8 // at once, so that calls of unseen names meet at the listing
			for c := range callers {
				wg.Go(func() {
					for i := c; i < len(names); i += callers {
						res, err := callFor(cs, names[i], giveUp*1000)
						if err == nil || !strings.Contains(err.Error(), "unknown tool") {
							t.Errorf("tool %.40q: %q, %v; want the SDK's unknown tool error", names[i], text(res), err)
							return
						}
					}
				})
			}
			wg.Wait()
			if res, err := callFor(cs, "quick", giveUp*100); err != nil || text(res) != "done" {
				t.Fatalf("quick: %q, %v", text(res), err)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			want := map[string]int{"tools/call (unknown tool)": len(names), "tools/call quick": 1}
			if fmt.Sprint(rec.scopes) != fmt.Sprint(want) {
				t.Errorf("tools/call scopes = %v, want %v", rec.scopes, want)
			}
			t.Logf("%d calls of unknown tools: %d tools/list", len(names), rec.lists)
			if rec.lists < 1 || rec.lists > 1+int(time.Since(start)/time.Second) {
				t.Errorf("%d tools/list requests, want one a second at most", rec.lists)
			}
			s := m.Snapshot()
			if s.Live != 0 || s.Lagged != 0 || len(s.Scopes) != 0 {
				t.Errorf("Live %d, Lagged %d, Scopes %v; want nothing", s.Live, s.Lagged, s.Scopes)
			}
		})
	}
}

// A stubborn call of a long name the server does list is scoped by its
// name cut to ctxguard.MaxLabelBytes. (40 KB, not megabytes: the client
// gives up after 50 ms, and go-sdk v1.8.0's client then abandons a
// message it has not finished writing, which leaves the in-memory
// stream torn.)
func TestLongToolNamesAreCut(t *testing.T) {
	m := newMonitor(t)
	ts := newTools()
	defer ts.free()
	s := newServer(ts, []mcpguard.Option{mcpguard.WithMonitor(m)})
	long := strings.Repeat("long-", 1<<13)
	s.AddTool(&mcp.Tool{Name: long, InputSchema: objectSchema}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ts.ignoreContext(nil)
		return &mcp.CallToolResult{}, nil
	})
	cs := connectInMemory(t, s)
	if _, err := ts.giveUpOn(cs, long); !errors.Is(err, context.Canceled) {
		t.Fatalf("long tool: %v, want context.Canceled", err)
	}
	waitFor(t, "the long tool lags", func() bool { return m.Snapshot().Lagging == 1 })
	g := m.Snapshot().Goroutines[0]
	if len(g.Scope) > ctxguard.MaxLabelBytes || !strings.HasPrefix(g.Scope, "tools/call long-long-") || !strings.HasSuffix(g.Scope, ctxguard.TruncatedMark) || g.Name != g.Scope {
		t.Errorf("scope %.80q... (%d bytes), name %.40q...; want the scope cut to %d bytes, and the name the same", g.Scope, len(g.Scope), g.Name, ctxguard.MaxLabelBytes)
	}
	ts.free()
	waitFor(t, "the released handler returns", func() bool { return m.Snapshot().Live == 0 })
}

// A panicking tool's panic goes on, unchanged, to the middleware around
// mcpguard (here one that recovers it; without one the SDK lets it crash
// the server, as a go statement would), counted first; tracking ends.
func TestPanicsPassThroughAndTrackingEnds(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			m := newMonitor(t)
			ts := newTools()
			s := newServer(ts, []mcpguard.Option{mcpguard.WithMonitor(m)})
			recovered := make(chan any, 1)
			s.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
				return func(ctx context.Context, method string, req mcp.Request) (res mcp.Result, err error) {
					defer func() {
						if v := recover(); v != nil {
							recovered <- v
							res, err = nil, fmt.Errorf("recovered: %v", v)
						}
					}()
					return next(ctx, method, req)
				}
			})
			cs := tr.connect(t, s)

			_, err := callFor(cs, "panicky", giveUp*100)
			if err == nil || !strings.Contains(err.Error(), "recovered: panicky tool") {
				t.Errorf("panicky: %v, want the recovering middleware's error", err)
			}
			if v := <-recovered; v != "panicky tool" {
				t.Errorf("recovered %v, want the tool's panic value", v)
			}
			if s := m.Snapshot(); s.Live != 0 || s.Panics != 1 {
				t.Errorf("Live, Panics = %d, %d; want 0, 1", s.Live, s.Panics)
			}
			if res, err := callFor(cs, "quick", giveUp*100); err != nil || text(res) != "done" {
				t.Errorf("quick after the panic: %q, %v; want it answered", text(res), err)
			}
		})
	}
}

// A session whose connection breaks while calls run (the client process
// died, the agent's window was closed): from go-sdk v1.7.0 on, the SDK
// ends the calls' contexts, and a tool ignoring it lags under its scope
// while one honouring it returns; before, the contexts stay live (only
// notifications/cancelled ends them) and neither is lagging. Either way
// the calls are tracked until they return and nothing is left behind.
func TestSessionClosedMidCall(t *testing.T) {
	m := newMonitor(t)
	ts := newTools()
	defer ts.free()
	ts.started = make(chan started, 2)
	st, ct := newPipeTransports()
	ss, err := newServer(ts, []mcpguard.Option{mcpguard.WithMonitor(m)}).Connect(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := client.Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}

	errs := make(chan error, 2)
	for _, name := range []string{"stubborn", "obedient"} {
		go func() {
			_, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: map[string]any{}})
			errs <- err
		}()
	}
	calls := map[string]context.Context{}
	for range 2 {
		c := <-ts.started
		calls[c.name] = c.ctx
	}
	ct.conn.Close() // the client is gone
	for range 2 {
		if err := <-errs; err == nil {
			t.Errorf("a call on the broken session succeeded, want an error")
		}
	}
	if sdkCancelsOnDisconnect() {
		waitFor(t, "the stubborn call lags and the obedient one has returned", func() bool {
			s := m.Snapshot()
			return s.Live == 1 && entry(s, stubbornScope, stubbornScope).Lagging == 1
		})
		if e := entry(m.Snapshot(), "tools/call obedient", "tools/call obedient"); e.Name != "" {
			t.Errorf("obedient entry %+v, want none", e)
		}
	} else {
		// Neither context has ended, so neither call can be lagging.
		for name, ctx := range calls {
			if ctx.Err() != nil {
				t.Fatalf("%s's context ended (%v) with an SDK that does not end them on disconnect", name, context.Cause(ctx))
			}
		}
		if s := m.Snapshot(); s.Live != 2 || s.Lagging != 0 {
			t.Errorf("Live, Lagging = %d, %d; want 2, 0", s.Live, s.Lagging)
		}
	}
	ts.free()
	waitFor(t, "every call returns", func() bool { return m.Snapshot().Live == 0 })
	ss.Close()
}
