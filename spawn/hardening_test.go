package spawn_test

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/track"
	"github.com/ctxguard/ctxguard/internal/wait"
	"github.com/ctxguard/ctxguard/spawn"
)

// User code that the Monitor calls on its own goroutines (slog handlers,
// observers, methods of user contexts) can neither crash it, stall its
// detection nor keep Close from returning. Cases that would crash the
// process run it in a child process: the test binary again, told by
// childEnv which case to play.

const childEnv = "SPAWN_HARDENING_CHILD"

// child runs the test named name in a child process with childEnv set to
// name, and returns its combined output and error, killing it after a
// generous deadline.
func child(t *testing.T, name string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+name+"$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+name)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func isChild(name string) bool { return os.Getenv(childEnv) == name }

// survives runs body in a child process and fails t unless that process
// ran body to its end and exited cleanly.
func survives(t *testing.T, body func()) {
	t.Helper()
	if isChild(t.Name()) {
		body()
		println("survived")
		return
	}
	out, err := child(t, t.Name())
	if err != nil || !strings.Contains(out, "survived") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

// handler is a slog.Handler whose Handle does what do says.
type handler struct{ do func() }

func (handler) Enabled(context.Context, slog.Level) bool    { return true }
func (h handler) Handle(context.Context, slog.Record) error { h.do(); return nil }
func (h handler) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h handler) WithGroup(string) slog.Handler             { return h }

// lagOne spawns a goroutine that lags until release is closed, under a
// context it cancels, and waits until m counts want lagging.
func lagOne(t *testing.T, m *ctxguard.Monitor, release <-chan struct{}, want int) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	spawn.Go(ctx, func(context.Context) { <-release })
	cancel()
	wait.For(t, "lagging "+strconv.Itoa(want), func() bool { return m.Snapshot().Lagging == want })
}

// A slog handler that panics is recovered and counted; the process lives.
func TestPanickingLoggerDoesNotCrash(t *testing.T) {
	survives(t, func() {
		m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slog.New(handler{func() { panic("broken handler") }})})
		release := make(chan struct{})
		lagOne(t, m, release, 1)
		wait.For(t, "the handler's panic", func() bool { return m.Snapshot().LoggerPanics > 0 })
		close(release)
		m.Close()
	})
}

// A blocked slog handler loses log records, counted, never detections: a
// goroutine that starts lagging after the handler got stuck is counted,
// and Close returns, saying what it gave up on.
func TestBlockedLoggerDoesNotStallDetection(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	entered := make(chan struct{}, 1)
	m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slog.New(handler{func() {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-stuck
	}})})
	release := make(chan struct{})
	defer close(release)
	lagOne(t, m, release, 1)
	<-entered // the handler is stuck on the first record
	lagOne(t, m, release, 2)
	wait.For(t, "where both are blocked", func() bool {
		g := m.Snapshot().Goroutines[0]
		return len(g.BlockedAt) == 1 && g.BlockedAt[0].Count == 2
	})
	start := time.Now()
	err := m.Close()
	t.Logf("Close returned after %v: %v", time.Since(start).Round(time.Millisecond), err)
	if err == nil || !strings.Contains(err.Error(), "gave up") {
		t.Errorf("Close = %v, want an error saying which records it gave up on", err)
	}
	if s := m.Snapshot(); s.Lagging != 2 || s.LogRecordsDropped == 0 {
		t.Errorf("Lagging %d, LogRecordsDropped %d; want 2 and some", s.Lagging, s.LogRecordsDropped)
	}
}

// An observer that blocks loses events, counted, never detections.
func TestBlockedObserverDoesNotStallDetection(t *testing.T) {
	m, _ := newMonitor(t)
	stuck := make(chan struct{})
	defer close(stuck)
	m.Observe(func(ctxguard.Event) { <-stuck })
	release := make(chan struct{})
	defer close(release)
	for i := 1; i <= 3; i++ {
		lagOne(t, m, release, i)
	}
}

