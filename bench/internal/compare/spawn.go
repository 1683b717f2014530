package compare

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/ctxguard/ctxguard/spawn"
	"github.com/sourcegraph/conc"
	"golang.org/x/sync/errgroup"
)

// Each body starts one goroutine per iteration doing the same work (a call
// that reads the context) under a live cancelable context, and waits for
// all of them at the end. spawn.Go runs under the Default Monitor, with
// the default Config.

//go:noinline
func work(ctx context.Context) { _ = ctx }

// liveContext returns a cancelable context and its cancel.
func liveContext() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// SpawnGo starts goroutines with spawn.Go, counted by a sync.WaitGroup.
func SpawnGo(b *testing.B) {
	ctx, cancel := liveContext()
	defer cancel()
	b.ReportAllocs()
	var wg sync.WaitGroup
	for b.Loop() {
		wg.Add(1)
		spawn.Go(ctx, func(ctx context.Context) { work(ctx); wg.Done() })
	}
	wg.Wait()
}

// GoWaitGroup starts goroutines with a go statement and a sync.WaitGroup.
func GoWaitGroup(b *testing.B) {
	ctx, cancel := liveContext()
	defer cancel()
	b.ReportAllocs()
	var wg sync.WaitGroup
	for b.Loop() {
		wg.Add(1)
		go func() { work(ctx); wg.Done() }()
	}
	wg.Wait()
}

// ErrgroupGo starts goroutines with errgroup.Group.Go, the group made by
// errgroup.WithContext.
func ErrgroupGo(b *testing.B) {
	ctx, cancel := liveContext()
	defer cancel()
	b.ReportAllocs()
	g, ctx := errgroup.WithContext(ctx)
	for b.Loop() {
		g.Go(func() error { work(ctx); return nil })
	}
	g.Wait()
}

// SpawnGroupGo is ErrgroupGo with spawn.Group, the drop-in for errgroup.
func SpawnGroupGo(b *testing.B) {
	ctx, cancel := liveContext()
	defer cancel()
	b.ReportAllocs()
	g, ctx := spawn.WithContext(ctx)
	for b.Loop() {
		g.Go(func() error { work(ctx); return nil })
	}
	g.Wait()
}

// ConcWaitGroupGo starts goroutines with conc.WaitGroup.Go, which also
// catches panics to rethrow them from Wait.
func ConcWaitGroupGo(b *testing.B) {
	ctx, cancel := liveContext()
	defer cancel()
	b.ReportAllocs()
	var wg conc.WaitGroup
	for b.Loop() {
		wg.Go(func() { work(ctx) })
	}
	wg.Wait()
}

// SpawnGoYield is SpawnGo for counting instructions on one thread: the
// spawner yields after each spawn, so that each goroutine runs and returns
// before the next spawn, as they do on a machine with a free core. Without
// it, how many goroutines pile up before the spawner is preempted depends
// on time, and with it what a garbage collection costs: counts then vary
// by 2x from run to run.
func SpawnGoYield(b *testing.B) {
	ctx, cancel := liveContext()
	defer cancel()
	b.ReportAllocs()
	var wg sync.WaitGroup
	for b.Loop() {
		wg.Add(1)
		spawn.Go(ctx, func(ctx context.Context) { work(ctx); wg.Done() })
		runtime.Gosched()
	}
	wg.Wait()
}

// GoWaitGroupYield is GoWaitGroup yielding as SpawnGoYield does.
func GoWaitGroupYield(b *testing.B) {
	ctx, cancel := liveContext()
	defer cancel()
	b.ReportAllocs()
	var wg sync.WaitGroup
	for b.Loop() {
		wg.Add(1)
		go func() { work(ctx); wg.Done() }()
		runtime.Gosched()
	}
	wg.Wait()
}

// SpawnGoParallel is SpawnGo from every thread at once (b.RunParallel).
func SpawnGoParallel(b *testing.B) {
	ctx, cancel := liveContext()
	defer cancel()
	b.ReportAllocs()
	var wg sync.WaitGroup
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			wg.Add(1)
			spawn.Go(ctx, func(ctx context.Context) { work(ctx); wg.Done() })
		}
	})
	wg.Wait()
}

