// Package ctxguardtest checks, in tests, that code stops when its context is
// cancelled. It knows which goroutine belongs to which test, so unlike a
// whole-process leak check it works with t.Parallel, and it says where a
// goroutine that did not stop is blocked.
//
//	func TestHandler(t *testing.T) {
//		t.Parallel()
//		ctx := ctxguardtest.Context(t) // cancelled as the test ends
//		h.Serve(ctx, req)              // its spawn.Go goroutines must return then
//	}
//
//	func TestWorkerStops(t *testing.T) {
//		ctxguardtest.StopsOnCancel(t, worker.Run, 100*time.Millisecond)
//	}
//
// Both track goroutines started with spawn.Go (and spawn.Group, and the
// httpguard and grpcguard middleware) from the context they hand out, with
// a Monitor of their own: goroutines of other tests, and plain go
// statements, are not theirs to judge.
//
// # Cost
//
// Each call makes a ctxguard Monitor that tracks every cancel func, closed
// when the test ends. At the end of a test, Context waits for the test's
// goroutines (at most the wait of [WithWait]) and runs a few garbage
// collections to find cancel funcs dropped uncalled: some milliseconds per
// test, more for a test that leaks.
package ctxguardtest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/callsite"
	"github.com/ctxguard/ctxguard/internal/track"
)

// DefaultWait is how long, by default, Context waits at the end of a test
// for its goroutines to return.
const DefaultWait = time.Second

// An Option changes what Context checks.
type Option interface {
	apply(*config)
}

type config struct {
	wait time.Duration
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithWait sets how long Context waits, once the test's context has been
// cancelled, for the goroutines started under it to return before it
// fails the test. It panics if d is not positive.
func WithWait(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("ctxguardtest: WithWait needs a positive duration, got %v", d))
	}
	return optionFunc(func(c *config) { c.wait = d })
}

// Context returns a context for t that, like t.Context(), is cancelled
// just before t's Cleanup functions run, and that carries a ctxguard
// Monitor of t's own, which tracks every cancel func created from the
// context and every goroutine spawned under it.
//
// When t ends, Context waits (up to [DefaultWait], or [WithWait]) for those
// goroutines to return, and fails t for each one still running, naming it
// with its spawn site and scope and saying where it is blocked, and, on a
// Go release with the goroutine leak profile (see
// ctxguard.LeakProfileAvailable), whether it can never return: a goroutine
// the profile proves blocked on a channel or lock nothing reachable can
// signal is a leak for good, not just slow to stop. For that it runs a
// leak check (Monitor.CheckLeaks) once the wait is over. It also
// fails t for each cancel func created under the context and never called,
// with the line that created it: a cancel func the code under test drops,
// which would keep a longer-lived parent's child registered (it forces
// garbage collection to find them).
//
// To point httpguard or grpcguard middleware of the test at its Monitor,
// pass ctxguard.MonitorFrom(ctx) to their WithMonitor option, and give an
// httptest.Server's Config a BaseContext returning ctx, so that requests
// end with the test.
func Context(t testing.TB, opts ...Option) context.Context {
	t.Helper()
	cfg := config{wait: DefaultWait}
	for _, o := range opts {
		if o == nil {
			panic("ctxguardtest: Context called with a nil Option")
		}
		o.apply(&cfg)
	}
	m, collected := newMonitor(t, cfg.wait)
	ctx := ctxguard.WithMonitor(t.Context(), m)
	t.Cleanup(func() {
		// t.Context() is cancelled by now; t's other Cleanup functions
		// registered after this call have run.
		t.Helper()
		checkGoroutines(t, m, cfg.wait)
		checkCancels(t, m, collected)
	})
	return ctx
}

// newMonitor returns a Monitor closed when t ends, whose grace is wait.
func newMonitor(t testing.TB, wait time.Duration) (*ctxguard.Monitor, func() uint64) {
	mon, collected := track.TestMonitor(wait)
	m := mon.(*ctxguard.Monitor)
	t.Cleanup(func() { m.Close() })
	return m, collected
}

// checkGoroutines waits up to wait for m's goroutines to return, then
// fails t for those still running.
func checkGoroutines(t testing.TB, m *ctxguard.Monitor, wait time.Duration) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for m.Snapshot().Live > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if m.Snapshot().Live > 0 {
		reportLive(t, m, "still running %v after the test's context was cancelled", wait)
	}
}

// reportLive fails t for the goroutines of m still running now, saying
// where they are blocked once that is known (or a bounded moment later),
// and which of them can never return, by a leak check run now.
func reportLive(t testing.TB, m *ctxguard.Monitor, format string, args ...any) {
	t.Helper()
	type key struct {
		name, scope string
		site        ctxguard.Site
	}
	live := make(map[key]int)
	for _, g := range m.Snapshot().Goroutines {
		if g.Live > 0 {
			live[key{g.Name, g.Scope, g.Site}] = g.Live
		}
	}
	for _, g := range leakChecked(m, whereBlocked(m)).Goroutines {
		n, ok := live[key{g.Name, g.Scope, g.Site}]
		if !ok {
			continue
		}
		g.Live = n
		t.Errorf("ctxguardtest: %s", describe(g, format, args...))
	}
}

