package spawn_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/wait"
	"github.com/ctxguard/ctxguard/spawn"
)

//go:noinline
func ignoresGroupContext(release <-chan struct{}) func() error {
	return func() error { <-release; return nil }
}

func TestGroupGoroutinesAreTracked(t *testing.T) {
	m, root := newMonitor(t)
	g, ctx := spawn.WithContext(root)
	release := make(chan struct{})
	failure := errors.New("step failed")
	g.Go(ignoresGroupContext(release))
	g.Go(func() error { <-ctx.Done(); return nil })
	g.Go(func() error { return failure })
	<-ctx.Done()
	if got := context.Cause(ctx); got != failure {
		t.Fatalf("Cause = %v, want the first error", got)
	}
	wait.For(t, "the goroutine ignoring the group's context lags", func() bool { return m.Snapshot().Lagging == 1 })
	close(release)
	if err := g.Wait(); err != failure {
		t.Fatalf("Wait = %v, want %v", err, failure)
	}
	wait.For(t, "the late exit", func() bool { s := m.Snapshot(); return s.Live == 0 && lateExits(s) == 1 })
	s := m.Snapshot()
	name := "github.com/ctxguard/ctxguard/spawn_test.ignoresGroupContext.func1"
	if e := stats(s, name); e.Lagged != 1 || e.LateExits != 1 {
		t.Errorf("%s: %+v, want 1 lagged and 1 late exit; all: %+v", name, e, s.Goroutines)
	}
	if s.Lagged != 1 {
		t.Errorf("Lagged = %d, want 1", s.Lagged)
	}
}

// A Group dropped without Wait while its context is live drops its cancel
// func: reported at the line that called WithContext.
func TestDroppedGroupIsReportedAtItsCaller(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{CancelSampleRate: 1, Logger: slog.New(slog.DiscardHandler), ReportInterval: time.Hour})
	defer m.Close()
	root := ctxguard.WithMonitor(context.Background(), m)
	_, _, line, _ := runtime.Caller(0)
	spawn.WithContext(root) //ctxvet:ignore lostcancel dropped on purpose; line++ below is this line
	line++
	wait.For(t, "the drop is collected", func() bool { runtime.GC(); return m.Snapshot().DroppedCancels == 1 })
	site := m.Snapshot().DroppedCancelSites[0].Site
	if !strings.HasSuffix(site.File, "spawn/group_test.go") || site.Line != line {
		t.Errorf("dropped at %s, want group_test.go:%d", site, line)
	}
}

// A Go or TryGo that panics on bad input (a nil Option) starts nothing,
// and so must not keep a slot of the Group's limit: a later call finds it
// free.
func TestGroupBadOptionKeepsNoSlot(t *testing.T) {
	_, root := newMonitor(t)
	for name, call := range map[string]func(g *spawn.Group){
		"Go":    func(g *spawn.Group) { g.Go(func() error { return nil }, nil) },
		"TryGo": func(g *spawn.Group) { g.TryGo(func() error { return nil }, nil) },
	} {
		g, _ := spawn.WithContext(root)
		g.SetLimit(1)
		func() {
			defer func() {
				if v, _ := recover().(string); !strings.HasPrefix(v, "spawn: ") {
					t.Errorf("%s with a nil Option panicked with %q, want a spawn message", name, v)
				}
			}()
			call(g)
		}()
		if !g.TryGo(func() error { return nil }) {
			t.Errorf("after %s panicked: TryGo = false with no goroutine in the Group, want its slot free", name)
		}
		if err := g.Wait(); err != nil {
			t.Errorf("Wait = %v", err)
		}
	}
}

// A panic that WithRecover recovers in a Group's goroutine is a failed
// subtask, not a success: it cancels the Group's context, as a returned
// error does, so that siblings waiting on it stop, and Wait reports it as
// a PanicError; the panic is still recorded and handed to the handler.
func TestGroupRecoveredPanicFailsTheGroup(t *testing.T) {
	m, root := newMonitor(t)
	root, cancel := context.WithCancel(root)
	defer cancel() // a failure leaves no goroutine behind
	g, ctx := spawn.WithContext(root)
	handled := make(chan any, 1)
	g.Go(func() error { <-ctx.Done(); return nil })
	g.Go(func() error { panic("step failed") }, spawn.WithRecover(func(v any) { handled <- v }))
	waited := make(chan error, 1)
	go func() { waited <- g.Wait() }()
	select {
	case err := <-waited:
		var pe *spawn.PanicError
		if !errors.As(err, &pe) || pe.Value != "step failed" {
			t.Fatalf("Wait = %v, want a PanicError of \"step failed\"", err)
		}
		if cause := context.Cause(ctx); cause != err {
			t.Errorf("the Group's context's cause = %v, want Wait's error", cause)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Wait still blocked 10s after a recovered panic: the Group's context was not cancelled")
	}
	if v := <-handled; v != "step failed" {
		t.Errorf("WithRecover's handler got %v", v)
	}
	if n := m.Snapshot().Panics; n != 1 {
		t.Errorf("Snapshot.Panics = %d, want 1", n)
	}

	// A recovered panic of an error value is seen through; runtime.Goexit
	// is no failure, as under errgroup.
	g2, _ := spawn.WithContext(root)
	g2.Go(func() error { panic(io.ErrUnexpectedEOF) }, spawn.WithRecover(nil))
	if err := g2.Wait(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Wait = %v, want one that is io.ErrUnexpectedEOF", err)
	}
	g3, _ := spawn.WithContext(root)
	g3.Go(func() error { runtime.Goexit(); return nil }, spawn.WithRecover(nil))
	if err := g3.Wait(); err != nil {
		t.Errorf("Wait after runtime.Goexit = %v, want nil", err)
	}
}
