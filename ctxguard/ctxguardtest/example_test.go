package ctxguardtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard/ctxguardtest"
	"github.com/ctxguard/ctxguard/spawn"
)

// worker stops when its context ends.
func worker(ctx context.Context, jobs <-chan int) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-jobs:
		}
	}
}

// A test's own context: goroutines spawned under it must have returned
// soon after the test ends, or the test fails, saying where they are
// blocked. Parallel tests are judged apart.
func ExampleContext() {
	test := func(t *testing.T) {
		t.Parallel()
		ctx := ctxguardtest.Context(t)
		jobs := make(chan int)
		spawn.Go(ctx, func(ctx context.Context) { worker(ctx, jobs) })
		jobs <- 1
	}
	_ = test // run by go test as func TestWorker(t *testing.T)
}

// A cancellation assertion: fn must return within 100ms of its context's
// cancel.
func ExampleStopsOnCancel() {
	test := func(t *testing.T) {
		jobs := make(chan int)
		ctxguardtest.StopsOnCancel(t, func(ctx context.Context) { worker(ctx, jobs) }, 100*time.Millisecond)
	}
	_ = test // run by go test as func TestWorkerStops(t *testing.T)
}
