package ctxguard

import (
	"os"
	"runtime/metrics"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"github.com/ctxguard/ctxguard/internal/cputime"
	"github.com/ctxguard/ctxguard/internal/places"
)

// BenchmarkWholeProcess measures what Config.WatchUntracked and the leak
// checks cost, at n untracked goroutines (half blocked on channels only
// they hold, which leak, half on one they share, at ten places each):
//
//   - look: one look at the untracked goroutines (a goroutine profile,
//     grouped), as the Monitor runs it at most once per ReportInterval;
//   - leakcheck: a leak check with that look, as the Monitor runs it when
//     there is something to prove: the goroutineleak profile (a garbage
//     collection with leak detection) and the look (only where the
//     profile exists).
//
// Besides the time and CPU time per run, it reports the longest
// stop-the-world pause seen during the runs ("max-pause-µs", from
// runtime/metrics: the profile's and the collection's), and the share of
// one core the work takes at the Monitor's default rate ("core-%"): its
// CPU time (of the whole process: the collection's workers included)
// over the time until the next may run, the larger of
// DefaultReportInterval and captureSpacing times its duration or its CPU
// time, whichever is more. The
// leaked goroutines stay until the benchmark's process exits.
//
// With CTXGUARD_BENCH_MILLION=1 in the environment it goes on to a
// million goroutines (some 3 GB of stacks and profile):
//
//	go test -run '^$' -bench WholeProcess -benchtime 5x ./ctxguard
func BenchmarkWholeProcess(b *testing.B) {
	release := make(chan struct{})
	defer close(release)
	started := 0
	sizes := []int{10_000, 100_000}
	if os.Getenv("CTXGUARD_BENCH_MILLION") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		for ; started < n; started++ {
			if started%2 == 0 {
				go places.Leak(started % 10)
			} else {
				go places.Wait(started%10, release)
			}
		}
		name := strconv.Itoa(n/1000) + "k"
		b.Run("look/"+name, func(b *testing.B) { benchWhole(b, n, false) })
		if LeakProfileAvailable() {
			b.Run("leakcheck/"+name, func(b *testing.B) { benchWhole(b, n, true) })
		}
	}
}

func benchWhole(b *testing.B, n int, leaks bool) {
	pauses := newPauseWatch()
	cpu := cputime.Start()
	var took time.Duration
	for b.Loop() {
		c := &capture{leaks: leaks, records: map[unsafe.Pointer]*goroutine{}, untracked: newUntrackedGrouper(DefaultMaxSites)}
		c.run()
		took += c.took
		if c.untracked.live < n {
			b.Fatalf("looked at %d goroutines, want at least %d", c.untracked.live, n)
		}
		if leaks && c.leakErr != nil {
			b.Fatal(c.leakErr)
		}
	}
	cpuPer := cpu() / time.Duration(b.N)
	b.ReportMetric(float64(cpuPer), "cpu-ns/op")
	b.ReportMetric(float64(pauses.max().Microseconds()), "max-pause-µs")
	per := max(took/time.Duration(b.N), cpuPer) // as the Monitor spaces leak checks
	b.ReportMetric(100*float64(cpuPer)/float64(max(DefaultReportInterval, captureSpacing*per)), "core-%")
}

// pauseWatch reads the longest stop-the-world pause since it was made,
// from runtime/metrics' pause histograms (garbage collection and other).
type pauseWatch struct {
	samples []metrics.Sample
	before  []uint64
}

var pauseMetrics = []string{"/sched/pauses/total/gc:seconds", "/sched/pauses/total/other:seconds"}

func newPauseWatch() *pauseWatch {
	w := &pauseWatch{}
	for _, name := range pauseMetrics {
		w.samples = append(w.samples, metrics.Sample{Name: name})
	}
	metrics.Read(w.samples)
	for _, s := range w.samples {
		w.before = append(w.before, s.Value.Float64Histogram().Counts...)
	}
	return w
}

// max returns the upper bound of the highest histogram bucket that gained
// a pause since w was made.
func (w *pauseWatch) max() time.Duration {
	metrics.Read(w.samples)
	longest := 0.0
	i := 0
	for _, s := range w.samples {
		h := s.Value.Float64Histogram()
		for j, c := range h.Counts {
			if c > w.before[i+j] && h.Buckets[j+1] > longest {
				longest = h.Buckets[j+1]
			}
		}
		i += len(h.Counts)
	}
	return time.Duration(longest * float64(time.Second))
}
