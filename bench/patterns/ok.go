package patterns

import (
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

// The control: a handler doing it right. Its worker returns when the
// request ends, and the cancel of its timeout is always called.
func ok(env Env) {
	request(env.Root, func(ctx context.Context) { okHandler(env, ctx) })
}

func okHandler(env Env, ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Hour)
	results := make(chan int)
	env.Go(ctx, func(ctx context.Context) {
		defer cancel()
		select {
		case r := <-results:
			_ = r
		case <-ctx.Done():
		}
	})
}
