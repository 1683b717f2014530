package patterns

import (
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

// P3 across a call: the cancel func is kept in a struct, and the struct is
// dropped without it being called.
func p3b(env Env) {
	p3bHandler(env.Root)
}

type p3bConn struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func p3bDial(parent context.Context) *p3bConn {
	ctx, cancel := context.WithTimeout(parent, time.Hour)
	return &p3bConn{ctx: ctx, cancel: cancel}
}

func p3bHandler(parent context.Context) {
	c := p3bDial(parent)
	_ = c.ctx.Err() // c.cancel is never called
}
