package spawn_test

import (
	"context"
	"flag"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/leakcheck"
	"github.com/ctxguard/ctxguard/internal/track"
	"github.com/ctxguard/ctxguard/internal/wait"
	"github.com/ctxguard/ctxguard/spawn"
)

var stressSpawns = flag.Int("stress", 0, "spawns of the stress test; 0: a short run (about 100,000, fewer under -race)")

// The stress test: many spawns from many goroutines, contexts cancelled
// while their goroutines return, lagging ones among them, with Snapshots,
// Close, SetDefault and new Monitors at the same time. The counts are
// exact, the heap goes back to where it was, and nothing of ctxguard's is
// left running. go test -run Stress -stress 5000000 ./spawn runs millions.
func TestStress(t *testing.T) {
	total := *stressSpawns
	if total == 0 {
		total = 100_000
		if raceEnabled {
			total = 20_000
		}
	}
	defer leakcheck.Check(t)()
	old := ctxguard.Default()
	defer ctxguard.SetDefault(old)

	quiet := slog.New(slog.DiscardHandler)
	warmUp(total/8 + 20_000)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// A grace well above how long a goroutine may wait to be scheduled on a
	// loaded machine: only the planted ones lag.
	m := ctxguard.New(ctxguard.Config{Grace: 2 * time.Second, Logger: quiet})
	root := ctxguard.WithMonitor(context.Background(), m)
	release := make(chan struct{})
	var planted, spawned atomic.Int64
	var wg sync.WaitGroup
	const spawners = 8
	for range spawners {
		wg.Go(func() {
			for range total / spawners {
				ctx, cancel := context.WithCancel(root)
				switch rand.IntN(16) {
				case 0: // lags until released
					spawn.Go(ctx, func(context.Context) { <-release })
					planted.Add(1)
				case 1, 2: // returns while its context is being cancelled
					spawn.Go(ctx, func(context.Context) { runtime.Gosched() })
				default:
					spawn.Go(ctx, func(ctx context.Context) { <-ctx.Done() })
				}
				spawned.Add(1)
				cancel()
			}
		})
	}

	// Meanwhile: Snapshots of m, and Monitors made, made the default,
	// used, swapped and closed.
	done := make(chan struct{})
	var side sync.WaitGroup
	side.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				s := m.Snapshot()
				if s.Lagging > s.Live {
					t.Errorf("Snapshot: Lagging %d > Live %d", s.Lagging, s.Live)
				}
			}
		}
	})
	side.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			other := ctxguard.New(ctxguard.Config{Logger: quiet})
			ctxguard.SetDefault(other)
			ctx, cancel := context.WithCancel(context.Background()) // tracked by Default
			for range 10 {
				spawn.Go(ctx, func(ctx context.Context) { <-ctx.Done() })
			}
			go other.Snapshot()
			cancel()
			if err := other.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	})
	wg.Wait()
	close(done)
	side.Wait()

	want := int(planted.Load())
	var last ctxguard.Snapshot
	defer func() {
		if t.Failed() {
			t.Logf("last Snapshot: Lagging %d, Live %d, Lagged %d; %d planted", last.Lagging, last.Live, last.Lagged, want)
		}
	}()
	wait.For(t, "the planted goroutines lag, the others return", func() bool {
		last = m.Snapshot()
		return last.Lagging == want && last.Live == want
	})
	s := m.Snapshot()
	if s.Spawned != uint64(spawned.Load()) || s.Lagged != uint64(want) {
		t.Errorf("Spawned %d, Lagged %d; want %d, %d", s.Spawned, s.Lagged, spawned.Load(), want)
	}
	close(release)
	wait.For(t, "every goroutine returns", func() bool {
		s := m.Snapshot()
		return s.Live == 0 && lateExits(s) == uint64(want)
	})
	if err := m.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d spawned (%d lagging); heap %+d KiB after Close", spawned.Load(), want, grown>>10)
	if grown > 8<<20 {
		t.Errorf("heap grew by %d MiB and stayed", grown>>20)
	}
}

// warmUp runs n goroutines at once with go statements, and ends them. The
// runtime keeps the descriptor of every goroutine it ever ran (about 400
// bytes each, in its free lists, for reuse), so a heap comparison must start
// after the process has already held as many goroutines as the test will.
func warmUp(n int) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range n {
		wg.Go(func() { <-release })
	}
	close(release)
	wg.Wait()
}

// The Monitor's goroutine returns when nothing is tracked and starts again
// on the next spawn: bursts after quiet spells, spawning while it returns,
// are all watched.
func TestBurstsAfterIdleRestartTheLoop(t *testing.T) {
	defer leakcheck.Check(t)()
	// Grace is ample for the goroutines that stop with their context to be
	// scheduled: only the stuck ones lag.
	m := ctxguard.New(ctxguard.Config{Grace: 200 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	root := ctxguard.WithMonitor(context.Background(), m)
	const rounds = 20
	for round := range rounds {
		if round%2 == 0 {
			wait.For(t, "the loop returns", func() bool { return !track.LoopRunning(m) })
		} else {
			time.Sleep(time.Duration(rand.IntN(60)) * time.Millisecond) // around the moment it returns
		}
		release := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				ctx, cancel := context.WithCancel(root)
				// A name of its own: its records are the first of their
				// site, logged at once, so none holds the loop back.
				name := "stuck " + strconv.Itoa(round) + "." + strconv.Itoa(i)
				spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName(name))
				for range 20 {
					spawn.Go(ctx, func(ctx context.Context) { <-ctx.Done() })
				}
				cancel()
			})
		}
		wg.Wait()
		wait.For(t, "this round's goroutines lag", func() bool { return m.Snapshot().Lagging == 4 })
		close(release)
		wait.For(t, "they return", func() bool { return m.Snapshot().Live == 0 })
	}
	// The stuck ones, by name: a healthy goroutine that a busy machine
	// kept from running within grace may lag too, and is not the point.
	var lagged uint64
	for _, g := range m.Snapshot().Goroutines {
		if strings.HasPrefix(g.Name, "stuck ") {
			lagged += g.Lagged
		}
	}
	if lagged != rounds*4 {
		t.Errorf("stuck goroutines lagged %d times, want %d", lagged, rounds*4)
	}
}
