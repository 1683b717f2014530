package ctxguard

import (
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"
)

// An EventKind says what an [Event] reports. Its String is the kind's name
// without the Event prefix ("LagStart"), as events are named in prose.
type EventKind uint8

const (
	// EventLagStart: a tracked goroutine is still running Grace after its
	// context ended.
	EventLagStart EventKind = iota + 1
	// EventLateExit: a goroutine that was lagging has returned.
	EventLateExit
	// EventDroppedCancel: a tracked cancel func was collected uncalled while its
	// context was not done.
	EventDroppedCancel
	// EventPanic: a tracked goroutine panicked. Without spawn.WithRecover the
	// program is about to crash.
	EventPanic
	// EventBlocked: the stack of a lagging goroutine was captured; BlockedAt
	// says where it is blocked. It comes after the goroutine's LagStart
	// (with the same ID) and before its LateExit, if it is captured before
	// it returns.
	EventBlocked
)

var eventKindNames = [...]string{EventLagStart: "LagStart", EventLateExit: "LateExit", EventDroppedCancel: "DroppedCancel",
	EventPanic: "Panic", EventBlocked: "Blocked"}

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

// maxPendingEvents bounds the events waiting for the observers; beyond it
// events are dropped and counted in Snapshot.EventsDropped.
const maxPendingEvents = 1 << 16

// observers holds the Monitor's observers.
type observers struct {
	mu     sync.Mutex
	fns    map[int]func(Event)
	list   []func(Event) // fns in the order they came; replaced, never changed
	nextID int
	panics uint64
}

// relistLocked remakes list from fns. The caller holds o.mu.
func (o *observers) relistLocked() {
	list := make([]func(Event), 0, len(o.fns))
	for _, id := range slices.Sorted(maps.Keys(o.fns)) {
		list = append(list, o.fns[id])
	}
	o.list = list
}

// Observe calls f with every event the Monitor records from now on, in the
// order the Monitor records them (a goroutine's LateExit always comes after
// its LagStart), from a goroutine the Monitor runs for its observers while
// events are waiting: a slow or blocked observer never delays detection,
// only the delivery of later events, which wait up to a bound and are then
// dropped and counted in Snapshot.EventsDropped. The Panic event of a
// goroutine without recovery is delivered before the panic goes on to
// crash the program, if the observers take it within a short bound (see
// spawn.Go). f may call any method of the Monitor, [Monitor.Close]
// included. A panic in f is recovered and counted in
// Snapshot.ObserverPanics. The returned stop function removes f; it is
// idempotent, and a delivery already under way may still call f once.
// When nobody observes, no event is built.
//
// An observer that keeps state per Event.ID must bound it: it may see a
// LateExit without a LagStart (it started observing in between), or a
// LagStart without a LateExit (the goroutine never returns, or the event
// was dropped from a full queue).
func (m *Monitor) Observe(f func(Event)) (stop func()) {
	m.mustBeNew("Monitor.Observe")
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
	o.relistLocked()
	m.observed.Store(true)
	o.mu.Unlock()
	return func() {
		o.mu.Lock()
		delete(o.fns, id)
		o.relistLocked()
		m.observed.Store(len(o.fns) > 0)
		o.mu.Unlock()
	}
}

// queue hands events to the observers' goroutine.
func (m *Monitor) queue(events ...Event) {
	m.events.put(events...)
}

// notify calls every observer with e, on the observers' goroutine.
func (m *Monitor) notify(e Event) {
	o := &m.observers
	o.mu.Lock()
	fns := o.list
	o.mu.Unlock()
	for _, f := range fns {
		m.callObserver(f, e)
	}
}

func (m *Monitor) callObserver(f func(Event), e Event) {
	defer func() {
		if recover() != nil {
			m.observers.mu.Lock()
			m.observers.panics++
			m.observers.mu.Unlock()
		}
	}()
	f(e)
}

// event describes g, whose context's cause is given; it reads only fields
// that never change after spawn and endedAt, which is final once g is
// lagging.
func (m *Monitor) event(g *goroutine, kind EventKind, id uint64, at time.Time, cause error) Event {
	e := Event{
		Kind: kind, ID: id, Name: g.name(), Scope: g.scopeName(),
		Site: siteOf(g.site()), Context: g.ctx, Time: at, Grace: g.grace(),
		Cause: cause,
	}
	if kind == EventLagStart || kind == EventLateExit {
		e.Ended = time.Unix(0, g.endedAt)
	}
	return e
}
