package ctxdebug

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/labels"
)

// ChartWindow is how far back the chart of live and lagging goroutines,
// and Page.Samples, reach.
const ChartWindow = 10 * time.Minute

const (
	// sampleSlot is the finest the samples go: a sample replaces the
	// last one if both fall in the same slot, so ChartWindow holds at
	// most ChartWindow/sampleSlot samples whatever the request rate.
	sampleSlot = time.Second
	// sampleCostFactor spaces the samples taken on events: not again
	// within this many times the last Snapshot's duration, so that they
	// take at most about 1% of a core whatever a Snapshot costs (some
	// 0.3 ms at 100,000 goroutines in 100 entries: BenchmarkPage).
	sampleCostFactor = 100
	// maxLagEntries bounds the entries the handler keeps lag starts for;
	// lags of further entries are not followed.
	maxLagEntries = 1000
	// maxKnownLags bounds the lagging goroutines whose context's end the
	// handler keeps per entry: the oldest ones.
	maxKnownLags = 16
	// maxCauses bounds the distinct causes counted per entry; further
	// ones are counted under otherCauses.
	maxCauses   = 4
	otherCauses = "(other causes)"
	// coalesceWithin is how close consecutive alike events must be to be
	// kept as one.
	coalesceWithin = time.Second
)

// A watch is what the handler keeps about one Monitor, from its events
// and its snapshots: the lags of each entry, recent events and samples of
// the totals. Its memory is bounded by the constants above and
// config.maxEvents. It runs no goroutine: events reach it on the
// Monitor's observer goroutine, which runs only while events wait.
type watch struct {
	m     *ctxguard.Monitor
	stop  func() // ends the observation
	since time.Time

	mu         sync.Mutex
	lags       map[entryKey]*lagState
	events     []Event // a ring of config.maxEvents, next at head
	head       int
	full       bool
	samples    []Sample
	nextSample time.Time // the earliest an event may take a sample
}

type entryKey struct {
	name, scope string
	site        ctxguard.Site
}

// lagState is what the handler knows about the lagging goroutines of one
// entry from their events.
type lagState struct {
	known   []knownLag     // the oldest lagging goroutines, by ended
	causes  map[string]int // lagging goroutines per cause
	updated time.Time
}

type knownLag struct {
	id    uint64
	ended time.Time
}

// newWatch observes m's events from now on.
func newWatch(m *ctxguard.Monitor, maxEvents int) *watch {
	w := &watch{
		m:      m,
		since:  time.Now(),
		lags:   make(map[entryKey]*lagState),
		events: make([]Event, maxEvents),
	}
	w.stop = m.Observe(w.observe)
	return w
}

// observe takes one event. It runs on the Monitor's observer goroutine.
func (w *watch) observe(e ctxguard.Event) {
	ev := eventOf(e) // calls the program's Error and String methods: before locking
	now := time.Now()
	w.mu.Lock()
	switch e.Kind {
	case ctxguard.EventLagStart:
		w.lagStartLocked(e, ev.Cause, now)
	case ctxguard.EventLateExit:
		w.lateExitLocked(e, ev.Cause)
	}
	w.addEventLocked(ev)
	sample := !now.Before(w.nextSample)
	if sample {
		w.nextSample = now.Add(time.Hour) // until this one is taken
	}
	w.mu.Unlock()
	if sample {
		w.takeSample()
	}
}

// takeSample records the Monitor's totals, for the chart, and returns the
// Snapshot it took and when it began.
func (w *watch) takeSample() (ctxguard.Snapshot, time.Time) {
	start := time.Now()
	s := w.m.Snapshot()
	now := time.Now()
	w.mu.Lock()
	w.addSampleLocked(Sample{Time: now, Live: s.Live, Lagging: s.Lagging})
	w.nextSample = now.Add(max(sampleSlot, sampleCostFactor*now.Sub(start)))
	w.mu.Unlock()
	return s, start
}

func (w *watch) addSampleLocked(s Sample) {
	n := len(w.samples)
	switch {
	case n > 0 && s.Time.Before(w.samples[n-1].Time):
		return // overtaken by a sample taken concurrently
	case n > 0 && w.samples[n-1].Time.Truncate(sampleSlot).Equal(s.Time.Truncate(sampleSlot)):
		w.samples[n-1] = s
	default:
		w.samples = append(w.samples, s)
	}
	old := 0
	for old < len(w.samples) && s.Time.Sub(w.samples[old].Time) > ChartWindow {
		old++
	}
	if old > 0 {
		w.samples = slices.Delete(w.samples, 0, old)
	}
}

