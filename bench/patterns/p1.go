package patterns

import (
	"fmt"
	"io"
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

// P1: the handler's goroutine never sees the request context. It sleeps,
// then writes to a response that was finished long ago.
func p1(env Env) {
	request(env.Root, func(ctx context.Context) { p1Handler(env, ctx, io.Discard) })
}

func p1Handler(env Env, ctx context.Context, w io.Writer) {
	env.Go(ctx, func(context.Context) {
		time.Sleep(10 * time.Second)
		fmt.Fprint(w, "report ready")
	})
}
