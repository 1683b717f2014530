package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/mcpguard"
)

const (
	grace  = 100 * time.Millisecond // a tool call may run this long after it was cancelled
	giveUp = 100 * time.Millisecond // the client's patience
	limit  = 3                      // lagging crawl calls before crawl is turned away
	calls  = 6
)

func run(ctx context.Context, w io.Writer) error {
	out := &syncWriter{w: w} // the Monitor logs from its own goroutine
	// The Monitor logs the first lag of each tool at once; the log goes to
	// out without its time, so that the output reads the same every run.
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: logger})
	defer m.Close()

	t := &tools{release: make(chan struct{})}
	server := mcp.NewServer(&mcp.Implementation{Name: "research", Version: "v1"}, nil)
	t.register(server)
	server.AddReceivingMiddleware(mcpguard.Middleware(mcpguard.WithMonitor(m), mcpguard.WithLaggingLimit(limit)))

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)}
	go srv.Serve(lis)
	defer srv.Close()
	released := false
	defer func() {
		if !released {
			close(t.release)
		}
	}()

	client := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "v1"}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: "http://" + lis.Addr().String()}, nil)
	if err != nil {
		return err
	}
	defer cs.Close()

	// The agent calls crawl, gives up after giveUp, and calls again, until
	// the limit turns it away; the clock tool answers throughout.
	for i := range calls {
		res, err := call(ctx, cs, "crawl", giveUp)
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			fmt.Fprintf(out, "client: crawl #%d: gave up after %v\n", i+1, giveUp)
		case err != nil:
			return err
		case res.IsError:
			fmt.Fprintf(out, "client: crawl #%d: tool error: %s\n", i+1, text(res))
		default:
			return fmt.Errorf("crawl #%d answered %q", i+1, text(res))
		}
		if res, err := call(ctx, cs, "clock", time.Minute); err != nil || res.IsError {
			return fmt.Errorf("clock: %v %v", text(res), err)
		}
		if i == limit-1 {
			// Let the first calls cross Grace, as they would while the
			// agent talks to its model.
			for m.Snapshot().Lagging < limit {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	fmt.Fprintln(out, "client: clock answered every call")

	// Stacks are read within a few scans of a lag.
	s := m.Snapshot()
	for !captured(s) {
		time.Sleep(10 * time.Millisecond)
		s = m.Snapshot()
	}
	for _, g := range s.Goroutines {
		fmt.Fprintf(out, "ctxguard: %d lagging under %q\n", g.Lagging, g.Scope)
		for _, b := range g.BlockedAt {
			fmt.Fprintf(out, "ctxguard:   %d blocked at %s:%d (%s)\n", b.Count, filepath.Base(b.Site.File), b.Site.Line, b.Reason)
		}
	}
	for _, sc := range s.Scopes {
		fmt.Fprintf(out, "ctxguard: scope %q: %d lagging, %d calls turned away\n", sc.Scope, sc.Lagging, sc.Shed)
	}

	close(t.release)
	released = true
	for m.Snapshot().Live > 0 {
		time.Sleep(10 * time.Millisecond)
	}
	res, err := call(ctx, cs, "crawl", time.Minute)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "client: once the stuck calls returned, crawl answers: %s\n", text(res))
	return nil
}

// captured reports whether s says where every lagging goroutine is blocked.
func captured(s ctxguard.Snapshot) bool {
	n := 0
	for _, g := range s.Goroutines {
		n += g.BlockedAtOmitted
		for _, b := range g.BlockedAt {
			n += b.Count
		}
	}
	return n == s.Lagging
}

// call calls the tool name, giving up after d.
func call(ctx context.Context, cs *mcp.ClientSession, name string, d time.Duration) (*mcp.CallToolResult, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: map[string]any{}})
}

func text(res *mcp.CallToolResult) string {
	if res != nil && len(res.Content) > 0 {
		if tc, ok := res.Content[0].(*mcp.TextContent); ok {
			return tc.Text
		}
	}
	return ""
}

// syncWriter serializes writes to w.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
