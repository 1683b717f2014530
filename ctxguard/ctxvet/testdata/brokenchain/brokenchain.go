// Package brokenchain holds the brokenchain check's cases.
package brokenchain

import (
	stdcontext "context"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

func call(context.Context) {}

func dropsTheParameter(ctx context.Context) {
	call(context.Background()) // want `context.Background\(\) drops the context parameter ctx, so its cancellation and values stop here: pass ctx on, or detach deliberately with context.WithoutCancel\(ctx\)`
}

func todoFromStdlib(req stdcontext.Context) {
	call(stdcontext.TODO()) // want `stdcontext.TODO\(\) drops the context parameter req, so its cancellation and values stop here: pass req on, or detach deliberately with stdcontext.WithoutCancel\(req\)`
}

func inClosureRunOnTheSpot(ctx context.Context) {
	func() {
		call(context.Background()) // want `context.Background\(\) drops the context parameter ctx`
	}()
	defer func() {
		call(context.TODO()) // want `context.TODO\(\) drops the context parameter ctx`
	}()
}

func inClosureForLater(ctx context.Context) func() {
	return func() {
		call(context.Background())
	}
}

func inGoroutine(ctx context.Context) {
	go func() {
		call(context.Background())
	}()
}

type server struct{}

func (s *server) method(context.Context) {
	call(context.Background()) // want `context.Background\(\) drops the function's unnamed context parameter, so its cancellation and values stop here: name it ctx and pass it on, or detach deliberately with context.WithoutCancel\(ctx\)`
}

func (s *server) blank(_ context.Context) {
	call(context.Background()) // want `context.Background\(\) drops the function's unnamed context parameter`
}

func compared(ctx context.Context) bool {
	return ctx != context.Background()
}

func literalWithParameter() func(context.Context) {
	return func(ctx context.Context) {
		call(context.TODO()) // want `context.TODO\(\) drops the context parameter ctx`
	}
}

func deliberateDetach(ctx context.Context) {
	call(context.WithoutCancel(ctx))
	call(context.WithoutCancel(context.Background()))
}

func nilDefault(ctx context.Context) {
	if ctx == nil {
		ctx = context.Background()
	}
	call(ctx)
}

func noParameter() {
	call(context.Background())
}

func init() {
	func(ctx context.Context) { call(context.Background()) }(nil)
}

type worker struct{ ctx context.Context }

func storedInAnObject(ctx context.Context) *worker {
	return &worker{ctx: context.Background()} // want `context.Background\(\) drops the context parameter ctx, so its cancellation and values stop here: pass ctx on; if it must outlive this call on purpose, keep it and say why in a comment on the line above$`
}

func explainedDetach(ctx context.Context) *worker {
	// The worker outlives the request that starts it; it ends with Close.
	return &worker{ctx: context.Background()}
}

func explainedOnItsLine(ctx context.Context) {
	call(context.Background()) // want `context.Background\(\) drops the context parameter ctx, so its cancellation and values stop here: pass ctx on, or detach deliberately with context.WithoutCancel\(ctx\)`
}

func todoExplainsNothing(ctx context.Context) {
	// TODO: use ctx once callers pass one.
	call(context.Background()) // want `context.Background\(\) drops the context parameter ctx`
}
