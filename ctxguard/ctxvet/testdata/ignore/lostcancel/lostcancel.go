// Package lostcancel holds the //ctxvet:ignore directive's cases for
// lostcancel, whose findings are in two places.
package lostcancel

import (
	context "github.com/ctxguard/ctxguard/ctxguard"
)

func silencedAtTheDefinition(parent context.Context, fail bool) {
	ctx, cancel := context.WithCancel(parent) //ctxvet:ignore lostcancel the caller's deadline ends it
	if fail {
		return
	}
	defer cancel()
	_ = ctx
}

func silencedAtTheReturn(parent context.Context, fail bool) {
	ctx, cancel := context.WithCancel(parent)
	if fail {
		return //ctxvet:ignore lostcancel the caller's deadline ends it
	}
	defer cancel()
	_ = ctx
}

func notSilenced(parent context.Context, fail bool) {
	ctx, cancel := context.WithCancel(parent) // want `cancel \(the cancel func of context.WithCancel\) is not called on every path`
	if fail {
		return // want `this return leaves cancel uncalled`
	}
	defer cancel()
	_ = ctx
}
