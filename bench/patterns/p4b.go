package patterns

import (
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

// P4, a child not handed ctx: the handler starts its poller under
// context.Background(), so the poller runs on after the request.
func p4b(env Env) {
	request(env.Root, func(ctx context.Context) { p4bHandler(env, ctx) })
}

func p4bHandler(env Env, ctx context.Context) {
	env.Go(context.Background(), p4bPoll) //ctxvet:ignore brokenchain P4 on purpose: should have been ctx
}

func p4bPoll(ctx context.Context) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
