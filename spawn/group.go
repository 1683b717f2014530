package spawn

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/ctxguard/ctxguard/internal/callsite"
	"github.com/ctxguard/ctxguard/internal/track"
)

// A Group is a collection of goroutines working on subtasks that are part of
// the same overall task: a drop-in for golang.org/x/sync/errgroup.Group with
// the same methods and semantics, whose goroutines are tracked like those of
// [Go], against the Group's context, and named after the function passed to
// Go. A Group should not be reused for different tasks.
//
// A zero Group is valid, has no limit on the number of active goroutines,
// and does not cancel on error. Its goroutines are tracked against
// context.Background, so they are counted live but never lagging.
type Group struct {
	ctx    context.Context
	cancel func(error)
	id     atomic.Uint64 // the Group's number, given on first use; see number

	wg  sync.WaitGroup
	sem chan token

	errOnce sync.Once
	err     error
}

type token struct{}

// WithContext returns a new Group and an associated Context derived from ctx.
//
// The derived Context is canceled the first time a function passed to Go
// returns a non-nil error or the first time Wait returns, whichever occurs
// first. Goroutines of the Group still running Grace after it is canceled
// are lagging.
//
// The cancel func behind the Context is tracked like ctxguard.WithCancelCause's:
// a Group dropped without Wait while its Context is live is reported at the
// line that called WithContext.
//
//go:noinline
func WithContext(ctx context.Context) (*Group, context.Context) {
	ctx, cancel := track.WithCancelCause(ctx, callsite.CallerPC())
	return &Group{ctx: ctx, cancel: cancel}, ctx
}

func (g *Group) done() {
	if g.sem != nil {
		<-g.sem
	}
	g.wg.Done()
}

// Wait blocks until all function calls from the Go method have returned, then
// returns the first non-nil error (if any) from them.
//
// A tracked goroutine (or request handler) still in Wait Grace after its
// context ended is reported as waiting for the Group's lagging goroutines,
// which are reported first: they are what to fix.
func (g *Group) Wait() error {
	track.Wait(g.number(), &g.wg)
	if g.cancel != nil {
		g.cancel(g.err)
	}
	return g.err
}

// groups numbers Groups, so that stack captures can tell which Group a
// goroutine waits for.
var groups atomic.Uint64

// number returns g's number, giving it one on first use.
func (g *Group) number() uint64 {
	if n := g.id.Load(); n != 0 {
		return n
	}
	g.id.CompareAndSwap(0, groups.Add(1))
	return g.id.Load()
}

// Go calls the given function in a new tracked goroutine, named after f
// unless opts say otherwise ([WithName], [WithGrace] and [WithRecover]
// apply as for [Go]).
//
// The first call to Go must happen before a Wait.
// It blocks until the new goroutine can be added without the number of
// goroutines in the group exceeding the configured limit.
//
// The first goroutine in the group that returns a non-nil error will
// cancel the associated Context, if any. The error will be returned
// by Wait. A goroutine started with [WithRecover] that panics fails the
// group the same way, with a [PanicError].
//
//go:noinline
func (g *Group) Go(f func() error, opts ...Option) {
	noNilOption(opts, "Group.Go") // before taking a slot, which a panic would keep
	if g.sem != nil {
		g.sem <- token{}
	}
	g.start(f, callsite.CallerPC(), g.options(f, opts, "Group.Go"))
}

// TryGo calls the given function in a new tracked goroutine, as Go does,
// only if the number of active goroutines in the group is currently below
// the configured limit.
//
// The return value reports whether the goroutine was started.
//
//go:noinline
func (g *Group) TryGo(f func() error, opts ...Option) bool {
	noNilOption(opts, "Group.TryGo") // before taking a slot, which a panic would keep
	if g.sem != nil {
		select {
		case g.sem <- token{}:
			// Note: this allows barging if and only if channels in general allow barging.
		default:
			return false // nothing resolved: a refusal costs no allocation
		}
	}
	g.start(f, callsite.CallerPC(), g.options(f, opts, "Group.TryGo"))
	return true
}

// options resolves the options of a goroutine running f, panicking on a
// nil one for the named caller.
func (g *Group) options(f func() error, opts []Option, caller string) *track.Options {
	o := &track.Options{FuncPC: reflect.ValueOf(f).Pointer(), Group: g.number()}
	apply(o, opts, caller)
	return o
}

func (g *Group) start(f func() error, site uintptr, o *track.Options) {
	g.wg.Add(1)
	ctx := g.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	// Like errgroup, panics are not propagated to Wait: a panic in f
	// crashes the program with f's own stack, as under a go statement.
	// One that WithRecover recovers fails the Group, as an error would.
	track.Go(ctx, func(context.Context) {
		defer g.done()
		if o.Recover {
			defer g.failOnPanic()
		}
		if err := f(); err != nil {
			g.fail(err)
		}
	}, site, o)
}

// fail records err as the Group's error, if it is the first, and cancels
// the Group's context with it.
func (g *Group) fail(err error) {
	g.errOnce.Do(func() {
		g.err = err
		if g.cancel != nil {
			g.cancel(g.err)
		}
	})
}

// failOnPanic, deferred in a goroutine started with WithRecover, fails
// the Group with a PanicError if the goroutine panics, and panics again
// with the same value for WithRecover's recovery, which records the panic
// and calls its handler, to take it.
func (g *Group) failOnPanic() {
	if v := recover(); v != nil {
		g.fail(&PanicError{Value: v})
		panic(v)
	}
}

// A PanicError is the error a Group fails with when one of its goroutines
// started with [WithRecover] panics: Wait returns it (if it is the first
// error) and the Group's context is cancelled with it as its cause, as
// for an error the goroutine returned. Without WithRecover a panic
// crashes the program, as under errgroup.
type PanicError struct {
	// Value is what the goroutine panicked with.
	Value any
}

// Error says what the goroutine panicked with.
func (e *PanicError) Error() string { return fmt.Sprintf("spawn: goroutine panicked: %v", e.Value) }

// Unwrap returns the panic's value if it is an error, so that errors.Is
// and errors.As see through a PanicError.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// SetLimit limits the number of active goroutines in this group to at most n.
// A negative value indicates no limit.
// A limit of zero will prevent any new goroutines from being added.
//
// Any subsequent call to the Go method will block until it can add an active
// goroutine without exceeding the configured limit.
//
// The limit must not be modified while any goroutines in the group are active:
// SetLimit panics if it is.
func (g *Group) SetLimit(n int) {
	if n < 0 {
		g.sem = nil
		return
	}
	if active := len(g.sem); active != 0 {
		panic(fmt.Errorf("errgroup: modify limit while %v goroutines in the group are still active", active))
	}
	g.sem = make(chan token, n)
}
