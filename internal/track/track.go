// Package track links package spawn to the goroutine registry of package
// ctxguard's Monitor without making the registry public API.
package track

import (
	"context"
	"sync"
	"time"
)

// Options are spawn's options, resolved.
type Options struct {
	Name    string        // "" means the name of FuncPC, else of Func, else of the function run
	FuncPC  uintptr       // code pointer of the function that names the goroutine
	Func    any           // a func or handler value, long-lived, whose name or type names it
	Grace   time.Duration // 0 means the Monitor's Grace
	Recover bool          // recover panics instead of crashing
	// OnPanic, with Recover, receives the recovered value.
	OnPanic func(v any)
	// Group is the number of the spawn.Group the goroutine belongs to, 0
	// for none: a goroutine lagging in that Group's Wait waits for it.
	Group uint64
}

// A Region is the tracked part of a goroutine entered by EnterScope.
type Region interface {
	// End ends the region; call it, or Abort, once, on the goroutine that
	// entered it.
	End()
	// Abort ends the region from a deferred call when the code it tracks
	// did not return: it panicked (the panic is counted) or called
	// runtime.Goexit.
	Abort()
	// Run returns call(a, b, c), called on the region's goroutine in a way
	// that lets the Monitor find the region in stack captures, and so say
	// where the tracked code is blocked. Call the tracked code through it.
	Run(call func(a, b, c any) (any, error), a, b, c any) (any, error)
}

// Finish ends r from a deferred call: with End if the tracked code
// returned (it set *returned), else with Abort.
func Finish(r Region, returned *bool) {
	if !*returned {
		r.Abort()
		return
	}
	r.End()
}

// ScopeOf returns scope's counts in m (a *ctxguard.Monitor) or, if m is
// nil, in the Monitor ctx carries; it allocates nothing for the first
// MaxSites scopes. It is set by package ctxguard when it is initialized.
var ScopeOf func(ctx context.Context, m any, scope string) Scope

// MonitorOf returns the *ctxguard.Monitor ctx carries, else Default. It
// is set by package ctxguard when it is initialized.
var MonitorOf func(ctx context.Context) any

// EnterScope returns a copy of ctx carrying s (its scope and Monitor), and
// tracks the calling goroutine against it, as if it had been spawned with
// it, until the returned Region ends: the middleware uses it for request
// handlers. site is the pc the region is reported at; opts may be nil. The
// context and the region's record are one allocation. It is set by
// package ctxguard when it is initialized.
var EnterScope func(ctx context.Context, s Scope, site uintptr, opts *Options) (context.Context, Region)

// Entered reports whether ctx is a context EnterScope returned: a request
// context a middleware already tracks, which a middleware nested under it
// leaves alone. One type assertion. It is set by package ctxguard when it
// is initialized.
var Entered func(ctx context.Context) bool

// A Scope is a scope's counts in a Monitor, for admission control.
type Scope interface {
	// Lagging returns the number of the scope's goroutines lagging now:
	// handlers still running after their request ended, and goroutines
	// spawned under the request past their grace. One atomic load.
	Lagging() int64
	// Shed counts a request turned away because Lagging reached limit, and
	// returns how long its client should wait before retrying; grace is
	// the handlers' (0: the Monitor's).
	Shed(limit int, grace time.Duration) (retryAfter time.Duration)
	// Admitted tells the scope a request was let through under limit.
	Admitted(limit int)
}

// WithCancelCause is ctxguard.WithCancelCause with the site a dropped
// cancel func is reported at given by the caller, for wrappers such as
// spawn.WithContext. It is set by package ctxguard when it is initialized.
var WithCancelCause func(parent context.Context, site uintptr) (context.Context, context.CancelCauseFunc)

// Go starts fn(ctx) in a new goroutine tracked by the Monitor that ctx
// carries. site is the spawning call's return pc; opts may be nil. It is set
// by package ctxguard when it is initialized.
var Go func(ctx context.Context, fn func(context.Context), site uintptr, opts *Options)

// Wait calls wg.Wait for the spawn.Group numbered group, so that a stack
// capture sees which Group the calling goroutine waits for. It is set by
// package ctxguard when it is initialized.
var Wait func(group uint64, wg *sync.WaitGroup)

// TestMonitor returns a new *ctxguard.Monitor for package ctxguardtest:
// it tracks every cancel func, and counts one collected uncalled as
// dropped even if its context has ended (the test's context has, by the
// time ctxguardtest looks); and a func returning how many tracked cancel
// funcs have been collected uncalled so far. It is set by package ctxguard
// when it is initialized.
var TestMonitor func(grace time.Duration) (m any, collected func() uint64)

// CaptureStacks reads, once, the stacks of the lagging goroutines of m (a
// *ctxguard.Monitor), as the Monitor's loop does for those whose blocking
// location is not known yet, and returns how many it found, without
// recording them: for benchmarks. It is set by package ctxguard when it is
// initialized.
var CaptureStacks func(m any) (found int)

// LoopRunning reports whether the goroutine of m (a *ctxguard.Monitor)
// exists, from its start to its last instruction: for tests. It is set by
// package ctxguard when it is initialized.
var LoopRunning func(m any) bool
