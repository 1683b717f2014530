package spawn_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/leakcheck"
	"github.com/ctxguard/ctxguard/internal/wait"
	"github.com/ctxguard/ctxguard/spawn"
)

const grace = 50 * time.Millisecond

// newMonitor returns a Monitor with a short grace, closed with the test, and
// a root context carrying it.
func newMonitor(t *testing.T) (*ctxguard.Monitor, context.Context) {
	t.Helper()
	m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slog.New(slog.DiscardHandler), ReportInterval: time.Hour})
	t.Cleanup(func() { m.Close() })
	return m, ctxguard.WithMonitor(context.Background(), m)
}

// lateExits sums the late exits of a Snapshot's entries: the Monitor's
// loop records them a moment after the goroutines return.
func lateExits(s ctxguard.Snapshot) uint64 {
	var n uint64
	for _, g := range s.Goroutines {
		n += g.LateExits
	}
	return n
}

// stats returns the Snapshot entry named name, or a zero entry.
func stats(s ctxguard.Snapshot, name string) ctxguard.GoroutineStats {
	for _, g := range s.Goroutines {
		if g.Name == name {
			return g
		}
	}
	return ctxguard.GoroutineStats{}
}

// Each failure pattern of docs/design.md (P1 to P9), as the goroutine a
// request would start.
// release ends whatever the goroutine is stuck on, so tests can end them.
// The makers are not inlined, so their closures keep the names a goroutine
// dump shows for them wherever they are called.
//
//go:noinline
func p1SleepsThenWrites(release <-chan struct{}, out *strings.Builder, mu *sync.Mutex) func(context.Context) {
	return func(ctx context.Context) {
		<-release // stands for time.Sleep(10 * time.Second)
		mu.Lock()
		out.WriteString("late write")
		mu.Unlock()
	}
}

//go:noinline
func p2SelectWithoutDone(ch chan int, release <-chan struct{}) func(context.Context) {
	return func(ctx context.Context) {
		select { // no <-ctx.Done() case
		case <-ch:
		case <-release:
		}
	}
}

//go:noinline
func p4DropsCtx(release <-chan struct{}) func(context.Context) {
	return func(ctx context.Context) {
		leaf := func(ctx context.Context) {
			select {
			case <-ctx.Done():
			case <-release:
			}
		}
		leaf(context.Background()) // the link that drops ctx
	}
}

//go:noinline
func p8RangeOverUnclosed(ch chan int) func(context.Context) {
	return func(ctx context.Context) {
		for range ch { // ch is never closed while ctx is live
		}
	}
}

//go:noinline
func p9WaitGroupMismatch(release <-chan struct{}) func(context.Context) {
	return func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Add(2) // one Done too few
		go func() { defer wg.Done() }()
		go func() { <-release; wg.Done() }()
		wg.Wait()
	}
}

//go:noinline
func goodWorker(ch chan int) func(context.Context) {
	return func(ctx context.Context) {
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
			}
		}
	}
}

