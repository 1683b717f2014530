package spawn

import (
	"context"
	"fmt"
	"time"

	_ "github.com/ctxguard/ctxguard/ctxguard" // sets the track hooks: the registry
	"github.com/ctxguard/ctxguard/internal/callsite"
	"github.com/ctxguard/ctxguard/internal/labels"
	"github.com/ctxguard/ctxguard/internal/track"
)

// Go calls fn(ctx) in a new goroutine, registered with the Monitor that ctx
// carries ([ctxguard.MonitorFrom]) until fn returns, panics or calls
// runtime.Goexit.
//
// If fn is still running Grace after ctx is done (cancelled, past its
// deadline, or ended by its parent), the goroutine is lagging: counted in
// the Monitor's Snapshot, logged, and observed by exporters with its name,
// the site of this call, the scope of ctx, how long ago ctx ended and
// context.Cause(ctx). A goroutine whose ctx can never be done is never
// lagging.
//
// A panic in fn is recorded and then crashes the program exactly as under a
// go statement, unless [WithRecover] is given. Go panics at once if ctx or
// fn is nil. With a closed Monitor, Go is a plain go statement.
//
// Cost: about one go statement plus one allocation, two uncontended
// lock/unlock pairs and two compare-and-swaps; see the package
// documentation.
//
//go:noinline
func Go(ctx context.Context, fn func(ctx context.Context), opts ...Option) {
	if ctx == nil {
		panic("spawn: Go called with a nil Context")
	}
	if fn == nil {
		panic("spawn: Go called with a nil func")
	}
	track.Go(ctx, fn, callsite.CallerPC(), resolve(opts))
}

// An Option changes how [Go] tracks a goroutine.
type Option interface {
	apply(*track.Options)
}

type optionFunc func(*track.Options)

func (f optionFunc) apply(o *track.Options) { f(o) }

func resolve(opts []Option) *track.Options {
	if len(opts) == 0 {
		return nil
	}
	o := new(track.Options)
	apply(o, opts, "Go")
	return o
}

// apply applies opts to o, panicking on a nil one for the named caller.
func apply(o *track.Options, opts []Option, caller string) {
	noNilOption(opts, caller)
	for _, opt := range opts {
		opt.apply(o)
	}
}

// noNilOption panics if one of opts is nil, for the named caller.
func noNilOption(opts []Option, caller string) {
	for _, opt := range opts {
		if opt == nil {
			panic("spawn: " + caller + " called with a nil Option")
		}
	}
}

// WithName names the goroutine in reports, statistics and metrics, instead
// of its function's name. Names label metrics, so they must come from a
// bounded set; one longer than ctxguard.MaxLabelBytes is cut to it.
func WithName(name string) Option {
	name = labels.Truncate(name)
	return optionFunc(func(o *track.Options) { o.Name = name })
}

// WithGrace sets how long this goroutine may run after its context is done
// before it is lagging, instead of the Monitor's Config.Grace. It panics if
// d is not positive.
func WithGrace(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("spawn: WithGrace needs a positive duration, got %v", d))
	}
	return optionFunc(func(o *track.Options) { o.Grace = d })
}

// WithRecover recovers a panic in the goroutine instead of letting it crash
// the program: the panic is recorded (Snapshot.Panics, a Panic event with
// the value) and handle, if not nil, is called with the recovered value on
// the panicking goroutine. A [Group]'s goroutine that panics also fails
// the Group, with a [PanicError].
func WithRecover(handle func(v any)) Option {
	return optionFunc(func(o *track.Options) { o.Recover, o.OnPanic = true, handle })
}
