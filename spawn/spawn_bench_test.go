package spawn_test

import (
	"context"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// The overhead goals, as ratios within one run:
//
//	go test -run '^$' -bench . -count 5 ./spawn
//
// Go/go and Go/spawn start a goroutine that does the same work (wg.Done)
// under a live cancelable context, with a go statement plus WaitGroup and
// with spawn.Go: goal <= 1.2x serially, <= 1.25x in RunParallel, at most one
// allocation more. Idle measures 100,000 tracked goroutines whose contexts
// are not done: the background CPU of the Monitor (goal <= 1% of a core) and
// heap plus stack per goroutine beyond a plain one (goal <= 128 B).

func BenchmarkGo(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		var wg sync.WaitGroup
		for b.Loop() {
			wg.Add(1)
			go func() { work(ctx); wg.Done() }()
		}
		wg.Wait()
	})
	b.Run("spawn", func(b *testing.B) {
		b.ReportAllocs()
		var wg sync.WaitGroup
		for b.Loop() {
			wg.Add(1)
			spawn.Go(ctx, func(ctx context.Context) { work(ctx); wg.Done() })
		}
		wg.Wait()
	})
}

func BenchmarkGoParallel(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.Run("go", func(b *testing.B) {
		b.ReportAllocs()
		var wg sync.WaitGroup
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				wg.Add(1)
				go func() { work(ctx); wg.Done() }()
			}
		})
		wg.Wait()
	})
	b.Run("spawn", func(b *testing.B) {
		b.ReportAllocs()
		var wg sync.WaitGroup
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				wg.Add(1)
				spawn.Go(ctx, func(ctx context.Context) { work(ctx); wg.Done() })
			}
		})
		wg.Wait()
	})
}

//go:noinline
func work(ctx context.Context) {}

// BenchmarkGoProfileLabels is BenchmarkGo/spawn with Config.ProfileLabels.
func BenchmarkGoProfileLabels(b *testing.B) {
	for _, labels := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[labels], func(b *testing.B) {
			m := ctxguard.New(ctxguard.Config{ProfileLabels: labels})
			defer m.Close()
			ctx := ctxguard.WithScope(ctxguard.WithMonitor(context.Background(), m), "GET /items")
			b.ReportAllocs()
			var wg sync.WaitGroup
			for b.Loop() {
				wg.Add(1)
				spawn.Go(ctx, func(ctx context.Context) { work(ctx); wg.Done() })
			}
			wg.Wait()
		})
	}
}

// BenchmarkIdle reports, for 100,000 goroutines blocked under live
// contexts, for plain go statements and for spawn.Go:
//   - heap-B/goroutine and stack-B/goroutine: heap objects and goroutine
//     stacks in use per goroutine, after a GC, while they are blocked;
//   - cpu-%: the process's CPU time while they sit idle for two seconds, as
//     a percentage of one core (for spawn.Go, the Monitor's scans).
//
// "shared" runs every goroutine under one context, "per-goroutine" gives
// each its own (as one goroutine per request does); both variants create
// the same contexts.
func BenchmarkIdle(b *testing.B) {
	const n = 100_000
	for _, perGoroutine := range []bool{false, true} {
		for _, tracked := range []bool{false, true} {
			name := map[bool]string{false: "go", true: "spawn"}[tracked] +
				map[bool]string{false: "/shared", true: "/per-goroutine"}[perGoroutine]
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					heap, stack, cpu := idle(n, tracked, perGoroutine)
					b.ReportMetric(heap, "heap-B/goroutine")
					b.ReportMetric(stack, "stack-B/goroutine")
					b.ReportMetric(cpu, "cpu-%")
				}
			})
		}
	}
}

func idle(n int, tracked, perGoroutine bool) (heapPerG, stackPerG, cpuPercent float64) {
	m := ctxguard.New(ctxguard.Config{})
	defer m.Close()
	root, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	defer cancel()
	ctxs := make([]context.Context, n)
	cancels := make([]context.CancelFunc, 0, n)
	for i := range ctxs {
		ctxs[i] = root
		if perGoroutine {
			var c context.CancelFunc
			ctxs[i], c = context.WithCancel(root)
			cancels = append(cancels, c)
		}
	}
	defer func() {
		for _, c := range cancels {
			c()
		}
	}()
	block := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(n)
	heap0, stack0 := inUse()
	for _, ctx := range ctxs {
		if tracked {
			spawn.Go(ctx, func(ctx context.Context) { <-block; wg.Done() })
		} else {
			go func() { <-block; wg.Done(); _ = ctx }()
		}
	}
	heap1, stack1 := inUse()
	time.Sleep(300 * time.Millisecond) // let the first scans settle
	cpu0 := cpuTime()
	wall := time.Now()
	time.Sleep(2 * time.Second)
	cpuPercent = 100 * float64(cpuTime()-cpu0) / float64(time.Since(wall))
	close(block)
	wg.Wait()
	return float64(heap1-heap0) / float64(n), float64(stack1-stack0) / float64(n), cpuPercent
}

// inUse returns the bytes of live heap objects and of goroutine stacks in
// use, after a GC.
func inUse() (heap, stack uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
