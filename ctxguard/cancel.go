package ctxguard

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// Dropped-cancel tracking.
//
// A tracked cancel func is a method value on a cancelTracker, and the tracker
// carries a finalizer. Calling the cancel func removes the finalizer, so a
// called cancel never reaches the garbage collector's finalizer queue. If the
// tracker becomes unreachable first, cancelCollected runs and counts a drop
// when the context is still not done: a context that ended by its deadline
// or its parent is not a leak, whatever happened to its cancel func.
//
// runtime.SetFinalizer, not runtime.AddCleanup (which is to be preferred in
// general, and which ctxguard used before), because the finalizer goes on
// an object only ctxguard holds a pointer to, where none of the pitfalls
// AddCleanup exists to avoid apply, and it costs two allocations fewer: AddCleanup allocates the closure
// that calls the cleanup and its argument. Measured (cachegrind, GOMAXPROCS
// 1), track-all WithCancel with its cancel called: 6 allocations and about
// 3,370 instructions with AddCleanup, 4 and about 3,030 with SetFinalizer;
// package context's own, 2 and about 1,075. Of the 1,950 added, setting and
// removing the finalizer take about 1,100 and the two allocations about 575
// (callgrind): with one runtime record per tracked cancel func, 2.5x is out
// of reach (bench/RESULTS.md). Leaving the finalizer in place when cancel is
// called, for it to see the context done, measured the same 3,050: the
// finalizer's run costs what its removal saves, and keeps the context one
// collection longer. Why a finalizer is safe here:
//
//   - The finalized object is the tracker, never a user's object: nobody
//     else can set a finalizer on it, and a user's finalizers are untouched.
//   - No resurrection of user data: cancelCollected reads the tracker's
//     fields and keeps no pointer to it; the user's context it reports is
//     one the tracker held anyway, and lives only as long as the event that
//     names it (as with the cleanup's argument before).
//   - Cycles: a finalized object reachable from itself is never finalized.
//     The tracker reaches the context (its cancel func and ctx); the context
//     reaches the tracker only if the user stores the tracked cancel func in
//     a value under a cancelable child of the context. The cleanup's
//     argument had to hold the context too, so such a tracker was never
//     collected under AddCleanup either: the same cases, not new ones.
//   - The finalizer is quick and never blocks: it takes the Monitor's mutex
//     to count, as the cleanup did; finalizers run one at a time on one
//     goroutine, so a slow one would delay every other package's.
//   - A finalizer keeps what the tracker points to (the context) for one
//     more collection after it runs; only trackers of dropped cancel funcs
//     get there, since calling the cancel func removes the finalizer.
//   - The tracker holds pointers, so the runtime never batches it into a
//     tiny allocation block, where finalizers may not run.

type cancelTracker struct {
	cancel      context.CancelFunc
	cancelCause context.CancelCauseFunc
	m           *Monitor
	ctx         context.Context
	pc          uintptr
}

func cancelCollected(t *cancelTracker) {
	m := t.m
	m.cancelsCollected.Add(1)
	if m.uncalledIsDropped || !m.ended(t.ctx) {
		m.recordDroppedCancel(t.ctx, t.pc)
	}
}

// call and callCause remove the finalizer first; t stays reachable across
// it, as the receiver used after.
func (t *cancelTracker) call() {
	runtime.SetFinalizer(t, nil)
	t.cancel()
}

func (t *cancelTracker) callCause(cause error) {
	runtime.SetFinalizer(t, nil)
	t.cancelCause(cause)
}

// trackCancel wraps cancel for tracking if parent's Monitor accepts it.
func trackCancel(parent, ctx Context, cancel CancelFunc, pc uintptr) CancelFunc {
	m := acceptingMonitor(parent)
	if m == nil {
		return cancel
	}
	t := &cancelTracker{cancel: cancel, m: m, ctx: ctx, pc: pc}
	runtime.SetFinalizer(t, cancelCollected)
	m.cancelsTracked.Add(1)
	return t.call
}

// trackCancelCause is trackCancel for a CancelCauseFunc.
func trackCancelCause(parent, ctx Context, cancel CancelCauseFunc, pc uintptr) CancelCauseFunc {
	m := acceptingMonitor(parent)
	if m == nil {
		return cancel
	}
	t := &cancelTracker{cancelCause: cancel, m: m, ctx: ctx, pc: pc}
	runtime.SetFinalizer(t, cancelCollected)
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

// Sampling membership: the open Monitors, whose smallest CancelSampleRate
// sets stage one of sampling (see sampled). A Default Monitor not created
// yet counts as open with the default rate, since the first tracked cancel
// func creates it.
var (
	monitorsMu   sync.Mutex
	openMonitors = map[*Monitor]struct{}{}
)

func init() { updateSampling() }

func openMonitor(m *Monitor) {
	monitorsMu.Lock()
	defer monitorsMu.Unlock()
	openMonitors[m] = struct{}{}
	updateSampling()
}

func closeMonitor(m *Monitor) {
	monitorsMu.Lock()
	defer monitorsMu.Unlock()
	delete(openMonitors, m)
	updateSampling()
}

// updateSampling runs with monitorsMu held, or from init.
func updateSampling() {
	var lowest int64
	if defaultMonitor.Load() == nil {
		lowest = DefaultCancelSampleRate
	}
	for m := range openMonitors {
		if r := int64(m.cfg.CancelSampleRate); lowest == 0 || r < lowest {
			lowest = r
		}
	}
	minSampleRate.Store(lowest)
	if lowest == 0 {
		sampleThreshold.Store(0)
	} else {
		sampleThreshold.Store((1 << 32) / uint64(lowest))
	}
}
