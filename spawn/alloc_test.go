package spawn_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// Allocation budgets: spawn.Go allocates one record beyond what a go
// statement does (the closure it runs, if any, is the caller's either way).
// Counted with testing.AllocsPerRun, as log/slog does for its hot paths;
// the race detector allocates on its own, so they run without it.
func TestSpawnAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m := ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	defer cancel()
	var wg sync.WaitGroup
	done := func(context.Context) { wg.Done() }
	goStmt := testing.AllocsPerRun(1000, func() {
		wg.Add(1)
		go done(ctx)
	})
	spawned := testing.AllocsPerRun(1000, func() {
		wg.Add(1)
		spawn.Go(ctx, done)
	})
	wg.Wait()
	t.Logf("allocations: go %.2f, spawn.Go %.2f", goStmt, spawned)
	if spawned > goStmt+1.05 {
		t.Errorf("spawn.Go allocates %.2f, a go statement %.2f: want at most one more", spawned, goStmt)
	}
}
