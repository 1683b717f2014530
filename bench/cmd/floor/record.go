package main

import (
	"context"
	"sync/atomic"
	"unsafe"

	"github.com/ctxguard/ctxguard/internal/callsite"
)

// A record is one goroutine's, from its start until a scan after it
// returned frees it.
type record struct {
	// code and self make the record a func value the go statement can
	// start (startUnsafe): the code of a closure whose one captured
	// variable is a *record, and that variable.
	code uintptr
	self *record

	ctx     context.Context
	fn      func(context.Context)
	next    *record  // in the scan list
	pending *record  // below it in the pending stack (startSafe), guarded by the monitor's mu
	cell    *cell    // its live count; nil without one
	ident   labelSet // the label set of its goroutine if that had none: its identity
	state   atomic.Uint32
}

// returned is a record's state once its goroutine no longer touches it.
const returned = 1

// A cell counts the live goroutines of one spawn site and function.
type cell struct {
	key cellKey
	n   atomic.Int64
}

type cellKey struct{ site, fn uintptr }

// count adds one to the live count of site and fn, and returns its cell:
// one atomic add on a cell found through a one-entry cache (a loop
// spawning from one line always finds it there; spawns from many sites
// would need a cache per site).
func (m *monitor) count(site uintptr, fn func(context.Context)) *cell {
	k := cellKey{site, **(**uintptr)(unsafe.Pointer(&fn))}
	c := m.last.Load()
	if c == nil || c.key != k {
		c = m.cellOf(k)
	}
	c.n.Add(1)
	return c
}

func (m *monitor) cellOf(k cellKey) *cell {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cells[k]
	if c == nil {
		c = &cell{key: k}
		m.cells[k] = c
	}
	m.last.Store(c)
	return c
}

// run is the goroutine of a record without a count or identity.
func (r *record) run() {
	r.fn(r.ctx)
	r.state.Store(returned)
}

// runCounted is the goroutine of a record with a count and an identity
// (identify), whose return is counted even when fn ends it with
// runtime.Goexit.
func (r *record) runCounted() {
	r.identify()
	defer r.exit()
	r.fn(r.ctx)
}

// identify gives the calling goroutine a label set at an address of its
// own, with the labels it had. Records are reused, and goroutines fn
// starts inherit the pointer and keep it after fn returns, so the labels
// at a record's address must never change: a goroutine without labels
// (the common case, and the benchmark's) runs with the record's label
// set, which stays empty; one with labels gets a label set allocated for
// it.
func (r *record) identify() {
	if p := getProfLabel(); p != nil {
		setProfLabel(unsafe.Pointer(&labelSet{list: (*labelSet)(p).list}))
		return
	}
	setProfLabel(unsafe.Pointer(&r.ident))
}

func (r *record) exit() {
	r.cell.n.Add(-1)
	setProfLabel(nil) // the runtime no longer points to the record
	r.state.Store(returned)
}

// takePending is the starter of safe starts: it takes the record on top
// of the pending stack. Each push is followed by one go statement running
// it, so it finds one. The stack is guarded by a mutex, not popped with a
// compare-and-swap: records are reused, and a pop that read a record's
// next one before it was taken, freed and pushed again would succeed
// with a stale one (the ABA problem).
func (m *monitor) takePending() {
	m.mu.Lock()
	r := m.pending
	m.pending, r.pending = r.pending, nil
	m.mu.Unlock()
	if r.cell != nil {
		r.runCounted()
	} else {
		r.run()
	}
}

// startSafe starts fn(ctx) tracked, and counted under site unless site is
// 0, without unsafe: the go statement runs the monitor's starter, which
// takes the record from the pending stack (a go statement whose closure
// held the record would allocate that closure).
//
//go:noinline
func startSafe(ctx context.Context, fn func(context.Context), site uintptr) {
	m := monitorOf(ctx)
	var c *cell
	if site != 0 {
		c = m.count(site, fn)
	}
	m.mu.Lock()
	r := m.freeLocked()
	r.ctx, r.fn, r.cell = ctx, fn, c
	r.pending, m.pending = m.pending, r
	m.mu.Unlock()
	m.push(r)
	go m.starter()
}

// startUnsafe starts fn(ctx) tracked and counted under site, with the
// record as the go statement's func value: this relies on the gc
// compiler's layout of closures, which the language does not promise.
//
//go:noinline
func startUnsafe(ctx context.Context, fn func(context.Context), site uintptr) {
	m := monitorOf(ctx)
	r := m.newRecord()
	r.code, r.self, r.ctx, r.fn = recordCode, r, ctx, fn
	r.cell = m.count(site, fn)
	m.push(r)
	f := *(*func())(unsafe.Pointer(&r))
	go f()
}

// startClosure starts fn(ctx) tracked and counted under site, the go
// statement's closure holding the record: safe, for one more allocation.
//
//go:noinline
func startClosure(ctx context.Context, fn func(context.Context), site uintptr) {
	m := monitorOf(ctx)
	r := m.newRecord()
	r.ctx, r.fn = ctx, fn
	r.cell = m.count(site, fn)
	m.push(r)
	go r.runCounted()
}

// recordCode is the code of a closure whose only captured variable is a
// *record, read once from such a closure.
var recordCode = func() uintptr {
	var r *record
	f := func() { r.runCounted() }
	return **(**uintptr)(unsafe.Pointer(&f))
}()

// A variant is one way to start the goroutines.
type variant struct {
	name, about string
	wake        wakeKind
	start       func(ctx context.Context, fn func(context.Context))
}

var variants = []variant{
	{"go", "go + sync.WaitGroup, as bench's GoWaitGroupYield", countOnly, nil},
	{"go/timer", "go + sync.WaitGroup, with a ticker armed (the scanner running, nothing tracked)", ticker, nil},
	{"lazy", "records from a free list fed by the scans, listed with one CAS, handed to their goroutine by a pending stack; no count, no identity; scans every 1024th push", countOnly, lazy},
	{"contract", "lazy, plus a live count per site and function, the goroutine's identity, and its return deferred (runtime.Goexit counted)", countOnly, contract},
	{"contract/timer", "contract, with a ticker waking the scanner too (a runtime timer stays armed)", ticker, contract},
	{"contract/sleeper", "contract, with a goroutine sleeping in the kernel waking the scanner too (no runtime timer)", sleeper, contract},
	{"contract/closure", "contract, with a go statement whose closure holds the record (one more allocation) instead of the pending stack", countOnly, contractClosure},
	{"contract/unsafe", "contract, with the record as the go statement's func value (unsafe) instead of the pending stack", countOnly, contractUnsafe},
	{"contract/unsafe/timer", "contract/unsafe, with a ticker waking the scanner too", ticker, contractUnsafe},
}

// The variants' start functions, as spawn.Go would be: each finds the
// site that called it.

//go:noinline
func lazy(ctx context.Context, fn func(context.Context)) { startSafe(ctx, fn, 0) }

//go:noinline
func contract(ctx context.Context, fn func(context.Context)) {
	startSafe(ctx, fn, callsite.CallerPC())
}

//go:noinline
func contractClosure(ctx context.Context, fn func(context.Context)) {
	startClosure(ctx, fn, callsite.CallerPC())
}

//go:noinline
func contractUnsafe(ctx context.Context, fn func(context.Context)) {
	startUnsafe(ctx, fn, callsite.CallerPC())
}

func find(name string) (variant, bool) {
	for _, v := range variants {
		if v.name == name {
			return v, true
		}
	}
	return variant{}, false
}
