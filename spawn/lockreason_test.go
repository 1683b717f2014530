package spawn_test

import (
	"context"
	"sync"
	"testing"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// Goroutines blocked on a lock are reported with the lock's method, the
// one their code called: a writer waiting in RWMutex.Lock is waiting for
// the RWMutex whether a writer or readers hold it.
func TestLockWaitsAreNamedByTheMethodCalled(t *testing.T) {
	var (
		mu       sync.Mutex
		byWriter sync.RWMutex // held by a writer
		byReader sync.RWMutex // held by a reader
		cond     = sync.NewCond(&sync.Mutex{})
	)
	mu.Lock()
	byWriter.Lock()
	byReader.RLock()
	defer func() {
		mu.Unlock()
		byWriter.Unlock()
		byReader.RUnlock()
		cond.L.Lock()
		cond.Broadcast()
		cond.L.Unlock()
	}()
	cases := []struct {
		name, reason, marker string
		fn                   func(context.Context)
	}{
		{"mutex", "sync.Mutex.Lock", "Mutex.Lock", func(context.Context) {
			mu.Lock() // blocks: Mutex.Lock
			mu.Unlock()
		}},
		{"writer behind a writer", "sync.RWMutex.Lock", "RWMutex.Lock behind a writer", func(context.Context) {
			byWriter.Lock() // blocks: RWMutex.Lock behind a writer
			byWriter.Unlock()
		}},
		{"writer behind a reader", "sync.RWMutex.Lock", "RWMutex.Lock behind a reader", func(context.Context) {
			byReader.Lock() // blocks: RWMutex.Lock behind a reader
			byReader.Unlock()
		}},
		{"reader behind a writer", "sync.RWMutex.RLock", "RWMutex.RLock", func(context.Context) {
			byWriter.RLock() // blocks: RWMutex.RLock
			byWriter.RUnlock()
		}},
		{"cond", "sync.Cond.Wait", "Cond.Wait", func(context.Context) {
			cond.L.Lock()
			cond.Wait() // blocks: Cond.Wait
			cond.L.Unlock()
		}},
	}
	m, root := newMonitor(t)
	ctx, cancel := context.WithCancel(root)
	for _, c := range cases {
		spawn.Go(ctx, c.fn, spawn.WithName(c.name))
	}
	cancel()
	for _, c := range cases {
		g := blockedAt(t, m, c.name, 1)
		if len(g.BlockedAt) != 1 {
			t.Errorf("%s: blocked at %+v, want one location", c.name, g.BlockedAt)
			continue
		}
		b := g.BlockedAt[0]
		want := ctxguard.Site{File: "github.com/ctxguard/ctxguard/spawn/lockreason_test.go", Line: markedLineIn(t, "lockreason_test.go", c.marker)}
		if b.Site.File != want.File || b.Site.Line != want.Line || b.Reason != c.reason {
			t.Errorf("%s: blocked at %s (%s), want %s:%d (%s)", c.name, b.Site, b.Reason, want.File, want.Line, c.reason)
		}
	}
}