func (w *watch) lagStartLocked(e ctxguard.Event, cause string, now time.Time) {
	k := entryKey{e.Name, e.Scope, e.Site}
	st := w.lags[k]
	if st == nil {
		if len(w.lags) >= maxLagEntries {
			return
		}
		st = &lagState{causes: make(map[string]int)}
		w.lags[k] = st
	}
	st.updated = now
	i, _ := slices.BinarySearchFunc(st.known, e.Ended, func(l knownLag, t time.Time) int { return l.ended.Compare(t) })
	if i < maxKnownLags {
		st.known = slices.Insert(st.known, i, knownLag{e.ID, e.Ended})
		st.known = st.known[:min(len(st.known), maxKnownLags)]
	}
	if _, ok := st.causes[cause]; !ok && len(st.causes) >= maxCauses {
		cause = otherCauses
	}
	st.causes[cause]++
}

func (w *watch) lateExitLocked(e ctxguard.Event, cause string) {
	k := entryKey{e.Name, e.Scope, e.Site}
	st := w.lags[k]
	if st == nil {
		return // it began to lag before the handler observed, or beyond maxLagEntries
	}
	st.known = slices.DeleteFunc(st.known, func(l knownLag) bool { return l.id == e.ID })
	if _, ok := st.causes[cause]; !ok {
		cause = otherCauses
	}
	if st.causes[cause] > 0 {
		if st.causes[cause]--; st.causes[cause] == 0 {
			delete(st.causes, cause)
		}
	}
	if len(st.known) == 0 && len(st.causes) == 0 {
		delete(w.lags, k)
	}
}

// pruneLocked forgets the lags of entries that the Snapshot s, begun at
// start, shows with none lagging, unless an event came after start: their
// LateExit events were dropped, or they left the Snapshot's bounds.
func (w *watch) pruneLocked(s *ctxguard.Snapshot, start time.Time) {
	lagging := make(map[entryKey]bool)
	for _, g := range s.Goroutines {
		if g.Lagging > 0 {
			lagging[entryKey{g.Name, g.Scope, g.Site}] = true
		}
	}
	for k, st := range w.lags {
		if !lagging[k] && st.updated.Before(start) {
			delete(w.lags, k)
		}
	}
}

// addEventLocked keeps ev in the ring, or counts it in the newest event
// if it is alike and close.
func (w *watch) addEventLocked(ev Event) {
	if n := len(w.events); w.full || w.head > 0 {
		last := &w.events[(w.head+n-1)%n]
		if alike(last, &ev) && ev.Time.Sub(last.Time) <= coalesceWithin {
			last.Count++
			last.Time = ev.Time
			last.DelaySeconds = max(last.DelaySeconds, ev.DelaySeconds)
			return
		}
	}
	w.events[w.head] = ev
	w.head++
	if w.head == len(w.events) {
		w.head, w.full = 0, true
	}
}

func alike(a, b *Event) bool {
	return a.Kind == b.Kind && a.Name == b.Name && a.Scope == b.Scope && a.Site == b.Site &&
		a.Cause == b.Cause && a.Value == b.Value && a.BlockedAt == b.BlockedAt
}

// recentLocked returns the events that pass f, newest first.
func (w *watch) recentLocked(f Filter) []Event {
	out := []Event{}
	n := len(w.events)
	count := w.head
	if w.full {
		count = n
	}
	for i := 1; i <= count; i++ {
		ev := w.events[(w.head-i+n)%n]
		if f.match(ev.Scope, ev.Name) {
			out = append(out, ev)
		}
	}
	return out
}

// lagOfLocked returns when the context of the oldest known lagging
// goroutine of k ended, and its causes.
func (w *watch) lagOfLocked(k entryKey) (oldest time.Time, causes []CauseCount) {
	causes = []CauseCount{}
	st := w.lags[k]
	if st == nil {
		return time.Time{}, causes
	}
	if len(st.known) > 0 {
		oldest = st.known[0].ended
	}
	for c, n := range st.causes {
		causes = append(causes, CauseCount{c, n})
	}
	slices.SortFunc(causes, func(a, b CauseCount) int {
		if (a.Cause == otherCauses) != (b.Cause == otherCauses) {
			if a.Cause == otherCauses {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Cause, b.Cause))
	})
	return oldest, causes
}

// eventOf is the page's form of e. It formats the cause and the panic
// value, which may run the program's methods; a panic in them is
// contained and said so.
func eventOf(e ctxguard.Event) Event {
	ev := Event{
		Kind: e.Kind.String(), Time: e.Time, FirstTime: e.Time, Count: 1,
		Name: e.Name, Scope: e.Scope, Site: siteOf(e.Site),
	}
	if e.Kind == ctxguard.EventLagStart || e.Kind == ctxguard.EventLateExit {
		ev.DelaySeconds = e.Delay().Seconds()
	}
	if e.Cause != nil {
		ev.Cause = format(func() string { return e.Cause.Error() })
	}
	if e.Value != nil {
		ev.Value = format(func() string { return fmt.Sprint(e.Value) })
	}
	if e.BlockedAt != nil {
		ev.BlockedAt = e.BlockedAt.String()
	}
	return ev
}

// format returns f's string, cut to ctxguard.MaxLabelBytes, or a note if
// f panics.
func format(f func() string) (s string) {
	defer func() {
		if recover() != nil {
			s = "(panicked while formatting)"
		}
	}()
	return labels.Truncate(f())
}
