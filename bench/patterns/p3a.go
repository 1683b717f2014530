package patterns

import (
	"errors"
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

var errBadRequest = errors.New("bad request")

// P3 within one function: one return path leaves without calling cancel,
// so the child stays registered in the long-lived parent, its timer held,
// until the parent ends.
func p3a(env Env) {
	_ = p3aHandler(env.Root, true)
}

func p3aHandler(parent context.Context, bad bool) error {
	ctx, cancel := context.WithTimeout(parent, time.Hour) //ctxvet:ignore lostcancel P3 on purpose: the bench measures who finds it
	if bad {
		return errBadRequest // cancel is not called on this path
	}
	defer cancel()
	return ctx.Err()
}
