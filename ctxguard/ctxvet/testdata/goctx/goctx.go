// Package goctx holds the goctx check's cases in request-scoped code, the
// default.
package goctx

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

func work() {}

func audit(ctx context.Context, r *http.Request) {}

// P1 of docs/design.md: the goroutine outlives the request and writes to a
// ResponseWriter long gone.
func sleepsThenWrites(w http.ResponseWriter, r *http.Request) {
	go func() { // want `goroutine does not receive r.Context\(\), so cancellation cannot stop it: pass r.Context\(\) to it, or start it with spawn.Go\(r.Context\(\), func\(ctx context.Context\) {...}\)`
		time.Sleep(10 * time.Second)
		fmt.Fprint(w, "late")
	}()
}

func handlerWithContextVariable(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	audit(ctx, nil)
	go work() // want `goroutine does not receive ctx`
}

type server struct {
	jobs chan int
}

func (s *server) cleanup() {}

// A method handler, with the go statement in a closure.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		go s.cleanup() // want `goroutine does not receive r.Context\(\)`
	}()
}

func spawnedTask(parent context.Context) {
	spawn.Go(parent, func(ctx context.Context) {
		go work() // want `goroutine does not receive ctx`
	})
	g, ctx := spawn.WithContext(parent)
	g.Go(func() error {
		go work() // want `goroutine does not receive ctx`
		return nil
	})
	_ = g.Wait()
	_ = ctx
}

// Request is a stand-in for a protobuf request message.
type Request struct{}

func (*Request) ProtoReflect() {}

type Reply struct{}

type grpcServer struct{}

func (s *grpcServer) Lookup(ctx context.Context, req *Request) (*Reply, error) {
	go work() // want `goroutine does not receive ctx`
	return &Reply{}, nil
}

func handedTheRequest(w http.ResponseWriter, r *http.Request) {
	go audit(r.Context(), r)
	go func() {
		audit(nil, r)
	}()
}

func joined(w http.ResponseWriter, r *http.Request) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		work()
	}()
	wg.Wait()
}

func notRequestScoped(ctx context.Context) {
	go work() // reported only with -goctx.everywhere
}

func (s *server) notAHandler(ctx context.Context, n int) {
	go work()
}