// GoWaitGroupParallel is GoWaitGroup from every thread at once.
func GoWaitGroupParallel(b *testing.B) {
	ctx, cancel := liveContext()
	defer cancel()
	b.ReportAllocs()
	var wg sync.WaitGroup
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			wg.Add(1)
			go func() { work(ctx); wg.Done() }()
		}
	})
	wg.Wait()
}

// ErrgroupGoParallel is ErrgroupGo from every thread at once.
func ErrgroupGoParallel(b *testing.B) {
	ctx, cancel := liveContext()
	defer cancel()
	b.ReportAllocs()
	g, ctx := errgroup.WithContext(ctx)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g.Go(func() error { work(ctx); return nil })
		}
	})
	g.Wait()
}

// SpawnGroupGoParallel is SpawnGroupGo from every thread at once.
func SpawnGroupGoParallel(b *testing.B) {
	ctx, cancel := liveContext()
	defer cancel()
	b.ReportAllocs()
	g, ctx := spawn.WithContext(ctx)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			g.Go(func() error { work(ctx); return nil })
		}
	})
	g.Wait()
}

// ConcWaitGroupGoParallel is ConcWaitGroupGo from every thread at once.
func ConcWaitGroupGoParallel(b *testing.B) {
	ctx, cancel := liveContext()
	defer cancel()
	b.ReportAllocs()
	var wg conc.WaitGroup
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			wg.Go(func() { work(ctx) })
		}
	})
	wg.Wait()
}

// SpawnGroup compares starting goroutines.
func SpawnGroup() Group {
	spawnGo := Side{"spawn.Go", SpawnGo}
	spawnGoPar := Side{"spawn.Go", SpawnGoParallel}
	return Group{
		Title: "Starting goroutines",
		About: "Each operation starts one goroutine that calls a function with a live cancelable context and " +
			"counts itself done; all are waited for at the end. Serial starts them from one goroutine, " +
			"parallel from GOMAXPROCS goroutines with b.RunParallel. spawn.Go runs under the default Config. " +
			"The spawn.Group rows compare the errgroup drop-in with errgroup itself, both made by WithContext.",
		Comparisons: []Comparison{
			{Name: "Spawn/Go/serial/vs=WaitGroup", Op: "spawn.Go vs go + sync.WaitGroup, serial",
				Ours: spawnGo, Theirs: Side{"go + sync.WaitGroup", GoWaitGroup}, Goal: RatioAtMost(1.2),
				Instr: true, InstrSides: &[2]Side{{"spawn.Go", SpawnGoYield}, {"go + sync.WaitGroup", GoWaitGroupYield}}},
			{Name: "Spawn/Go/parallel/vs=WaitGroup", Op: "spawn.Go vs go + sync.WaitGroup, parallel",
				Ours: spawnGoPar, Theirs: Side{"go + sync.WaitGroup", GoWaitGroupParallel}, Goal: RatioAtMost(1.25)},
			{Name: "Spawn/Go/serial/vs=errgroup", Op: "spawn.Go vs errgroup.Group.Go, serial",
				Ours: spawnGo, Theirs: Side{"errgroup.Group.Go", ErrgroupGo}},
			{Name: "Spawn/Go/parallel/vs=errgroup", Op: "spawn.Go vs errgroup.Group.Go, parallel",
				Ours: spawnGoPar, Theirs: Side{"errgroup.Group.Go", ErrgroupGoParallel}},
			{Name: "Spawn/Go/serial/vs=conc", Op: "spawn.Go vs conc.WaitGroup.Go, serial",
				Ours: spawnGo, Theirs: Side{"conc.WaitGroup.Go", ConcWaitGroupGo}},
			{Name: "Spawn/Go/parallel/vs=conc", Op: "spawn.Go vs conc.WaitGroup.Go, parallel",
				Ours: spawnGoPar, Theirs: Side{"conc.WaitGroup.Go", ConcWaitGroupGoParallel}},
			{Name: "Spawn/Group/serial/vs=errgroup", Op: "spawn.Group.Go vs errgroup.Group.Go, serial",
				Ours: Side{"spawn.Group.Go", SpawnGroupGo}, Theirs: Side{"errgroup.Group.Go", ErrgroupGo}},
			{Name: "Spawn/Group/parallel/vs=errgroup", Op: "spawn.Group.Go vs errgroup.Group.Go, parallel",
				Ours: Side{"spawn.Group.Go", SpawnGroupGoParallel}, Theirs: Side{"errgroup.Group.Go", ErrgroupGoParallel}},
		},
	}
}
