package spawn_test

import (
	"context"
	"flag"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/wait"
	"github.com/ctxguard/ctxguard/spawn"
)

var faultTime = flag.Duration("faults", 2*time.Second, "how long each fault-injection case spawns")

// Fault injection: whatever the slog handler and the observers do (panic,
// block for good, take seconds per call), while 8 goroutines spawn
// continuously and contexts end, the lagging counts stay exact and lags are
// detected within grace plus a scan. The latencies are logged (go test -v
// -run Faults ./spawn); -faults sets how long each case runs.
func TestFaultsInUserCodeNeverReachDetection(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	panics := func() { panic("injected") }
	blocks := func() { <-stuck }
	crawls := func() { time.Sleep(2 * time.Second) }
	for _, c := range []struct {
		name             string
		logger, observer func()
	}{
		{"logger panics", panics, nil},
		{"logger blocks", blocks, nil},
		{"logger takes seconds", crawls, nil},
		{"observer panics", nil, panics},
		{"observer blocks", nil, blocks},
		{"observer takes seconds", nil, crawls},
		{"both block", blocks, blocks},
	} {
		t.Run(c.name, func(t *testing.T) { runFaults(t, c.logger, c.observer) })
	}
}

func runFaults(t *testing.T, logger, observer func()) {
	// A grace that a healthy goroutine on a loaded machine (8 spawners,
	// the race detector, 2 cores) returns well within: only the planted
	// ones lag.
	const grace = time.Second
	log := slog.New(slog.DiscardHandler)
	if logger != nil {
		log = slog.New(handler{logger})
	}
	m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: log})
	defer m.Close()
	if observer != nil {
		m.Observe(func(ctxguard.Event) { observer() })
	}
	root := ctxguard.WithMonitor(context.Background(), m)
	release := make(chan struct{})

	var (
		mu      sync.Mutex
		cancels []time.Time // when each planted goroutine's context ended
		spawned atomic.Int64
	)
	stop := time.Now().Add(*faultTime)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				ctx, cancel := context.WithCancel(root)
				for range 1 + rand.IntN(8) { // healthy: they stop with their context
					spawn.Go(ctx, func(ctx context.Context) { <-ctx.Done() })
					spawned.Add(1)
				}
				if rand.IntN(4) == 0 { // planted: ignores its context
					spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("planted"))
					spawned.Add(1)
					mu.Lock()
					cancels = append(cancels, time.Now())
					cancel()
					mu.Unlock()
				} else {
					cancel()
				}
				time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			}
		})
	}

	// Sample when lags are counted, to compare with when contexts ended.
	type sample struct {
		at     time.Time
		lagged uint64
	}
	var samples []sample
	sampling := make(chan struct{})
	go func() {
		defer close(sampling)
		for {
			s := m.Snapshot()
			samples = append(samples, sample{time.Now(), s.Lagged})
			mu.Lock()
			done := time.Now().After(stop) && s.Lagged >= uint64(len(cancels))
			mu.Unlock()
			if done || time.Now().After(stop.Add(time.Minute)) { // the checks below say what is missing
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
	<-sampling

	planted := len(cancels)
	s := m.Snapshot()
	if s.Lagging != planted || s.Lagged != uint64(planted) || stats(s, "planted").Lagging != planted {
		t.Errorf("Lagging %d, Lagged %d, planted lagging %d; want all %d planted, nothing else",
			s.Lagging, s.Lagged, stats(s, "planted").Lagging, planted)
	}
	if s.Spawned != uint64(spawned.Load()) {
		t.Errorf("Spawned = %d, want %d", s.Spawned, spawned.Load())
	}
	// The i-th planted goroutine to lag was the i-th (or so) whose
	// context ended: its latency is when the i-th lag was counted.
	var latencies []time.Duration
	j := 0
	for i, ended := range cancels {
		for j < len(samples) && samples[j].lagged < uint64(i+1) {
			j++
		}
		if j < len(samples) {
			latencies = append(latencies, samples[j].at.Sub(ended)-grace)
		}
	}
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		t.Logf("%d spawned, %d planted; lag detected after grace + p50 %v, p99 %v, max %v (one scan: 250ms); log records dropped %d, events dropped %d, logger panics %d, observer panics %d",
			spawned.Load(), planted, latencies[n/2].Round(time.Millisecond), latencies[n*99/100].Round(time.Millisecond),
			latencies[n-1].Round(time.Millisecond), s.LogRecordsDropped, s.EventsDropped, s.LoggerPanics, s.ObserverPanics)
	}
	close(release)
	wait.For(t, "everything returns", func() bool { return m.Snapshot().Live == 0 })
}
