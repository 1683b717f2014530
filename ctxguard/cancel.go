package ctxguard

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
)

// Dropped-cancel tracking.
//
// A tracked cancel func is a method value on a cancelTracker, and the tracker
// carries a runtime cleanup. Calling the cancel func stops the cleanup, so a
// called cancel never reaches the garbage collector's cleanup queue. If the
// tracker becomes unreachable first, cancelCollected runs and counts a drop
// when the context is still not done: a context that ended by its deadline
// or its parent is not a leak, whatever happened to its cancel func.
//
// The tracker holds pointers, so the runtime never batches it into a tiny
// allocation block, and the cleanup's argument never points back at it: both
// AddCleanup caveats that would make counting inexact are excluded.

type cancelTracker struct {
	cancel      context.CancelFunc
	cancelCause context.CancelCauseFunc
	cleanup     runtime.Cleanup
}

// droppedCancel is the cleanup's argument: everything needed to judge and
// report a drop, and nothing that reaches the tracker.
type droppedCancel struct {
	m   *Monitor
	ctx context.Context
	pc  uintptr
}

func cancelCollected(d droppedCancel) {
	d.m.cancelsCollected.Add(1)
	if d.m.uncalledIsDropped || !d.m.ended(d.ctx) {
		d.m.recordDroppedCancel(d.ctx, d.pc)
	}
}

// call and callCause stop the cleanup first; Stop is idempotent, and t stays
// reachable across it (it is used after), as Stop requires.
func (t *cancelTracker) call() {
	t.cleanup.Stop()
	t.cancel()
}

func (t *cancelTracker) callCause(cause error) {
	t.cleanup.Stop()
	t.cancelCause(cause)
}

// trackCancel wraps cancel for tracking if parent's Monitor accepts it.
func trackCancel(parent, ctx Context, cancel CancelFunc, pc uintptr) CancelFunc {
	m := acceptingMonitor(parent)
	if m == nil {
		return cancel
	}
	t := &cancelTracker{cancel: cancel}
	t.cleanup = runtime.AddCleanup(t, cancelCollected, droppedCancel{m, ctx, pc})
	m.cancelsTracked.Add(1)
	return t.call
}

// trackCancelCause is trackCancel for a CancelCauseFunc.
func trackCancelCause(parent, ctx Context, cancel CancelCauseFunc, pc uintptr) CancelCauseFunc {
	m := acceptingMonitor(parent)
	if m == nil {
		return cancel
	}
	t := &cancelTracker{cancelCause: cancel}
	t.cleanup = runtime.AddCleanup(t, cancelCollected, droppedCancel{m, ctx, pc})
	m.cancelsTracked.Add(1)
	return t.callCause
}

// Sampling is decided in two stages so that the common, untracked path costs
// one atomic load and one per-thread random number, with no context lookup.
// Stage one samples at the highest rate any open Monitor asks for (the
// smallest CancelSampleRate); stage two, only for those, finds the Monitor
// that parent carries and thins the sample down to that Monitor's own rate.
// The product is exactly 1/CancelSampleRate for every Monitor.

// sampleThreshold is 2^32 / (smallest open CancelSampleRate), or 0 when no
// Monitor is open: a cancel func is a stage-one sample when a uniform
// 32-bit random number is below it.
var sampleThreshold atomic.Uint64

// minSampleRate is the smallest CancelSampleRate of the open Monitors, 0 if
// none. Written under monitorsMu, read by stage two.
var minSampleRate atomic.Int64

func sampled() bool {
	return uint64(rand.Uint32()) < sampleThreshold.Load()
}

// acceptingMonitor is stage two: the Monitor that tracks a cancel func
// derived from parent, or nil.
func acceptingMonitor(parent Context) *Monitor {
	m := MonitorFrom(parent)
	if m.closed.Load() || m.foreign() {
		return nil
	}
	rate, base := int64(m.cfg.CancelSampleRate), minSampleRate.Load()
	if rate > base && base > 0 && rand.Int64N(rate) >= base {
		return nil
	}
	return m
}
