package spawn_test

import (
	"context"
	"sync"
	"testing"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/cputime"
	"github.com/ctxguard/ctxguard/spawn"
)

// The overhead goals, as ratios within one run:
//
//	go test -run '^$' -bench . -count 5 ./spawn
//
// Go/go and Go/spawn start a goroutine that does the same work (wg.Done)
// under a live cancelable context, with a go statement plus WaitGroup and
// with spawn.Go: goal <= 1.2x serially, <= 1.25x in RunParallel, at most one
// allocation more. The idle CPU and memory of live tracked goroutines are
// measured by BenchmarkIdle in package bench (go run ./bench/cmd/compare).

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

// BenchmarkGoFlightRecorder is BenchmarkGo under a Monitor without and
// with Config.TraceDir: "on" runs the flight recorder, so the execution
// tracer records every goroutine's creation, start and end. "go" is a go
// statement plus WaitGroup, for comparison: the tracer's cost is per
// goroutine, whoever starts it. cpu-ns/op is the whole process's CPU time
// per goroutine, the tracer's own goroutines included. Compare off and on
// in runs that alternate:
//
//	go test -c -o spawn.test ./spawn
//	./spawn.test -test.run '^$' -test.bench 'GoFlightRecorder/^spawn$/^off$'
//	./spawn.test -test.run '^$' -test.bench 'GoFlightRecorder/^spawn$/^on$'
func BenchmarkGoFlightRecorder(b *testing.B) {
	for _, starter := range []string{"go", "spawn"} {
		b.Run(starter, func(b *testing.B) {
			for _, on := range []bool{false, true} {
				b.Run(map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
					cfg := ctxguard.Config{}
					if on {
						cfg.TraceDir = b.TempDir()
					}
					m := ctxguard.New(cfg)
					defer m.Close()
					if on && !m.TraceStatus().Recording {
						b.Fatalf("the flight recorder does not run: %v", m.TraceStatus().Err)
					}
					ctx := ctxguard.WithMonitor(context.Background(), m)
					b.ReportAllocs()
					cpu := cputime.Report(b)
					var wg sync.WaitGroup
					for b.Loop() {
						wg.Add(1)
						if starter == "go" {
							go func() { work(ctx); wg.Done() }()
						} else {
							spawn.Go(ctx, func(ctx context.Context) { work(ctx); wg.Done() })
						}
					}
					wg.Wait()
					cpu()
				})
			}
		})
	}
}
