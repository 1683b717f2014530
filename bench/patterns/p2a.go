package patterns

import (
	context "github.com/ctxguard/ctxguard/ctxguard"
)

// P2 on a channel only the goroutine holds: the worker waits for a result
// nobody will send, with no <-ctx.Done() case. Once the handler has
// returned, the channel is unreachable.
func p2a(env Env) {
	request(env.Root, func(ctx context.Context) { p2aHandler(env, ctx) })
}

func p2aHandler(env Env, ctx context.Context) {
	results := make(chan int)
	env.Go(ctx, func(context.Context) {
		r := <-results
		_ = r
	})
	// The handler returns on its context without ever sending.
}
