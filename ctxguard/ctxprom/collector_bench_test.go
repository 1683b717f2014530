package ctxprom_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxprom"
	"github.com/ctxguard/ctxguard/spawn"
)

// BenchmarkCollect measures one scrape of a Monitor tracking 1,000 live
// goroutines under 10 names, 100 of them lagging with exit-delay history:
// the Snapshot alone, the collector's Collect (Snapshot included), and a
// registry's Gather (Collect plus conversion to protobuf, what promhttp
// encodes).
func BenchmarkCollect(b *testing.B) {
	const live, names = 1000, 10
	m, root := newMonitor(b, 0)
	release := make(chan struct{})

	// Give every name lagged, late-exit and lagging history first.
	ctx, cancel := context.WithCancel(root)
	returned := make(chan struct{})
	for i := range live / 10 {
		spawn.Go(ctx, func(context.Context) { <-returned }, spawn.WithName(fmt.Sprint("worker-", i%names)))
	}
	cancel()
	waitLagged(b, m, live/10)
	close(returned)
	for i := range live / 10 {
		spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName(fmt.Sprint("worker-", i%names)))
	}
	for i := range live - live/10 {
		spawn.Go(root, func(context.Context) { <-release }, spawn.WithName(fmt.Sprint("worker-", i%names)))
	}
	waitLagged(b, m, live/5)
	if s := m.Snapshot(); s.Live != live {
		b.Fatalf("Live = %d, want %d", s.Live, live)
	}
	defer close(release)

	c := ctxprom.NewCollector(m)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)

	b.Run("Snapshot", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.Snapshot()
		}
	})
	b.Run("Collect", func(b *testing.B) {
		ch := make(chan prometheus.Metric, 1024) // room for every metric
		b.ReportAllocs()
		for b.Loop() {
			c.Collect(ch)
			for len(ch) > 0 {
				<-ch
			}
		}
	})
	b.Run("Gather", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// waitLagged waits until n goroutines have become lagging.
func waitLagged(tb testing.TB, m *ctxguard.Monitor, n uint64) {
	tb.Helper()
	waitFor(tb, m, fmt.Sprint(n, " goroutines lag"), func(s ctxguard.Snapshot) bool {
		var lagged uint64
		for _, g := range s.Goroutines {
			lagged += g.Lagged
		}
		return lagged == n
	})
}

// BenchmarkGatherDistinctNames measures a scrape when every live goroutine
// has a name of its own (1,000,000 of them, under the zero Config's
// MaxSites): the worst case for the Snapshot, which reads one live count
// per distinct name, scope and site and folds all beyond MaxSites into
// the overflow entry, so the exposition stays bounded.
func BenchmarkGatherDistinctNames(b *testing.B) {
	live := 1_000_000
	if n, err := strconv.Atoi(os.Getenv("CTXGUARD_BENCH_LIVE")); err == nil {
		live = n
	}
	m, root := newMonitor(b, 0)
	release := make(chan struct{})
	defer close(release)
	for i := range live {
		spawn.Go(root, func(context.Context) { <-release }, spawn.WithName(fmt.Sprint("conn-", i)))
	}
	if s := m.Snapshot(); s.Live != live {
		b.Fatalf("Live = %d, want %d", s.Live, live)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(ctxprom.NewCollector(m))
	b.Run("Snapshot", func(b *testing.B) {
		for b.Loop() {
			m.Snapshot()
		}
	})
	b.Run("Gather", func(b *testing.B) {
		for b.Loop() {
			if _, err := reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
