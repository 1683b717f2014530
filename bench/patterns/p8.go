package patterns

import (
	context "github.com/ctxguard/ctxguard/ctxguard"
)

// P8: every state transition starts a goroutine ranging over a channel of
// updates that is never closed, so one goroutine piles up per transition.
func p8(env Env) {
	request(env.Root, func(ctx context.Context) {
		for range 3 {
			p8Transition(env, ctx)
		}
	})
}

func p8Transition(env Env, ctx context.Context) {
	updates := make(chan int)
	env.Go(ctx, func(context.Context) {
		for u := range updates {
			_ = u
		}
	})
	updates <- 1
	updates <- 2
	// Returns without close(updates).
}
