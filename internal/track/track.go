// Package track links package spawn to the goroutine registry of package
// ctxguard's Monitor without making the registry public API.
package track

import (
	"context"
	"time"
)

// Options are spawn's options, resolved.
type Options struct {
	Name    string        // "" means the name of Func, else of the function run
	Func    any           // the function whose name names the goroutine
	Grace   time.Duration // 0 means the Monitor's Grace
	Recover bool          // recover panics instead of crashing
	// OnPanic, with Recover, receives the recovered value.
	OnPanic func(v any)
}

// Go starts fn(ctx) in a new goroutine tracked by the Monitor that ctx
// carries. site is the spawning call's return pc; opts may be nil. It is set
// by package ctxguard when it is initialized.
var Go func(ctx context.Context, fn func(context.Context), site uintptr, opts *Options)
