// Command floor counts what tracking a goroutine costs over a go
// statement and a sync.WaitGroup in standalone prototypes of the cheapest
// designs found that keep what spawn.Go promises: a live count per spawn
// site and function, exact while goroutines run (Snapshot's Live), an
// identity per goroutine that a goroutine profile shows (BlockedAt, exact
// per lagging goroutine), and a return counted however the goroutine ends.
// Nothing else spawn.Go does is in them. It is the measurement behind the
// third round of issue 28's row 1 in bench/RESULTS.md; spawn.Go itself
// is used only by -time, for comparison.
//
// Each variant starts n goroutines one after another from one goroutine,
// each calling a trivial fn(ctx) under one shared live cancelable context,
// yields after each start (as bench/cmd/instr does, so that each goroutine
// runs and returns before the next start), and waits for all of them.
// Instructions per start are counted with valgrind's cachegrind at two
// values of n, on one thread:
//
//	go build -o /tmp/floor ./bench/cmd/floor
//	for n in 1000 6000; do
//		GOMAXPROCS=1 valgrind --tool=cachegrind --cache-sim=no \
//			--cachegrind-out-file=/dev/null /tmp/floor -variant contract -n $n
//	done
//	# instructions per start: (I refs at 6000 - I refs at 1000) / 5000
//	/tmp/floor -list                               # the variants
//	GOMAXPROCS=1 /tmp/floor -variant contract -n 60000 -allocs
//	/tmp/floor -time 9                             # times, all threads, every variant and spawn.Go
//
// -time runs every variant and spawn.Go itself for n starts each (without
// yielding, as compare's timed serial row), round after round, and prints
// the median time per start and its ratio to the go statement's: what
// moves between cores, which one thread's instruction count leaves out.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/ctxguard/ctxguard/spawn"
)

func main() {
	name := flag.String("variant", "go", "which prototype (-list lists them)")
	n := flag.Int("n", 1000, "goroutines to start")
	allocs := flag.Bool("allocs", false, "print allocations per start (runtime.MemStats) instead of what the scans found")
	list := flag.Bool("list", false, "list the variants")
	rounds := flag.Int("time", 0, "time every variant and spawn.Go over this many rounds of n starts each, instead")
	flag.Parse()
	if *rounds > 0 {
		timeAll(*rounds, *n)
		return
	}
	if *list {
		for _, v := range variants {
			fmt.Printf("%-22s %s\n", v.name, v.about)
		}
		return
	}
	v, ok := find(*name)
	if !ok {
		fmt.Fprintf(os.Stderr, "floor: no variant %q (-list lists them)\n", *name)
		os.Exit(2)
	}
	m := newMonitor(v.wake)
	defer m.close()
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), monitorKey, m))
	defer cancel()
	if *allocs {
		startAll(ctx, v, 2*wakeEvery, true) // fills the free list
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		startAll(ctx, v, *n, true)
		runtime.ReadMemStats(&after)
		fmt.Printf("%s allocs/op %.3f bytes/op %.1f\n", v.name,
			float64(after.Mallocs-before.Mallocs)/float64(*n),
			float64(after.TotalAlloc-before.TotalAlloc)/float64(*n))
		return
	}
	startAll(ctx, v, *n, true)
	fmt.Println(v.name, *n, m.check())
}

//go:noinline
func work(ctx context.Context) { _ = ctx }

// startAll starts n goroutines with v, each running work and then
// wg.Done, yielding after each start if yield, and waits for them: the
// loops of bench/internal/compare's SpawnGoYield and GoWaitGroupYield, or
// without yield SpawnGo and GoWaitGroup.
func startAll(ctx context.Context, v variant, n int, yield bool) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		if v.start == nil { // the go statement
			go func() { work(ctx); wg.Done() }()
		} else {
			v.start(ctx, func(ctx context.Context) {
				work(ctx)
				wg.Done()
			})
		}
		if yield {
			runtime.Gosched()
		}
	}
	wg.Wait()
}

// timeAll prints, for every variant and for spawn.Go, the median time per
// start over rounds of n starts each, and its ratio to the go statement's.
// The variants take turns within each round, so that load that comes and
// goes hits them alike.
func timeAll(rounds, n int) {
	all := append(slices.Clone(variants), variant{name: "spawn.Go", about: "ctxguard's spawn.Go, under the Monitor the context carries", start: spawnGo})
	times := make([][]float64, len(all))
	for range rounds {
		for i, v := range all {
			m := newMonitor(v.wake)
			ctx, cancel := context.WithCancel(context.WithValue(context.Background(), monitorKey, m))
			startAll(ctx, v, n/10, false) // warms up, fills the free list
			start := time.Now()
			startAll(ctx, v, n, false)
			times[i] = append(times[i], float64(time.Since(start).Nanoseconds())/float64(n))
			cancel()
			m.close()
		}
	}
	median := func(x []float64) float64 {
		slices.Sort(x)
		return x[len(x)/2]
	}
	base := median(times[0])
	fmt.Printf("GOMAXPROCS=%d, %d rounds of %d starts\n", runtime.GOMAXPROCS(0), rounds, n)
	for i, v := range all {
		t := median(times[i])
		fmt.Printf("%-22s %6.0f ns/start  %.2fx\n", v.name, t, t/base)
	}
}

func spawnGo(ctx context.Context, fn func(context.Context)) { spawn.Go(ctx, fn) }
