// Package goctx holds the //ctxvet:ignore directive's cases for goctx.
package goctx

import (
	context "github.com/ctxguard/ctxguard/ctxguard"
)

func work() {}

func trailing(ctx context.Context) {
	go work() //ctxvet:ignore goctx the worker outlives the request on purpose
}

func lineAbove(ctx context.Context) {
	//ctxvet:ignore goctx,selectdone the worker outlives the request on purpose
	go work()
	go work() // want `goroutine does not receive ctx`
}

func otherCheck(ctx context.Context) {
	go work() //ctxvet:ignore lostcancel a directive for another check silences nothing here // want `goroutine does not receive ctx`
}

func noReason(ctx context.Context) {
	go work() //ctxvet:ignore goctx // want `goroutine does not receive ctx` `//ctxvet:ignore goctx needs a reason and silences nothing without one: write //ctxvet:ignore goctx <why this is fine>`
}