// With its handler blocked, an unrecovered panic of a tracked goroutine
// still crashes the program with its own value, promptly, as a go
// statement would: ctxguard waits a bounded moment for the log record.
func TestPanicCrashesWhileLoggerIsBlocked(t *testing.T) {
	if isChild(t.Name()) {
		entered := make(chan struct{}, 1)
		m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slog.New(handler{func() {
			select {
			case entered <- struct{}{}:
			default:
			}
			select {} // blocked for good
		}})})
		defer m.Observe(func(ctxguard.Event) { select {} })() // and so is an observer
		lagOne(t, m, make(chan struct{}), 1)
		<-entered
		println("panicking at", time.Now().UnixNano())
		spawn.Go(ctxguard.WithMonitor(context.Background(), m), crashes)
		select {}
	}
	start := time.Now()
	out, err := child(t, t.Name())
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(out, "panic: crash value") {
		t.Fatalf("child: %v, want exit status 2 with the panic's value\n%s", err, out)
	}
	if at := lineAfter(out, "panicking at "); at != "" {
		ns, _ := strconv.ParseInt(at, 10, 64)
		t.Logf("crashed %v after the panic (child ran %v)", time.Since(time.Unix(0, ns)).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
}

// lineAfter returns the rest of the first line of out starting with prefix.
func lineAfter(out, prefix string) string {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			return rest
		}
	}
	return ""
}

// overCtx is a user context type whose Value panics once its request is
// over, as some do.
type overCtx struct {
	context.Context
	over *atomic.Bool
}

func (c overCtx) Value(key any) any {
	if c.over.Load() {
		panic("request is over")
	}
	return c.Context.Value(key)
}

// A context whose methods panic on the Monitor's goroutine is contained:
// counted, and the goroutine is still reported lagging.
func TestPanickingContextDoesNotCrash(t *testing.T) {
	survives(t, func() {
		m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slog.New(slog.DiscardHandler)})
		parent, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
		ctx := overCtx{parent, new(atomic.Bool)}
		release := make(chan struct{})
		spawn.Go(ctx, func(context.Context) { <-release })
		ctx.over.Store(true)
		cancel()
		wait.For(t, "lagging, with the panic counted", func() bool {
			s := m.Snapshot()
			return s.Lagging == 1 && s.ContextPanics > 0
		})
		close(release)
		m.Close()
	})
}

// A grace of math.MaxInt64, or of 250 years, never runs out: the goroutine
// is never lagging. A control goroutine with a short grace under the same
// context shows that the scans that would have marked them have run.
func TestHugeGraceNeverRunsOut(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{Grace: math.MaxInt64, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	release := make(chan struct{})
	defer close(release)
	spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("config grace"))
	spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("250 years"), spawn.WithGrace(250*365*24*time.Hour))
	spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("control"), spawn.WithGrace(grace))
	cancel()
	wait.For(t, "the control lags", func() bool { return stats(m.Snapshot(), "control").Lagging == 1 })
	time.Sleep(3 * grace) // further scans
	if s := m.Snapshot(); s.Lagging != 1 {
		t.Errorf("Lagging = %d, want only the control: %v", s.Lagging, names(s))
	}
}

// Close from an observer does not deadlock, and the Monitor's loop still
// returns; concurrent Close calls all return once it has.
func TestCloseFromAnObserver(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slog.New(slog.DiscardHandler)})
	closed := make(chan error, 1)
	m.Observe(func(e ctxguard.Event) {
		if e.Kind == ctxguard.EventLagStart {
			closed <- m.Close()
		}
	})
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	spawn.Go(ctx, func(context.Context) { <-release })
	cancel()
	if err := <-closed; err != nil {
		t.Errorf("Close from an observer = %v", err)
	}
	if track.LoopRunning(m) {
		t.Error("the Monitor's loop still runs after Close returned")
	}
}

func TestConcurrentClosesReturnOnceTheLoopHasReturned(t *testing.T) {
	slow := slog.New(handler{func() { time.Sleep(100 * time.Millisecond) }})
	m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slow})
	release := make(chan struct{})
	defer close(release)
	lagOne(t, m, release, 1)
	var wg sync.WaitGroup
	var running atomic.Int32
	for range 4 {
		wg.Go(func() {
			m.Close()
			if track.LoopRunning(m) {
				running.Add(1)
			}
		})
	}
	wg.Wait()
	if n := running.Load(); n != 0 {
		t.Errorf("%d Close calls returned while the loop was still running", n)
	}
}
