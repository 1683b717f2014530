// Package goctx holds the //ctxvet:ignore directive's cases for goctx.
package goctx

import (
	"net/http"
)

func work() {}

func trailing(w http.ResponseWriter, r *http.Request) {
	go work() //ctxvet:ignore goctx the worker outlives the request on purpose
}

func lineAbove(w http.ResponseWriter, r *http.Request) {
	//ctxvet:ignore goctx,selectdone the worker outlives the request on purpose
	go work()
	go work() // want `goroutine does not receive r.Context\(\)`
}

func otherCheck(w http.ResponseWriter, r *http.Request) {
	go work() //ctxvet:ignore lostcancel a directive for another check silences nothing here // want `goroutine does not receive r.Context\(\)`
}

func noReason(w http.ResponseWriter, r *http.Request) {
	go work() //ctxvet:ignore goctx // want `goroutine does not receive r.Context\(\)` `//ctxvet:ignore goctx needs a reason and silences nothing without one: write //ctxvet:ignore goctx <why this is fine>`
}
