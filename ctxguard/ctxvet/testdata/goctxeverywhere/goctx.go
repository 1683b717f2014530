// Package goctxeverywhere holds the goctx check's cases with -goctx.everywhere.
package goctxeverywhere

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

func work()                               {}
func workWith(ctx context.Context, n int) {}
func handle(r *http.Request)              {}

type server struct {
	ctx  context.Context
	jobs chan int
}

func (s *server) loop() {
	for {
		s.poll()
		time.Sleep(time.Second)
	}
}

func (s *server) poll() {}

func (s *server) drain() {
	for range s.jobs {
	}
}

func (s *server) loopUntilDone() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.jobs:
		}
	}
}

func notHandedTheContext(ctx context.Context, w http.ResponseWriter) {
	go func() { // want `goroutine does not receive ctx, so cancellation cannot stop it: pass ctx to it, or start it with spawn.Go\(ctx, func\(ctx context.Context\) {...}\)`
		time.Sleep(10 * time.Second)
		fmt.Fprint(w, "late")
	}()
}

func packageFunction(ctx context.Context) {
	go work() // want `goroutine does not receive ctx`
}

func (s *server) method(ctx context.Context) {
	go s.loop() // want `goroutine does not receive ctx`
}

func inClosure(ctx context.Context) func() {
	return func() {
		go work() // want `goroutine does not receive ctx`
	}
}

func withArguments(ctx context.Context, n int) {
	go func(n int) { // want `goroutine does not receive ctx`
		fmt.Println(n)
	}(n)
}

func derivedLocal(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	_ = ctx
	go work() // want `goroutine does not receive ctx`
}

func contextPassed(ctx context.Context) {
	go workWith(ctx, 1)
}

func contextReferenced(ctx context.Context) {
	go func() {
		<-ctx.Done()
	}()
}

func requestPassed(ctx context.Context, r *http.Request) {
	go handle(r)
}

func calleeSeesAContext(ctx context.Context, s *server) {
	go s.loopUntilDone()
}

func closureVariable(ctx context.Context) {
	f := func() { workWith(ctx, 2) }
	go f()
}

func spawned(ctx context.Context) {
	spawn.Go(ctx, func(ctx context.Context) { work() })
	var g spawn.Group
	g.Go(func() error { work(); return nil })
	_ = g.Wait()
}

func joinedThroughAChannel(ctx context.Context, r *http.Request) (int, error) {
	result := make(chan int, 1)
	go func() { result <- len(r.URL.Path) }()
	select {
	case n := <-result:
		return n, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

func joinedThroughAWaitGroup(ctx context.Context, items []int) {
	var wg sync.WaitGroup
	for range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work()
		}()
	}
	wg.Wait()
}

func endsWithItsOwner(ctx context.Context, s *server) {
	go s.drain()
}

func awaitedWithCancellation(ctx context.Context, shutdown func()) error {
	done := make(chan struct{})
	go shutdown()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func detachedLocal() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = ctx
	go work()
}

func noContextInScope() {
	go work()
}

func backgroundOnly() {
	ctx := context.Background()
	_ = ctx
	go work()
}
