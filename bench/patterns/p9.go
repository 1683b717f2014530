package patterns

import (
	"sync"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

// P9: WaitGroup misuse with no <-ctx.Done() handling: Add(2) for one
// worker, so Wait never returns and the goroutine waiting never stops.
func p9(env Env) {
	request(env.Root, func(ctx context.Context) { p9Handler(env, ctx) })
}

func p9Handler(env Env, ctx context.Context) {
	env.Go(ctx, func(context.Context) {
		var wg sync.WaitGroup
		wg.Add(2) // one Done too few
		go func() { defer wg.Done() }()
		wg.Wait()
	})
}
