package patterns

import (
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

// P4, a dropped link: the worker calls on with context.Background(), so the
// end of the request never reaches the leaf, which polls until its own
// context ends: never.
func p4a(env Env) {
	request(env.Root, func(ctx context.Context) { env.Go(ctx, p4aWorker) })
}

func p4aWorker(ctx context.Context) {
	p4aPoll(context.Background()) //ctxvet:ignore brokenchain P4 on purpose: the link that drops ctx
}

func p4aPoll(ctx context.Context) {
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
