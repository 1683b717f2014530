package patterns

import (
	context "github.com/ctxguard/ctxguard/ctxguard"
)

// The server's job queue and shutdown signal: reachable for the whole life
// of the program.
var (
	p2bJobs     = make(chan int)
	p2bShutdown = make(chan struct{})
)

// P2 on a reachable channel: the worker's select has no <-ctx.Done() case
// and waits on server-wide channels nobody sends on for it.
func p2b(env Env) {
	request(env.Root, func(ctx context.Context) { p2bHandler(env, ctx) })
}

func p2bHandler(env Env, ctx context.Context) {
	env.Go(ctx, func(context.Context) {
		select { //ctxvet:ignore selectdone P2 on purpose: no <-ctx.Done() case
		case j := <-p2bJobs:
			_ = j
		case <-p2bShutdown:
		}
	})
}
