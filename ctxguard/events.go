package ctxguard

import (
	"strconv"
	"sync"
	"time"
)

// An EventKind says what an [Event] reports.
type EventKind uint8

const (
	// LagStart: a tracked goroutine is still running Grace after its
	// context ended.
	LagStart EventKind = iota + 1
	// LateExit: a goroutine that was lagging has returned.
	LateExit
	// DroppedCancel: a tracked cancel func was collected uncalled while its
	// context was not done.
	DroppedCancel
	// Panic: a tracked goroutine panicked. Without spawn.WithRecover the
	// program is about to crash.
	Panic
	// Blocked: the stack of a lagging goroutine was captured; BlockedAt
	// says where it is blocked. It comes after the goroutine's LagStart
	// (with the same ID) and before its LateExit, if it is captured before
	// it returns.
	Blocked
)

var eventKindNames = [...]string{LagStart: "LagStart", LateExit: "LateExit", DroppedCancel: "DroppedCancel",
	Panic: "Panic", Blocked: "Blocked"}

// String returns the kind's name, such as "LagStart".
func (k EventKind) String() string {
	if int(k) < len(eventKindNames) && eventKindNames[k] != "" {
		return eventKindNames[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// An Event is one thing a Monitor observed, for exporters (see
// [Monitor.Observe]). Fields that do not apply to its Kind are zero.
type Event struct {
	Kind EventKind
	// ID is shared by the LagStart and LateExit events of one goroutine;
	// its LateExit is delivered after its LagStart.
	ID uint64
	// Name is the goroutine's name (spawn.WithName, else its function's).
	Name string
	// Scope is the scope of the goroutine's context (see WithScope).
	Scope string
	// Site is where the goroutine was spawned or the cancel func created.
	Site Site
	// Context is the goroutine's context, or for DroppedCancel the context
	// the dropped cancel func belonged to: exporters read values such as
	// the span context from it.
	Context Context
	// Time is when the event was observed.
	Time time.Time
	// Ended is when the goroutine's context was seen done.
	Ended time.Time
	// Grace is the goroutine's grace period.
	Grace time.Duration
	// Cause is context.Cause of the goroutine's context.
	Cause error
	// Value is the value a recovered panic carried; nil when the panic was
	// not recovered.
	Value any
	// BlockedAt is, for Blocked, where the goroutine is blocked (Count 1).
	BlockedAt *BlockedAt
}

// Delay is how long after its context ended the event happened: for
// LagStart how long the goroutine had been running past its context, for
// LateExit how late it returned.
func (e Event) Delay() time.Duration {
	if e.Ended.IsZero() {
		return 0
	}
	return e.Time.Sub(e.Ended)
}

// maxPendingEvents bounds the events queued for observers between two
// deliveries; beyond it events are dropped and counted in
// Snapshot.EventsDropped.
const maxPendingEvents = 1 << 16

// observers holds the Monitor's observers and its queue of events.
type observers struct {
	mu      sync.Mutex
	fns     map[int]func(Event)
	nextID  int
	pending []Event
	closed  bool // the loop has delivered for the last time
	dropped uint64
	panics  uint64
}

// Observe calls f with every event the Monitor records from now on, from
// the Monitor's background goroutine, in the order the Monitor queues them;
// a goroutine's LateExit always comes after its LagStart. The exception is
// the Panic event of a goroutine without recovery: it is delivered at once
// on the panicking goroutine, since the program is about to crash, and so
// f may then run on two goroutines at the same time. f must not block for
// long (events recorded meanwhile are queued, up to a bound) and must not
// call [Monitor.Close]. A panic in f is recovered and counted in
// Snapshot.ObserverPanics. The returned stop function removes f; it is
// idempotent, and a delivery already under way may still call f once.
// When nobody observes, no event is built.
//
// An observer that keeps state per Event.ID must bound it: it may see a
// LateExit without a LagStart (it started observing in between), or a
// LagStart without a LateExit (the goroutine never returns, or the event
// was dropped from a full queue, counted in Snapshot.EventsDropped).
func (m *Monitor) Observe(f func(Event)) (stop func()) {
	if f == nil {
		panic("ctxguard: Observe called with a nil func")
	}
	o := &m.observers
	o.mu.Lock()
	if o.fns == nil {
		o.fns = make(map[int]func(Event))
	}
	id := o.nextID
	o.nextID++
	o.fns[id] = f
	m.observed.Store(true)
	o.mu.Unlock()
	return func() {
		o.mu.Lock()
		delete(o.fns, id)
		m.observed.Store(len(o.fns) > 0)
		o.mu.Unlock()
	}
}

// queue adds events for delivery by the background goroutine; once it has
// delivered for the last time, they are dropped.
func (m *Monitor) queue(events ...Event) {
	o := &m.observers
	o.mu.Lock()
	for _, e := range events {
		if o.closed || len(o.pending) >= maxPendingEvents {
			o.dropped++
			continue
		}
		o.pending = append(o.pending, e)
	}
	o.mu.Unlock()
	m.wakeLoop()
}

// wakeLoop has the loop deliver (and record late exits) soon.
func (m *Monitor) wakeLoop() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// deliver hands the queued events to the observers. With last, events
// queued afterwards are dropped: nobody would deliver them.
func (m *Monitor) deliver(last bool) {
	o := &m.observers
	o.mu.Lock()
	events := o.pending
	o.pending = nil
	o.closed = o.closed || last
	fns := o.funcsLocked()
	o.mu.Unlock()
	for _, e := range events {
		m.notify(fns, e)
	}
}

func (m *Monitor) notify(fns []func(Event), e Event) {
	for _, f := range fns {
		func() {
			defer func() {
				if recover() != nil {
					m.observers.mu.Lock()
					m.observers.panics++
					m.observers.mu.Unlock()
				}
			}()
			f(e)
		}()
	}
}

// notifyNow delivers e synchronously on the calling goroutine.
func (m *Monitor) notifyNow(e Event) {
	o := &m.observers
	o.mu.Lock()
	fns := o.funcsLocked()
	o.mu.Unlock()
	m.notify(fns, e)
}

// funcsLocked returns the observers; the caller holds o.mu.
func (o *observers) funcsLocked() []func(Event) {
	fns := make([]func(Event), 0, len(o.fns))
	for _, f := range o.fns {
		fns = append(fns, f)
	}
	return fns
}
