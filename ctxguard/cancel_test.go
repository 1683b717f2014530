package ctxguard

import (
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/internal/leakcheck"
	"github.com/ctxguard/ctxguard/internal/wait"
)

// A constructor under test, in two one-line forms: one that drops the cancel
// func, one that calls it. Each closure is written on one line, so the
// closure's own line is the site the dropped cancel must be reported at.
type constructor struct {
	name string
	drop func(Context)
	call func(Context)
	// ends returns a context from this constructor that is already done
	// by its own deadline, and its cancel func, or nil if it has none.
	ends func(Context) (Context, CancelFunc)
}

var errCause = errors.New("test cause")

var constructors = []constructor{
	{"WithCancel",
		func(p Context) { _, _ = WithCancel(p) }, //ctxvet:ignore lostcancel dropped on purpose: the test counts drops
		func(p Context) { _, c := WithCancel(p); c() },
		nil},
	{"WithCancelCause",
		func(p Context) { _, _ = WithCancelCause(p) }, //ctxvet:ignore lostcancel dropped on purpose: the test counts drops
		func(p Context) { _, c := WithCancelCause(p); c(errCause) },
		nil},
	{"WithDeadline",
		func(p Context) { _, _ = WithDeadline(p, time.Now().Add(time.Hour)) }, //ctxvet:ignore lostcancel dropped on purpose: the test counts drops
		func(p Context) { _, c := WithDeadline(p, time.Now().Add(time.Hour)); c() },
		func(p Context) (Context, CancelFunc) { return WithDeadline(p, time.Now().Add(time.Millisecond)) }},
	{"WithDeadlineCause",
		func(p Context) { _, _ = WithDeadlineCause(p, time.Now().Add(time.Hour), errCause) }, //ctxvet:ignore lostcancel dropped on purpose: the test counts drops
		func(p Context) { _, c := WithDeadlineCause(p, time.Now().Add(time.Hour), errCause); c() },
		func(p Context) (Context, CancelFunc) { return WithDeadlineCause(p, time.Now(), errCause) }},
	{"WithTimeout",
		func(p Context) { _, _ = WithTimeout(p, time.Hour) }, //ctxvet:ignore lostcancel dropped on purpose: the test counts drops
		func(p Context) { _, c := WithTimeout(p, time.Hour); c() },
		func(p Context) (Context, CancelFunc) { return WithTimeout(p, time.Millisecond) }},
	{"WithTimeoutCause",
		func(p Context) { _, _ = WithTimeoutCause(p, time.Hour, errCause) }, //ctxvet:ignore lostcancel dropped on purpose: the test counts drops
		func(p Context) { _, c := WithTimeoutCause(p, time.Hour, errCause); c() },
		func(p Context) (Context, CancelFunc) { return WithTimeoutCause(p, 0, errCause) }},
}

// lineOf returns the file, as a Site names it, and line where the closure f
// is written.
func lineOf(f any) (string, int) {
	fn := runtime.FuncForPC(reflect.ValueOf(f).Pointer())
	file, line := fn.FileLine(fn.Entry())
	return stablePath(fn.Name(), file), line
}

// settle runs a few more collections so that a count that should stay
// where it is has every chance to move.
func settle() {
	for range 3 {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
	}
}

func newTrackAll(t *testing.T) (*Monitor, Context) {
	t.Helper()
	m := New(Config{CancelSampleRate: 1, ReportInterval: time.Hour, Logger: discardLogger})
	t.Cleanup(func() { m.Close() })
	return m, WithMonitor(context.Background(), m)
}

//go:noinline
func repeat(n int, parent Context, f func(Context)) {
	for range n {
		f(parent)
	}
}

func TestDroppedCancelsAreCountedExactly(t *testing.T) {
	const dropped, called, ended = 300, 200, 100
	for _, c := range constructors {
		t.Run(c.name, func(t *testing.T) {
			m, root := newTrackAll(t)

			repeat(dropped, root, c.drop)
			repeat(called, root, c.call)
			// Ended by their parent before being dropped: not leaks.
			parent, cancelParent := context.WithCancel(root)
			repeat(ended, parent, c.drop)
			cancelParent()

			wait.Collecting(t, "every uncalled cancel func is collected", func() bool {
				return m.cancelsCollected.Load() == dropped+ended
			})
			settle()
			s := m.Snapshot()
			if s.DroppedCancels != dropped {
				t.Errorf("DroppedCancels = %d, want %d", s.DroppedCancels, dropped)
			}
			if got := m.cancelsCollected.Load(); got != dropped+ended {
				t.Errorf("cancel funcs collected uncalled = %d, want %d (called ones must never reach the collector)", got, dropped+ended)
			}
			if s.CancelsTracked != dropped+called+ended {
				t.Errorf("CancelsTracked = %d, want %d", s.CancelsTracked, dropped+called+ended)
			}
			file, line := lineOf(c.drop)
			want := []SiteCount{{Site{"github.com/ctxguard/ctxguard/ctxguard.init.func" + funcSuffix(c.drop), file, line}, dropped}}
			if !reflect.DeepEqual(s.DroppedCancelSites, want) {
				t.Errorf("DroppedCancelSites = %+v, want %+v", s.DroppedCancelSites, want)
			}
		})
	}
}

// funcSuffix returns the closure number in f's name, so the expected site
// does not depend on how the compiler numbers the table's closures.
func funcSuffix(f any) string {
	name := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	return name[strings.LastIndex(name, ".func")+len(".func"):]
}

