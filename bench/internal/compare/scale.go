package compare

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// ScaleGroup measures what must not grow with the number of live
// goroutines, at n live tracked goroutines under 1,000 names: a Snapshot
// (every scrape, debug page and health check takes one), against
// runtime.GoroutineProfile (what a program would otherwise read to learn
// anything about its goroutines); and how long spawn.Go takes while
// Snapshots are taken without pause, against the same with none.
func ScaleGroup(n int) Group {
	var live *livePopulation
	return Group{
		Title: fmt.Sprintf("At scale: %s live goroutines", Count(n)),
		About: fmt.Sprintf("%d goroutines started with spawn.Go under live contexts (healthy, none lagging), with "+
			"1,000 names. Snapshot reads per-name counts kept as goroutines start and return, holding each shard's "+
			"lock only to copy them. The latency rows time single spawn.Go calls (each goroutine returns at once) "+
			"while another goroutine takes Snapshots back to back, and while none does: the p99 of 20,000 calls.", n),
		Setup: func() (func(), error) {
			live = startLive(n, 1000)
			return live.stop, nil
		},
		Comparisons: []Comparison{
			{
				Name: fmt.Sprintf("Scale/%s/Snapshot", Count(n)),
				Op:   fmt.Sprintf("Snapshot vs runtime.GoroutineProfile, %s live, 1,000 names", Count(n)),
				Ours: Side{"Monitor.Snapshot", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if s := live.m.Snapshot(); s.Live < n {
							b.Fatalf("Snapshot counts %d live, want %d", s.Live, n)
						}
					}
				}},
				Theirs: Side{"runtime.GoroutineProfile", func(b *testing.B) {
					records := make([]runtime.StackRecord, n+n/4)
					b.ReportAllocs()
					for b.Loop() {
						runtime.GoroutineProfile(records)
					}
				}},
				Goal: snapshotGoal(n),
			},
			{
				Name:   fmt.Sprintf("Scale/%s/SpawnLatency", Count(n)),
				Op:     fmt.Sprintf("spawn.Go with Snapshots taken back to back vs without, %s live", Count(n)),
				Ours:   Side{"with Snapshots", func(b *testing.B) { live.spawnLatency(b, true) }},
				Theirs: Side{"without", func(b *testing.B) { live.spawnLatency(b, false) }},
				Once:   true,
				Metrics: []Metric{
					{Suffix: ": p50", Unit: "p50-ns"},
					{Suffix: ": p99", Unit: "p99-ns"},
				},
			},
		},
	}
}

// snapshotGoal is the project's goal for a Snapshot at 1M live: 10 ms.
func snapshotGoal(n int) *Goal {
	if n < 1_000_000 {
		return nil
	}
	return AtMost(10e6, " ns")
}

// A livePopulation is n healthy tracked goroutines.
type livePopulation struct {
	m       *ctxguard.Monitor
	ctx     context.Context
	release chan struct{}
	wg      sync.WaitGroup
}

func startLive(n, names int) *livePopulation {
	p := &livePopulation{
		m:       ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)}),
		release: make(chan struct{}),
	}
	p.ctx = ctxguard.WithMonitor(context.Background(), p.m)
	opts := make([]spawn.Option, names)
	for i := range opts {
		opts[i] = spawn.WithName("live-" + strconv.Itoa(i))
	}
	p.wg.Add(n)
	for i := range n {
		spawn.Go(p.ctx, func(context.Context) { <-p.release; p.wg.Done() }, opts[i%names])
	}
	return p
}

func (p *livePopulation) stop() {
	close(p.release)
	p.wg.Wait()
	p.m.Close()
}

// spawnLatency times 20,000 single spawn.Go calls, with or without another
// goroutine taking Snapshots meanwhile, and reports their p50 and p99.
func (p *livePopulation) spawnLatency(b *testing.B, scrapes bool) {
	for b.Loop() {
		stop := make(chan struct{})
		var scraper sync.WaitGroup
		if scrapes {
			scraper.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						p.m.Snapshot()
					}
				}
			})
		}
		const calls = 20_000
		lat := make([]time.Duration, calls)
		var wg sync.WaitGroup
		wg.Add(calls)
		for i := range lat {
			start := time.Now()
			spawn.Go(p.ctx, func(context.Context) { wg.Done() })
			lat[i] = time.Since(start)
		}
		wg.Wait()
		close(stop)
		scraper.Wait()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[calls/2]), "p50-ns")
		b.ReportMetric(float64(lat[calls*99/100]), "p99-ns")
	}
}
