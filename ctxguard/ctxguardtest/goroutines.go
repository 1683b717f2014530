package ctxguardtest

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// goroutineContexts maps a testing.TB to the context Goroutines returned
// for it, while that test runs.
var goroutineContexts sync.Map

// Goroutines returns t.Context() carrying a Monitor of t's own, and, when t
// ends, fails t for each goroutine spawned under that context (with
// spawn.Go, spawn.Group or the middleware, directly or from a context
// derived from it) that is still running the wait of [WithWait] (default
// [DefaultWait]) after t's context was cancelled, naming t, the spawn site
// and where the goroutine is blocked, and, as [Context] does, whether it
// can never return.
//
// Unlike [Context], it does not look for dropped cancel funcs, so it forces
// no garbage collection: a test whose goroutines have all returned pays one
// Monitor and one Snapshot. Every call with the same t returns the same
// context, as t.Context() does, so it can stand in for t.Context() in
// code that calls that more than once: the ctxguard command's test
// subcommand rewrites t.Context() into it.
func Goroutines(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	if ctx, ok := goroutineContexts.Load(t); ok {
		return ctx.(context.Context)
	}
	cfg := config{wait: DefaultWait}
	for _, o := range opts {
		if o == nil {
			panic("ctxguardtest: Goroutines called with a nil Option")
		}
		o.apply(&cfg)
	}
	m := ctxguard.New(ctxguard.Config{Grace: cfg.wait, Logger: slog.New(slog.DiscardHandler)})
	ctx := ctxguard.WithMonitor(t.Context(), m)
	if prev, loaded := goroutineContexts.LoadOrStore(t, ctx); loaded {
		m.Close()
		return prev.(context.Context)
	}
	t.Cleanup(func() {
		t.Helper()
		defer goroutineContexts.Delete(t)
		defer m.Close()
		checkGoroutines(t, m, cfg.wait)
	})
	return ctx
}
