package ctxguardtest_test

import (
	"context"
	"testing"

	"github.com/ctxguard/ctxguard/ctxguard/ctxguardtest"
	"github.com/ctxguard/ctxguard/spawn"
)

// t.Context() with a check of the goroutines only: what `ctxguard test`
// turns t.Context() into. A goroutine still running a second after the
// test ended fails it; cancel funcs are not looked at.
func ExampleGoroutines() {
	test := func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(ctxguardtest.Goroutines(t))
		defer cancel()
		jobs := make(chan int)
		spawn.Go(ctx, func(ctx context.Context) { worker(ctx, jobs) })
		jobs <- 1
	}
	_ = test // run by go test as func TestWorker(t *testing.T)
}
