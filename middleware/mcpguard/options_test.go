package mcpguard_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/mcpguard"
)

func TestOptionsPanicOnMisuse(t *testing.T) {
	for _, c := range []struct {
		name string
		call func()
		want string
	}{
		{"WithMonitor(nil)", func() { mcpguard.WithMonitor(nil) }, "mcpguard: WithMonitor called with a nil *Monitor"},
		{"WithGrace(0)", func() { mcpguard.WithGrace(0) }, "mcpguard: WithGrace needs a positive duration, got 0s"},
		{"WithGrace(-1s)", func() { mcpguard.WithGrace(-time.Second) }, "mcpguard: WithGrace needs a positive duration, got -1s"},
		{"WithLaggingLimit(0)", func() { mcpguard.WithLaggingLimit(0) }, "mcpguard: WithLaggingLimit needs a positive limit, got 0"},
		{"Middleware()(nil)", func() { mcpguard.Middleware()(nil) }, "mcpguard: Middleware applied to a nil mcp.MethodHandler"},
		{"Middleware(nil)", func() { mcpguard.Middleware(nil) }, "mcpguard: Middleware called with a nil Option"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if got := recover(); got != c.want {
					t.Errorf("panic = %v, want %q", got, c.want)
				}
			}()
			c.call()
		})
	}
}

// Without WithMonitor, handlers are tracked by the Monitor the request
// context carries: here the one the server session was connected with.
func TestMonitorIsTheContextsWithoutWithMonitor(t *testing.T) {
	m := newMonitor(t)
	ts := newTools()
	defer ts.free()
	s := newServer(ts, nil)
	st, ct := mcp.NewInMemoryTransports()
	ss, err := s.Connect(ctxguard.WithMonitor(context.Background(), m), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	cs, err := client.Connect(context.Background(), ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if _, err := ts.giveUpOn(cs, "stubborn"); !errors.Is(err, context.Canceled) {
		t.Fatalf("stubborn: %v, want context.Canceled", err)
	}
	waitFor(t, "the call lags in the context's Monitor", func() bool {
		return entry(m.Snapshot(), stubbornScope, stubbornScope).Lagging == 1
	})
	ts.free()
	waitFor(t, "the released handler returns", func() bool { return m.Snapshot().Live == 0 })
}

func TestWithGraceOverridesTheMonitorsGrace(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{Grace: time.Hour, Logger: slog.New(slog.DiscardHandler), ReportInterval: time.Hour})
	defer m.Close()
	ts := newTools()
	defer ts.free()
	cs := connectInMemory(t, newServer(ts, []mcpguard.Option{mcpguard.WithMonitor(m), mcpguard.WithGrace(grace)}))
	if _, err := ts.giveUpOn(cs, "stubborn"); !errors.Is(err, context.Canceled) {
		t.Fatalf("stubborn: %v, want context.Canceled", err)
	}
	waitFor(t, "the call lags after WithGrace's grace, not the Monitor's hour", func() bool {
		return entry(m.Snapshot(), stubbornScope, stubbornScope).Lagging == 1
	})
	ts.free()
	waitFor(t, "the released handler returns", func() bool { return m.Snapshot().Live == 0 })
}

// Serving through the middleware over both transports and shutting down
// leaves no goroutine behind: neither the middleware nor the Monitor
// keeps any.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slog.New(slog.DiscardHandler), ReportInterval: time.Hour})
	t.Run("serve", func(t *testing.T) {
		ts := newTools()
		defer ts.free()
		for _, tr := range transports {
			cs := tr.connect(t, newServer(ts, []mcpguard.Option{mcpguard.WithMonitor(m), mcpguard.WithLaggingLimit(100)}))
			ts.giveUpOn(cs, "stubborn")
			callFor(cs, "spawner", time.Minute)
			callFor(cs, "quick", time.Minute)
		}
		waitFor(t, "the stubborn calls and crawls lag", func() bool { return m.Snapshot().Lagging == 4 })
		ts.free()
		waitFor(t, "they return", func() bool { return m.Snapshot().Live == 0 })
	}) // the sessions and servers close as the subtest ends
	m.Close()
	goleak.VerifyNone(t, ignore)
}
