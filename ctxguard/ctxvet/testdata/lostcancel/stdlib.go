package lostcancel

import (
	stdcontext "context"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
)

func stdlibDiscarded(parent stdcontext.Context) stdcontext.Context {
	ctx, _ := stdcontext.WithTimeout(parent, time.Second) // want `the cancel func of stdcontext.WithTimeout is discarded`
	return ctx
}

func stdlibEarlyReturn(parent stdcontext.Context, skip bool) error {
	ctx, stop := stdcontext.WithCancel(parent) // want `stop \(the cancel func of stdcontext.WithCancel\) is not called on every path`
	if skip {
		return nil // want `this return leaves stop uncalled \(stdcontext.WithCancel on line 16\)`
	}
	defer stop()
	return use(ctx)
}

func ctxguardUnderItsOwnName(parent ctxguard.Context) ctxguard.Context {
	ctx, _ := ctxguard.WithCancel(parent) // want `the cancel func of ctxguard.WithCancel is discarded`
	return ctx
}