func TestFailurePatternsAreLaggingWithTheirNames(t *testing.T) {
	release := make(chan struct{})
	var out strings.Builder
	var mu sync.Mutex
	p8ch := make(chan int)
	cases := []struct {
		pattern string
		fn      func(context.Context)
		name    string
	}{
		{"P1", p1SleepsThenWrites(release, &out, &mu), "github.com/ctxguard/ctxguard/spawn_test.p1SleepsThenWrites.func1"},
		{"P2", p2SelectWithoutDone(make(chan int), release), "github.com/ctxguard/ctxguard/spawn_test.p2SelectWithoutDone.func1"},
		{"P4", p4DropsCtx(release), "github.com/ctxguard/ctxguard/spawn_test.p4DropsCtx.func1"},
		{"P8", p8RangeOverUnclosed(p8ch), "github.com/ctxguard/ctxguard/spawn_test.p8RangeOverUnclosed.func1"},
		{"P9", p9WaitGroupMismatch(release), "github.com/ctxguard/ctxguard/spawn_test.p9WaitGroupMismatch.func1"},
	}
	const perPattern = 7
	m, root := newMonitor(t)
	ctx, cancel := context.WithCancel(root)

	goodCh := make(chan int)
	for range perPattern {
		for _, c := range cases {
			spawn.Go(ctx, c.fn)
		}
		spawn.Go(ctx, goodWorker(goodCh))
		spawn.Go(root, goodWorker(goodCh)) // a Background-style worker: its context never ends
	}
	total := perPattern * (len(cases) + 2)
	if s := m.Snapshot(); s.Live != total || s.Lagging != 0 {
		t.Fatalf("before cancel: Live = %d, Lagging = %d; want %d, 0", s.Live, s.Lagging, total)
	}
	cancel()
	want := perPattern * len(cases)
	wait.For(t, "the patterns are lagging", func() bool { return m.Snapshot().Lagging == want })
	time.Sleep(3 * grace) // any further (wrong) lagging would show by now
	s := m.Snapshot()
	if s.Lagging != want || s.Lagged != uint64(want) || s.Live != want+perPattern {
		t.Fatalf("Lagging = %d, Lagged = %d, Live = %d; want %d, %d, %d", s.Lagging, s.Lagged, s.Live, want, want, want+perPattern)
	}
	for _, c := range cases {
		g := stats(s, c.name)
		if g.Lagging != perPattern || g.Lagged != perPattern || g.Live != perPattern {
			t.Errorf("%s %s: %+v, want %d live, lagging and lagged", c.pattern, c.name, g, perPattern)
		}
		if !strings.HasSuffix(g.Site.File, "spawn_test.go") {
			t.Errorf("%s: spawn site %v, want this file", c.pattern, g.Site)
		}
	}
	if g := stats(s, "github.com/ctxguard/ctxguard/spawn_test.goodWorker.func1"); g.Lagged != 0 || g.Live != perPattern {
		t.Errorf("good workers: %+v, want %d live (the Background ones), none lagged", g, perPattern)
	}

	close(release)
	close(p8ch)
	wait.For(t, "the lagging goroutines return", func() bool {
		s := m.Snapshot()
		return s.Live == perPattern && lateExits(s) == uint64(want)
	})
	s = m.Snapshot()
	if s.Lagging != 0 || s.Lagged != uint64(want) {
		t.Errorf("after release: Lagging = %d, Lagged = %d; want 0, %d", s.Lagging, s.Lagged, want)
	}
	for _, c := range cases {
		if g := stats(s, c.name); g.LateExits != perPattern || g.ExitDelayMax < grace {
			t.Errorf("%s: LateExits = %d, ExitDelayMax = %v; want %d, >= %v", c.pattern, g.LateExits, g.ExitDelayMax, perPattern, grace)
		}
	}
	if out.String() != strings.Repeat("late write", perPattern) {
		t.Errorf("P1 wrote %q", out.String())
	}
}

func TestDeadlineStartsTheGraceClock(t *testing.T) {
	m, root := newMonitor(t)
	ctx, cancel := context.WithTimeout(root, 20*time.Millisecond)
	defer cancel()
	release := make(chan struct{})
	spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("ignores-deadline"))
	wait.For(t, "lagging after the deadline", func() bool { return m.Snapshot().Lagging == 1 })
	close(release)
	wait.For(t, "the late exit", func() bool { s := m.Snapshot(); return s.Live == 0 && lateExits(s) == 1 })
	s := m.Snapshot()
	g := stats(s, "ignores-deadline")
	if g.Lagged != 1 || g.LateExits != 1 || s.Spawned != 1 {
		t.Errorf("%+v, Spawned = %d; want 1 lagged, 1 late exit, 1 spawned", g, s.Spawned)
	}
	// One late exit, in the bucket holding its delay.
	bounds := ctxguard.ExitDelayBounds()
	if len(g.ExitDelays) != len(bounds)+1 {
		t.Fatalf("ExitDelays = %v, want %d buckets", g.ExitDelays, len(bounds)+1)
	}
	for i, c := range g.ExitDelays {
		in := g.ExitDelayMax <= bounds[min(i, len(bounds)-1)] && (i == 0 || g.ExitDelayMax > bounds[i-1])
		if i == len(bounds) {
			in = g.ExitDelayMax > bounds[i-1]
		}
		if want := map[bool]uint64{true: 1}[in]; c != want {
			t.Errorf("ExitDelays[%d] = %d, want %d (delay %v)", i, c, want, g.ExitDelayMax)
		}
	}
}

func TestExitWithinGraceIsNeverLagging(t *testing.T) {
	m, root := newMonitor(t)
	const n = 200
	for range n {
		ctx, cancel := context.WithCancel(root)
		spawn.Go(ctx, func(ctx context.Context) {
			<-ctx.Done()
			time.Sleep(grace / 5) // cleanup work well within grace
		}, spawn.WithGrace(time.Second))
		cancel()
	}
	wait.For(t, "all exit", func() bool { return m.Snapshot().Live == 0 })
	if s := m.Snapshot(); s.Lagged != 0 {
		t.Errorf("Lagged = %d, want 0", s.Lagged)
	}
}

