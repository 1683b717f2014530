package ctxguard

import (
	"context"
	"time"

	"github.com/ctxguard/ctxguard/internal/callsite"
)

// A Context carries a deadline, a cancellation signal, and other values across
// API boundaries. It is an alias of [context.Context]: values flow freely
// between code that imports this package and code that imports context.
type Context = context.Context

// A CancelFunc tells an operation to abandon its work. It is an alias of
// [context.CancelFunc]; see there for its contract.
type CancelFunc = context.CancelFunc

// A CancelCauseFunc behaves like a [CancelFunc] but additionally sets the
// cancellation cause. It is an alias of [context.CancelCauseFunc].
type CancelCauseFunc = context.CancelCauseFunc

// Canceled is the error returned by [Context.Err] when the context is
// canceled for some reason other than its deadline passing. It is
// [context.Canceled] itself, so errors.Is works across both packages.
var Canceled = context.Canceled

// DeadlineExceeded is the error returned by [Context.Err] when the context is
// canceled due to its deadline passing. It is [context.DeadlineExceeded].
var DeadlineExceeded error = context.DeadlineExceeded

// Background returns [context.Background]: a non-nil, empty Context that is
// never canceled, has no values, and has no deadline.
func Background() Context { return context.Background() }

// TODO returns [context.TODO]. Code should use TODO when it is unclear which
// Context to use or it is not yet available.
func TODO() Context { return context.TODO() }

// WithValue returns [context.WithValue](parent, key, val). The provided key
// must be comparable and should not be of type string or any other built-in
// type to avoid collisions between packages using context.
func WithValue(parent Context, key, val any) Context {
	return context.WithValue(parent, key, val)
}

// WithoutCancel returns [context.WithoutCancel](parent): a derived context
// that is not canceled when parent is canceled.
func WithoutCancel(parent Context) Context { return context.WithoutCancel(parent) }

// AfterFunc returns [context.AfterFunc](ctx, f): it arranges to call f in its
// own goroutine after ctx is canceled, and the returned stop function
// disassociates f from ctx.
func AfterFunc(ctx Context, f func()) (stop func() bool) { return context.AfterFunc(ctx, f) }

// Cause returns [context.Cause](c): a non-nil error explaining why c was
// canceled, or nil if c is not yet canceled.
func Cause(c Context) error { return context.Cause(c) }

// The constructors below return exactly what package context returns; a
// sampled few (see [Config.CancelSampleRate]) get their cancel func wrapped
// so that dropping it uncalled is detected. They are not inlined because
// callsite.CallerPC reads their frame to find the caller's site.

// WithCancel returns [context.WithCancel](parent): a derived context whose
// Done channel is closed when the returned cancel function is called or when
// the parent context's Done channel is closed, whichever happens first.
//
// Canceling this context releases resources associated with it, so code
// should call cancel as soon as the operations running in this Context
// complete. In addition to [context.WithCancel], if the cancel function is
// garbage collected without having been called while the context is still
// not done, the Monitor carried by parent (see [MonitorFrom]) counts it as a
// dropped cancel and reports the site of this call.
//
// Cost: that of [context.WithCancel] plus a few nanoseconds; one call in
// CancelSampleRate also pays for a tracker with a finalizer (measured in
// bench/RESULTS.md, "Context constructors", track-all).
//
//go:noinline
func WithCancel(parent Context) (ctx Context, cancel CancelFunc) {
	ctx, cancel = context.WithCancel(parent)
	if sampled() {
		cancel = trackCancel(parent, ctx, cancel, callsite.CallerPC())
	}
	return ctx, cancel
}

// WithCancelCause behaves like [WithCancel] but returns a [CancelCauseFunc]
// instead of a [CancelFunc], exactly as [context.WithCancelCause] does.
// Dropped cancel funcs are detected as for WithCancel.
//
//go:noinline
func WithCancelCause(parent Context) (ctx Context, cancel CancelCauseFunc) {
	ctx, cancel = context.WithCancelCause(parent)
	if sampled() {
		// The site is looked up only for the sampled calls: it costs
		// about as much as the sampling decision itself.
		cancel = trackCancelCause(parent, ctx, cancel, callsite.CallerPC())
	}
	return ctx, cancel
}

// withCancelCauseAt is WithCancelCause reporting drops at site.
func withCancelCauseAt(parent Context, site uintptr) (ctx Context, cancel CancelCauseFunc) {
	ctx, cancel = context.WithCancelCause(parent)
	if sampled() {
		cancel = trackCancelCause(parent, ctx, cancel, site)
	}
	return ctx, cancel
}

// WithDeadline returns [context.WithDeadline](parent, d): a derived context
// that is done when d passes, when cancel is called, or when parent is done,
// whichever happens first. Code should call cancel as soon as the operations
// running in this Context complete. Dropped cancel funcs are detected as for
// [WithCancel]: a cancel func dropped before d keeps its timer alive until d.
//
//go:noinline
func WithDeadline(parent Context, d time.Time) (Context, CancelFunc) {
	ctx, cancel := context.WithDeadline(parent, d)
	if sampled() {
		cancel = trackCancel(parent, ctx, cancel, callsite.CallerPC())
	}
	return ctx, cancel
}

// WithDeadlineCause behaves like [WithDeadline] but also sets the cause of
// the returned Context when the deadline is exceeded, exactly as
// [context.WithDeadlineCause] does. Dropped cancel funcs are detected as for
// [WithCancel].
//
//go:noinline
func WithDeadlineCause(parent Context, d time.Time, cause error) (Context, CancelFunc) {
	ctx, cancel := context.WithDeadlineCause(parent, d, cause)
	if sampled() {
		cancel = trackCancel(parent, ctx, cancel, callsite.CallerPC())
	}
	return ctx, cancel
}

// WithTimeout returns [context.WithTimeout](parent, timeout), that is
// WithDeadline(parent, time.Now().Add(timeout)). Code should call cancel as
// soon as the operations running in this Context complete. Dropped cancel
// funcs are detected as for [WithCancel].
//
//go:noinline
func WithTimeout(parent Context, timeout time.Duration) (Context, CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, timeout)
	if sampled() {
		cancel = trackCancel(parent, ctx, cancel, callsite.CallerPC())
	}
	return ctx, cancel
}

// WithTimeoutCause behaves like [WithTimeout] but also sets the cause of the
// returned Context when the timeout expires, exactly as
// [context.WithTimeoutCause] does. Dropped cancel funcs are detected as for
// [WithCancel].
//
//go:noinline
func WithTimeoutCause(parent Context, timeout time.Duration, cause error) (Context, CancelFunc) {
	ctx, cancel := context.WithTimeoutCause(parent, timeout, cause)
	if sampled() {
		cancel = trackCancel(parent, ctx, cancel, callsite.CallerPC())
	}
	return ctx, cancel
}
