// Package selectdone holds the selectdone check's cases.
package selectdone

import (
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

func noDone(ctx context.Context, results <-chan int) int {
	select { // want `select waits only for data and does not watch ctx.Done\(\), so cancelling ctx does not unblock it: add case <-ctx.Done\(\):`
	case r := <-results:
		return r
	}
}

func sendWithoutDone(ctx context.Context, out chan<- int) {
	select { // want `select waits only for data and does not watch ctx.Done\(\)`
	case out <- 1:
	}
}

func boundedByTimeAfter(ctx context.Context, results <-chan int) int {
	select {
	case r := <-results:
		return r
	case <-time.After(time.Minute):
		return 0
	}
}

func boundedByTimer(ctx context.Context, results <-chan int) int {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	select {
	case r := <-results:
		return r
	case <-t.C:
		return 0
	}
}

func tickerIsNoBound(ctx context.Context, results <-chan int) int {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select { // want `select waits only for data and does not watch ctx.Done\(\), so cancelling ctx does not unblock it`
		case r := <-results:
			return r
		case <-tick.C:
		}
	}
}

func inGoroutine(ctx context.Context, results <-chan int) {
	go func() {
		select { // want `select waits only for data and does not watch ctx.Done\(\)`
		case <-results:
		}
	}()
}

func watchesDone(ctx context.Context, results <-chan int) int {
	select {
	case r := <-results:
		return r
	case <-ctx.Done():
		return 0
	}
}

func derivedContextDone(parent context.Context, results <-chan int) int {
	ctx, cancel := context.WithTimeout(parent, time.Second)
	defer cancel()
	select {
	case r := <-results:
		return r
	case <-ctx.Done():
		return 0
	}
}

func doneInVariable(ctx context.Context, results <-chan int) int {
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	select {
	case r := <-results:
		return r
	case <-done:
		return 0
	}
}

func nonBlocking(ctx context.Context, results <-chan int) int {
	select {
	case r := <-results:
		return r
	default:
		return 0
	}
}

func blockForever(ctx context.Context) {
	select {}
}

func noContextInScope(results <-chan int) int {
	select {
	case r := <-results:
		return r
	}
}

// shutdown is closed when the program stops: it does not end a request.
var shutdown = make(chan struct{})

func packageLevelSignal(ctx context.Context, results <-chan int) int {
	select {
	case r := <-results:
		return r
	case <-shutdown:
		return 0
	}
}

type conn struct {
	closing chan struct{}
}

func ownersSignalInAGoroutine(ctx context.Context, c *conn, results <-chan int) {
	go func() {
		select {
		case <-results:
		case <-c.closing:
		}
	}()
}

func handedAContextButWaitsOnItsOwner(ctx context.Context, c *conn, results <-chan int) int {
	select {
	case r := <-results:
		return r
	case <-c.closing:
		return 0
	}
}

func spawnedWorkerWaitsOnItsOwner(c *conn) {
	spawn.Go(context.Background(), func(ctx context.Context) {
		select {
		case <-c.closing:
		case <-time.After(time.Minute):
		}
	})
}

func reassignedLocalIsDetached(results <-chan int) int {
	var ctx context.Context
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_ = ctx
	select {
	case r := <-results:
		return r
	}
}

func callSignals(ctx context.Context, stop <-chan struct{}, results <-chan int) int {
	finished := make(chan struct{})
	go func() { defer close(finished) }()
	select {
	case r := <-results:
		return r
	case <-stop:
		return 0
	case <-finished:
		return 0
	}
}

func detachedLocal(results <-chan int) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = ctx
	select {
	case r := <-results:
		return r
	}
}

func reassignedFromItself(results <-chan int) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx, cancel = context.WithCancel(ctx)
	defer cancel()
	_ = ctx
	select {
	case r := <-results:
		return r
	}
}

func withRequestHash(ctx context.Context, hash int) context.Context {
	return context.WithValue(ctx, ctxKey{}, hash)
}

type ctxKey struct{}

func derivedByAHelper(results <-chan int) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx = withRequestHash(ctx, 1)
	_ = ctx
	select {
	case r := <-results:
		return r
	}
}

func backgroundIsNoScope(results <-chan int) int {
	ctx := context.Background()
	_ = ctx
	select {
	case r := <-results:
		return r
	}
}