func TestStressCancelsRacingExits(t *testing.T) {
	defer leakcheck.Check(t)()
	m := ctxguard.New(ctxguard.Config{Grace: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	root := ctxguard.WithMonitor(context.Background(), m)
	const spawners, each = 8, 500
	var wg sync.WaitGroup
	for range spawners {
		wg.Go(func() {
			for i := range each {
				ctx, cancel := context.WithCancel(root)
				spawn.Go(ctx, func(ctx context.Context) {
					if i%2 == 0 {
						<-ctx.Done()
					}
				})
				if i%3 == 0 {
					runtime.Gosched()
				}
				cancel()
			}
		})
	}
	wg.Wait()
	wait.For(t, "every goroutine returns", func() bool { return m.Snapshot().Live == 0 })
	if s := m.Snapshot(); s.Lagging != 0 || s.Lagged != 0 || s.Spawned != spawners*each {
		t.Errorf("Lagging = %d, Lagged = %d, Spawned = %d; want 0, 0, %d", s.Lagging, s.Lagged, s.Spawned, spawners*each)
	}
	m.Close()
}

func TestHundredThousandLaggingAreCountedExactly(t *testing.T) {
	n := 100_000
	if testing.Short() || raceEnabled {
		n = 10_000 // the race detector limits live goroutines to 8128... per test budget
	}
	m, root := newMonitor(t)
	ctx, cancel := context.WithCancel(root)
	release := make(chan struct{})
	quick := make(chan struct{})
	for i := range n {
		if i%10 == 0 {
			spawn.Go(ctx, func(context.Context) { <-quick }) // returns within grace
		} else {
			spawn.Go(ctx, func(context.Context) { <-release })
		}
	}
	want := n - n/10
	cancel()
	ended := time.Now()
	close(quick)
	wait.For(t, "all are lagging", func() bool { return m.Snapshot().Lagging == want })
	t.Logf("%d lagging %v after cancel (grace %v)", want, time.Since(ended), grace)
	time.Sleep(3 * grace)
	if s := m.Snapshot(); s.Lagging != want || s.Lagged != uint64(want) || s.Live != want {
		t.Errorf("Lagging = %d, Lagged = %d, Live = %d; want %d each", s.Lagging, s.Lagged, s.Live, want)
	}
	close(release)
	wait.For(t, "all return", func() bool { return m.Snapshot().Live == 0 })
}

func TestNilArgumentsPanicAtTheCallSite(t *testing.T) {
	for name, f := range map[string]func(){
		"nil ctx": func() { spawn.Go(nil, func(context.Context) {}) }, //nolint:staticcheck
		"nil fn":  func() { spawn.Go(context.Background(), nil) },
		"grace":   func() { spawn.WithGrace(0) },
	} {
		func() {
			defer func() {
				if v, _ := recover().(string); !strings.HasPrefix(v, "spawn: ") {
					t.Errorf("%s: panicked with %q, want a spawn: message", name, v)
				}
			}()
			f()
		}()
	}
}

func TestRecoveredPanicIsRecorded(t *testing.T) {
	m, root := newMonitor(t)
	var events []ctxguard.Event
	var mu sync.Mutex
	stop := m.Observe(func(e ctxguard.Event) { mu.Lock(); events = append(events, e); mu.Unlock() })
	defer stop()
	got := make(chan any, 1)
	spawn.Go(root, func(context.Context) { panic("boom") }, spawn.WithRecover(func(v any) { got <- v }), spawn.WithName("panicker"))
	if v := <-got; v != "boom" {
		t.Fatalf("recovered %v, want boom", v)
	}
	wait.For(t, "the panic event", func() bool { mu.Lock(); defer mu.Unlock(); return len(events) == 1 })
	s := m.Snapshot()
	if s.Panics != 1 || stats(s, "panicker").Panics != 1 || s.Live != 0 {
		t.Errorf("Panics = %d, entry = %+v, Live = %d", s.Panics, stats(s, "panicker"), s.Live)
	}
	if e := events[0]; e.Kind != ctxguard.EventPanic || e.Value != "boom" || e.Name != "panicker" {
		t.Errorf("event = %+v", e)
	}
}

func TestGoexitUnregisters(t *testing.T) {
	m, root := newMonitor(t)
	spawn.Go(root, func(context.Context) { runtime.Goexit() })
	wait.For(t, "Goexit unregisters", func() bool { return m.Snapshot().Live == 0 })
	if s := m.Snapshot(); s.Panics != 0 {
		t.Errorf("Panics = %d after Goexit, want 0", s.Panics)
	}
}

// An unrecovered panic crashes the program as under a go statement: same
// value, the panicking function on the stack, exit status 2, after ctxguard
// logged it.
func TestUnrecoveredPanicCrashesLikeGo(t *testing.T) {
	if os.Getenv("SPAWN_CRASH") != "" {
		m := ctxguard.New(ctxguard.Config{})
		spawn.Go(ctxguard.WithMonitor(context.Background(), m), crashes)
		select {}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestUnrecoveredPanicCrashesLikeGo$")
	cmd.Env = append(os.Environ(), "SPAWN_CRASH=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("err = %v, want exit status 2\n%s", err, out)
	}
	for _, want := range []string{
		"ctxguard: tracked goroutine panicked",
		"panic: crash value",
		"spawn_test.crashes(",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func crashes(context.Context) { panic(fmt.Sprint("crash value")) }

func TestObserversSeeLagStartAndLateExit(t *testing.T) {
	m, root := newMonitor(t)
	events := make(chan ctxguard.Event, 10)
	defer m.Observe(func(e ctxguard.Event) { events <- e })()
	m.Observe(func(ctxguard.Event) { panic("a broken observer") })
	ctx, cancel := context.WithCancelCause(ctxguard.WithScope(root, "GET /slow"))
	cause := errors.New("client went away")
	release := make(chan struct{})
	spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("slow-writer"))
	cancel(cause)
	start := <-events
	close(release)
	exit := <-events
	if start.Kind != ctxguard.EventLagStart || exit.Kind != ctxguard.EventLateExit || start.ID != exit.ID || start.ID == 0 {
		t.Fatalf("events %v/%d, %v/%d; want LagStart and LateExit with one ID", start.Kind, start.ID, exit.Kind, exit.ID)
	}
	if start.Name != "slow-writer" || start.Scope != "GET /slow" || start.Cause != cause || start.Context != ctx || start.Delay() < grace {
		t.Errorf("LagStart = %+v", start)
	}
	if exit.Delay() < start.Delay() {
		t.Errorf("LateExit delay %v < LagStart delay %v", exit.Delay(), start.Delay())
	}
	if s := m.Snapshot(); s.ObserverPanics < 2 {
		t.Errorf("ObserverPanics = %d, want >= 2", s.ObserverPanics)
	}
}

func TestLiveNamesBeyondMaxSitesFoldIntoOverflow(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{MaxSites: 2, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	root := ctxguard.WithMonitor(context.Background(), m)
	release := make(chan struct{})
	defer close(release)
	for i, name := range []string{"a", "b", "c", "d", "e"} {
		for range i + 1 { // a: 1 goroutine ... e: 5
			spawn.Go(root, func(context.Context) { <-release }, spawn.WithName(name))
		}
	}
	s := m.Snapshot()
	var names []string
	live := 0
	for _, g := range s.Goroutines {
		names = append(names, fmt.Sprintf("%s=%d", g.Name, g.Live))
		live += g.Live
	}
	// The two biggest keep their names; the other three sum to 6.
	want := []string{"(other sites)=6", "e=5", "d=4"}
	if fmt.Sprint(names) != fmt.Sprint(want) || live != s.Live || s.Live != 15 {
		t.Errorf("entries %v (Live %d), want %v (Live 15)", names, s.Live, want)
	}
}

// Goroutines that return while the scan that found them lagging is still
// recording them: each LateExit is still delivered after its LagStart.
func TestLateExitIsDeliveredAfterLagStart(t *testing.T) {
	m, root := newMonitor(t)
	var mu sync.Mutex
	started := make(map[uint64]bool)
	var misordered, exits int
	defer m.Observe(func(e ctxguard.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch e.Kind {
		case ctxguard.EventLagStart:
			started[e.ID] = true
		case ctxguard.EventLateExit:
			exits++
			if !started[e.ID] {
				misordered++
			}
		}
	})()
	const n = 2000
	ctx, cancel := context.WithCancel(root)
	release := make(chan struct{})
	for range n {
		spawn.Go(ctx, func(context.Context) { <-release })
	}
	cancel()
	wait.For(t, "the first lagging", func() bool { return m.Snapshot().Lagged > 0 })
	close(release) // while the scan may still be recording the rest
	wait.For(t, "every late exit delivered", func() bool {
		s := m.Snapshot()
		mu.Lock()
		defer mu.Unlock()
		return s.Live == 0 && uint64(exits) == s.Lagged // some may return before they lag
	})
	if misordered != 0 {
		t.Errorf("%d of %d LateExit events came before their LagStart", misordered, n)
	}
}