func TestCancelEndedByDeadlineIsNotDropped(t *testing.T) {
	for _, c := range constructors {
		if c.ends == nil {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			m, root := newTrackAll(t)
			const n = 100
			func() {
				for range n {
					ctx, _ := c.ends(root)
					<-ctx.Done()
				}
			}()
			wait.Collecting(t, "every cancel func is collected", func() bool { return m.cancelsCollected.Load() == n })
			settle()
			if s := m.Snapshot(); s.DroppedCancels != 0 {
				t.Errorf("DroppedCancels = %d, want 0: the deadline ended these contexts", s.DroppedCancels)
			}
		})
	}
}

func TestCancelCalledManyTimesIsNotDropped(t *testing.T) {
	m, root := newTrackAll(t)
	ctx, cancel := WithCancel(root)
	done := make(chan struct{})
	for range 8 {
		go func() { cancel(); done <- struct{}{} }()
	}
	for range 8 {
		<-done
	}
	cancel()
	if ctx.Err() != context.Canceled {
		t.Fatalf("ctx.Err() = %v, want context.Canceled", ctx.Err())
	}
	cancel = nil
	settle()
	if s := m.Snapshot(); s.DroppedCancels != 0 || m.cancelsCollected.Load() != 0 {
		t.Errorf("DroppedCancels = %d, collected = %d; want 0, 0", s.DroppedCancels, m.cancelsCollected.Load())
	}
}

func TestCancelCauseIsPreserved(t *testing.T) {
	_, root := newTrackAll(t)
	ctx, cancel := WithCancelCause(root)
	cancel(errCause)
	if got := context.Cause(ctx); got != errCause {
		t.Errorf("Cause = %v, want %v", got, errCause)
	}
	tctx, tcancel := WithTimeoutCause(root, 0, errCause)
	defer tcancel()
	<-tctx.Done()
	if got := context.Cause(tctx); got != errCause {
		t.Errorf("Cause after timeout = %v, want %v", got, errCause)
	}
}

func TestSampledTrackingCountsOneInRate(t *testing.T) {
	const rate, n = 10, 5000
	m := New(Config{CancelSampleRate: rate, ReportInterval: time.Hour, Logger: discardLogger})
	defer m.Close()
	root := WithMonitor(context.Background(), m)

	repeat(n, root, constructors[0].drop)
	tracked := m.Snapshot().CancelsTracked
	// Binomial(5000, 1/10): mean 500, standard deviation 21. The bounds are
	// ten deviations wide, so only broken sampling falls outside them.
	if tracked < 290 || tracked > 710 {
		t.Fatalf("CancelsTracked = %d of %d at rate %d, want about %d", tracked, n, rate, n/rate)
	}
	wait.Collecting(t, "every tracked cancel func is collected", func() bool { return m.cancelsCollected.Load() == tracked })
	if s := m.Snapshot(); s.DroppedCancels != tracked {
		t.Errorf("DroppedCancels = %d, want every tracked one, %d", s.DroppedCancels, tracked)
	}
}

func TestClosedMonitorTracksNothing(t *testing.T) {
	defer leakcheck.Check(t)()
	m := New(Config{CancelSampleRate: 1, Logger: discardLogger})
	if err := m.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
	root := WithMonitor(context.Background(), m)
	for _, c := range constructors {
		repeat(10, root, c.drop)
		repeat(10, root, c.call)
	}
	ctx, cancel := WithTimeout(root, time.Hour)
	cancel()
	if ctx.Err() != context.Canceled {
		t.Errorf("ctx.Err() = %v, want context.Canceled", ctx.Err())
	}
	settle()
	if s := m.Snapshot(); s.CancelsTracked != 0 || s.DroppedCancels != 0 {
		t.Errorf("closed Monitor tracked %d, dropped %d; want 0, 0", s.CancelsTracked, s.DroppedCancels)
	}
}

func TestNilParentPanicsLikeContext(t *testing.T) {
	stdWithCancel := context.WithCancel // a func value, so vet does not ask for the cancel
	want := panicValue(func() { _, _ = stdWithCancel(nil) })
	if want == nil {
		t.Fatal("context.WithCancel(nil) did not panic")
	}
	var nilCtx Context
	for name, f := range map[string]func(){
		"WithCancel":        func() { WithCancel(nilCtx) },                         //ctxvet:ignore lostcancel must panic before any cancel func exists
		"WithCancelCause":   func() { WithCancelCause(nilCtx) },                    //ctxvet:ignore lostcancel must panic before any cancel func exists
		"WithDeadline":      func() { WithDeadline(nilCtx, time.Now()) },           //ctxvet:ignore lostcancel must panic before any cancel func exists
		"WithDeadlineCause": func() { WithDeadlineCause(nilCtx, time.Now(), nil) }, //ctxvet:ignore lostcancel must panic before any cancel func exists
		"WithTimeout":       func() { WithTimeout(nilCtx, time.Second) },           //ctxvet:ignore lostcancel must panic before any cancel func exists
		"WithTimeoutCause":  func() { WithTimeoutCause(nilCtx, time.Second, nil) }, //ctxvet:ignore lostcancel must panic before any cancel func exists
		"WithValue":         func() { WithValue(nilCtx, "k", "v") },                //ctxvet:ignore builtinkey must panic on the nil parent before the key matters
		"WithoutCancel":     func() { WithoutCancel(nilCtx) },
	} {
		if got := panicValue(f); got != want {
			t.Errorf("%s(nil) panicked with %v, want %v", name, got, want)
		}
	}
}

func panicValue(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}