// whereBlocked waits, a bounded moment, until the Monitor knows where its
// lagging goroutines are blocked, and returns its Snapshot.
func whereBlocked(m *ctxguard.Monitor) ctxguard.Snapshot {
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := m.Snapshot()
		if known(s) || time.Now().After(deadline) {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// leakChecked returns a Snapshot of m whose Leaked counts come from a leak
// check run now, after the test's context ended, so that a goroutine
// blocked for good once the test's code had returned is counted, lagging
// or not (one whose context never ends does not lag). It returns s on a Go
// release without the goroutine leak profile.
func leakChecked(m *ctxguard.Monitor, s ctxguard.Snapshot) ctxguard.Snapshot {
	if m.CheckLeaks() != nil {
		return s
	}
	return m.Snapshot()
}

// known reports whether every live goroutine of s lags and has a known
// blocking location.
func known(s ctxguard.Snapshot) bool {
	for _, g := range s.Goroutines {
		n := g.BlockedAtOmitted
		for _, b := range g.BlockedAt {
			n += b.Count
		}
		if g.Live != g.Lagging || n != g.Lagging {
			return false
		}
	}
	return true
}

// describe says which goroutines g counts, and where they are blocked.
func describe(g ctxguard.GoroutineStats, format string, args ...any) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d goroutine(s) %s, spawned at %s,", g.Live, g.Name, g.Site)
	if g.Scope != "" {
		fmt.Fprintf(&b, " in scope %q", g.Scope)
	}
	fmt.Fprintf(&b, " "+format, args...)
	if g.Leaked > 0 {
		fmt.Fprintf(&b, "; %d of them can never return (proven leaked: Go's goroutine leak profile found them blocked on a channel or lock that nothing reachable can signal)", min(g.Leaked, g.Live))
	}
	blocked := g.BlockedAt
	if len(blocked) == 0 {
		blocked = g.LeakedAt // leaked, not lagging: its context never ended
	}
	if len(blocked) == 0 {
		b.WriteString("; where blocked is unknown")
	}
	for _, at := range blocked {
		fmt.Fprintf(&b, "\n\t%d blocked at %s", at.Count, at)
		for _, f := range at.Frames {
			fmt.Fprintf(&b, "\n\t\t%s\n\t\t\t%s", f.Function, f)
		}
	}
	return b.String()
}

// checkCancels forces garbage collection until the cancel funcs that the
// test dropped have been collected, and fails t for each site that
// dropped some.
func checkCancels(t testing.TB, m *ctxguard.Monitor, collected func() uint64) {
	t.Helper()
	// A dropped cancel func is noticed by a runtime cleanup after the
	// collection that finds it unreachable. Collect until a few rounds in
	// a row find nothing new.
	last, quiet := collected(), 0
	for deadline := time.Now().Add(time.Second); quiet < 3 && time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(2 * time.Millisecond)
		if n := collected(); n != last {
			last, quiet = n, 0
		} else {
			quiet++
		}
	}
	for _, sc := range m.Snapshot().DroppedCancelSites {
		t.Errorf("ctxguardtest: %d cancel func(s) created at %s (%s) were never called", sc.Count, sc.Site, sc.Site.Function)
	}
}

// StopsOnCancel runs fn in a goroutine tracked by a Monitor of its own,
// under a fresh context, cancels the context once fn is running, and fails
// t if fn, or a goroutine it spawned under the context (spawn.Go,
// spawn.Group), has not returned within the given time after the cancel,
// saying where it is blocked and, as [Context] does, whether it can never
// return. It returns when those have returned, or soon after within has
// passed (it never hangs the test): a stuck goroutine is left running and
// reported. It panics if fn is nil or within is not positive.
//
//go:noinline
func StopsOnCancel(t testing.TB, fn func(ctx context.Context), within time.Duration) {
	t.Helper()
	if fn == nil {
		panic("ctxguardtest: StopsOnCancel called with a nil func")
	}
	if within <= 0 {
		panic(fmt.Sprintf("ctxguardtest: StopsOnCancel needs a positive duration, got %v", within))
	}
	m, _ := newMonitor(t, within)
	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	running, returned := make(chan struct{}), make(chan struct{})
	track.Go(ctx, func(ctx context.Context) {
		defer close(returned)
		close(running)
		fn(ctx)
	}, callsite.CallerPC(), &track.Options{Func: fn})
	<-running
	cancel()
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case <-returned:
		// The goroutines fn spawned under ctx must stop in the same time.
		for m.Snapshot().Live > 0 {
			select {
			case <-timer.C:
				reportLive(t, m, "did not return within %v of its context's cancel", within)
				return
			case <-time.After(time.Millisecond):
			}
		}
		return
	case <-timer.C:
	}
	reportLive(t, m, "did not return within %v of its context's cancel", within)
}
