package compare

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/bench/internal/probe"
	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// Idle returns a benchmark that starts n goroutines blocked under live
// contexts, with spawn.Go (tracked) or a go statement, and reports per
// goroutine the heap (heap-B/goroutine) and stack (stack-B/goroutine) in
// use after a GC, their sum (B/goroutine), and the process's CPU while
// they sit idle for window (cpu-%, of one core: for spawn.Go, the
// Monitor's scans). With perGoroutine each goroutine gets a context of its
// own, else all share one; both variants create the same contexts, before
// the heap is first measured.
func Idle(n int, tracked, perGoroutine bool, window time.Duration) func(b *testing.B) {
	return func(b *testing.B) {
		for b.Loop() {
			heap, stack, cpu := idle(n, tracked, perGoroutine, window)
			b.ReportMetric(heap, "heap-B/goroutine")
			b.ReportMetric(stack, "stack-B/goroutine")
			b.ReportMetric(heap+stack, "B/goroutine")
			b.ReportMetric(cpu, "cpu-%")
		}
	}
}

func idle(n int, tracked, perGoroutine bool, window time.Duration) (heapPerG, stackPerG, cpuPercent float64) {
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
	warmUp(n)
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
	time.Sleep(600 * time.Millisecond) // the first scans: polled once, then parked (watched)
	heap1, stack1 := inUse()
	// Return the freed heap to the OS now: else the runtime's background
	// scavenger does it during the window, and charges the burst of
	// starting n goroutines (about 1.5% of a core at 1M) to idling.
	debug.FreeOSMemory()
	cpu0 := cpuTime()
	wall := time.Now()
	time.Sleep(window)
	cpuPercent = 100 * float64(cpuTime()-cpu0) / float64(time.Since(wall))
	close(block)
	wg.Wait()
	return float64(heap1-heap0) / float64(n), float64(stack1-stack0) / float64(n), cpuPercent
}

// warmUp runs n goroutines at once and ends them. The runtime keeps the
// descriptor of every goroutine it ever ran (some 400 bytes of heap) for
// reuse: without this, whichever side first reaches n goroutines would be
// charged for them.
func warmUp(n int) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range n {
		wg.Go(func() { <-release })
	}
	close(release)
	wg.Wait()
}

// inUse returns the bytes of live heap objects and of goroutine stacks in
// use, after a GC.
func inUse() (heap, stack uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc, ms.StackInuse
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Count writes n as the comparisons name sizes: 100k for 100000, 1M for
// 1000000.
func Count(n int) string {
	if n >= 1_000_000 && n%1_000_000 == 0 {
		return fmt.Sprintf("%dM", n/1_000_000)
	}
	if n >= 1000 && n%1000 == 0 {
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}

// IdleGroup compares live goroutines, tracked and not, at each of ns.
func IdleGroup(ns []int, window time.Duration) Group {
	g := Group{
		Title: "Live goroutines: memory and idle CPU",
		About: fmt.Sprintf("n goroutines blocked on a channel under live contexts, started with spawn.Go (tracked by a "+
			"Monitor of the zero Config) or with a go statement. Memory is heap objects plus goroutine stacks in use "+
			"after a GC, per goroutine, with everything but the goroutines (and their closures and records) "+
			"created before the first measurement, and measured once the Monitor's first scans have polled each context "+
			"once and parked the goroutines. Idle CPU is the whole process's CPU time over %v while they sit "+
			"idle, as a share of one core, after the freed heap is returned to the OS (debug.FreeOSMemory). \"shared\" runs all under one context, \"per-goroutine\" gives each its own, "+
			"as one goroutine per request does.", window),
	}
	g.Notes = []string{"With a context per goroutine, spawn.Go's heap includes what the Monitor needs to be told " +
		"when each context ends without polling it: one context.AfterFunc per context (the afterFuncCtx, its stop " +
		"func, the child registration in the context, which package context makes as a map on the first child), " +
		"the context's Done channel (package context makes it lazily; the go side never asks for it) and the " +
		"watch that lists the context's goroutines: about 700 B. Goroutines sharing a context share all of it."}
	memory := func(r probe.Result) string {
		return fmt.Sprintf("%.0f B (heap %.0f + stack %.0f)", r.Extra["B/goroutine"], r.Extra["heap-B/goroutine"], r.Extra["stack-B/goroutine"])
	}
	for _, n := range ns {
		for _, perG := range []bool{false, true} {
			variant := map[bool]string{false: "shared", true: "per-goroutine"}[perG]
			memGoal, cpuGoal := OverAtMost(128, " B"), (*Goal)(nil)
			if perG {
				memGoal = OverAtMost(256, " B")
			}
			if n >= 100_000 {
				cpuGoal = AtMost(0.2, "% of a core")
			}
			rounds := 0 // the group's
			if n >= 1_000_000 {
				rounds = 1 // a round of both sides takes some 15 s
			}
			g.Comparisons = append(g.Comparisons, Comparison{
				Name: fmt.Sprintf("Idle/%s/%s", Count(n), variant),
				Op:   fmt.Sprintf("spawn.Go vs go, %s live goroutines, %s context", Count(n), variant),
				Ours: Side{"spawn.Go", Idle(n, true, perG, window)}, Theirs: Side{"go", Idle(n, false, perG, window)},
				Once: true, MaxRounds: rounds,
				Metrics: []Metric{
					{Suffix: ": memory per goroutine", Unit: "B/goroutine", Goal: memGoal, Format: memory},
					{Suffix: ": idle CPU", Unit: "cpu-%", Goal: cpuGoal},
				},
			})
		}
	}
	return g
}
