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

// BenchmarkIdle reports, for 100,000 goroutines blocked under live
// contexts: B/goroutine, heap and stack in use per goroutine, and
// cpu-%, the process's CPU time while they sit idle for a second, as a
// percentage of one core; for plain go statements and for spawn.Go.
func BenchmarkIdle(b *testing.B) {
	const n = 100_000
	for _, tracked := range []bool{false, true} {
		name := "go"
		if tracked {
			name = "spawn"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				perG, cpu := idle(b, n, tracked)
				b.ReportMetric(perG, "B/goroutine")
				b.ReportMetric(cpu, "cpu-%")
			}
		})
	}
}

func idle(b *testing.B, n int, tracked bool) (bytesPerGoroutine, cpuPercent float64) {
	m := ctxguard.New(ctxguard.Config{})
	defer m.Close()
	root := ctxguard.WithMonitor(context.Background(), m)
	ctx, cancel := context.WithCancel(root)
	block := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(n)
	before := inUse()
	for range n {
		if tracked {
			spawn.Go(ctx, func(ctx context.Context) { <-block; wg.Done() })
		} else {
			go func() { <-block; wg.Done() }()
		}
	}
	after := inUse()
	time.Sleep(300 * time.Millisecond) // let the first scans settle
	cpu0 := cpuTime()
	wall := time.Now()
	time.Sleep(time.Second)
	cpuPercent = 100 * float64(cpuTime()-cpu0) / float64(time.Since(wall))
	close(block)
	wg.Wait()
	cancel()
	return float64(after-before) / float64(n), cpuPercent
}

func inUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
