package ctxguard

import (
	"log/slog"
	"runtime/trace"
	"slices"
	"sync"
	"time"
)

// goroutineStats counts the events of one goroutine name and spawn site.
// Guarded by Monitor.mu.
type goroutineStats struct {
	name, scope string
	lazySite

	lagged, lateExits, panics uint64
	laggingNow                int // its goroutines lagging now
	// oldestEnded is when the context of its goroutine lagging longest
	// ended (UnixNano), while laggingNow > 0, unless oldestStale: that
	// goroutine returned, and the next Snapshot works it out again.
	oldestEnded        int64
	oldestStale        bool
	delaySum, delayMax time.Duration // over late exits
	delays             [len(exitDelayBounds) + 1]uint64

	// where the lagging goroutines are blocked, as captured
	blocked        map[blockedKey]*blockedCount
	blockedOmitted int // lagging goroutines blocked elsewhere, beyond maxBlockedAt

	// since the last report
	newLagged, newLateExits uint64
	newDelayMax             time.Duration
	lastCause               string        // of the last goroutine that lagged
	lastGrace               time.Duration // of the last goroutine that lagged
	blockedChanged          bool          // blocked gained a goroutine

	lagLog, exitLog reporting // when its records of each kind are due
	followedUp      bool      // where it is blocked was logged once
	dirty           bool      // listed in Monitor.dirty
}

// goroutineStatsKey identifies a statistics entry.
type goroutineStatsKey struct {
	name, scope string
	site        uintptr
}

// statsLocked returns the entry for g, or the overflow entry beyond
// MaxSites. The caller holds m.mu.
func (m *Monitor) statsLocked(g *goroutine) *goroutineStats {
	return m.goroutineStats.get(goroutineStatsKey{g.name(), g.scopeName(), g.site()}, newGoroutineStats)
}

func newGoroutineStats(k goroutineStatsKey, overflow bool) *goroutineStats {
	if overflow {
		return &goroutineStats{name: OverflowName, lazySite: overflowSite}
	}
	return &goroutineStats{name: k.name, scope: k.scope, lazySite: lazySite{pc: k.site}}
}

// recordLagging is called by scan, off every lock, for the goroutines it
// just found lagging.
func (m *Monitor) recordLagging(gs []*goroutine, now int64) {
	ids := make([]uint64, len(gs)) // the Event.ID of each one's events
	for i := range ids {
		m.lastLagID++
		ids[i] = m.lastLagID
	}
	causes := make([]error, len(gs)) // asked once: user code, on the loop
	for i, g := range gs {
		causes[i] = m.cause(g.ctx)
	}
	if trace.IsEnabled() {
		m.traceLagging(gs, ids, causes, now)
	}
	texts := make([]string, len(gs))
	for i, err := range causes {
		texts[i] = m.errorText(err)
	}
	m.mu.Lock()
	m.lagged.Add(uint64(len(gs)))
	for i, g := range gs {
		s := m.statsLocked(g)
		s.lagged++
		s.newLagged++
		_, returned := m.returnedUnrecorded[g]
		if returned {
			delete(m.returnedUnrecorded, g)
		} else {
			s.laggingNow++
			m.laggingChangedLocked(g, 1)
			if s.laggingNow == 1 {
				s.oldestEnded, s.oldestStale = g.endedAt, false
			} else if g.endedAt < s.oldestEnded {
				s.oldestEnded = g.endedAt
			}
		}
		s.lastCause = texts[i]
		s.lastGrace = g.grace()
		m.lagging[g] = &lagRecord{id: ids[i], stats: s, counted: !returned}
		m.unknownStacks++
		if g.opts != nil {
			m.groupLagging.add(g.opts.Group, s, 1)
		}
		m.dirtyLocked(s)
	}
	m.mu.Unlock()
	if !m.observed.Load() {
		return
	}
	events := make([]Event, len(gs))
	for i, g := range gs {
		events[i] = m.event(g, EventLagStart, ids[i], time.Unix(0, now), causes[i])
	}
	m.queue(events...)
}

// uncountLagging takes g, a lagging goroutine that returned, out of the
// lagging counts at once, so that they never count more than are live: the
// rest of its late exit is recorded by the loop.
func (m *Monitor) uncountLagging(g *goroutine) {
	m.mu.Lock()
	if m.lagging[g] == nil {
		// It returned between the scan that marked it lagging and
		// recordLagging: that must not count it.
		m.returnedUnrecorded[g] = struct{}{}
	}
	m.uncountLaggingLocked(g)
	m.mu.Unlock()
}

// uncountLaggingLocked is uncountLagging; the caller holds m.mu. g counts
// until its lag is recorded and either its exit or its late exit comes.
func (m *Monitor) uncountLaggingLocked(g *goroutine) {
	if r := m.lagging[g]; r != nil && r.counted {
		r.counted = false
		r.stats.laggingNow--
		m.laggingChangedLocked(g, -1)
		if r.stats.laggingNow == 0 {
			r.stats.oldestStale = false
		} else if g.endedAt == r.stats.oldestEnded {
			r.stats.oldestStale = true
		}
	}
}

// A lateExit is the return of a lagging goroutine.
type lateExit struct {
	g  *goroutine
	at time.Time
}

// lateExits holds the returns of lagging goroutines for the loop to record.
// The loop records them after the LagStart of the scan that marked them
// lagging, which a goroutine can return before: so statistics, trace tasks
// and events always see a lag start before its late exit.
type lateExits struct {
	mu      sync.Mutex
	pending []lateExit
	stopped bool // the loop has returned: the caller records
}

// lateExit hands x to the loop, or records it at once once the loop has
// stopped (the Monitor is closed).
func (m *Monitor) lateExit(x lateExit) {
	l := &m.lateExits
	l.mu.Lock()
	if !l.stopped {
		l.pending = append(l.pending, x)
		l.mu.Unlock()
		m.wakeLoop()
		return
	}
	l.mu.Unlock()
	m.recordLateExit(x)
}

// recordLateExits records the pending late exits; it runs on the loop.
// With stop, it also makes later late exits record themselves.
func (m *Monitor) recordLateExits(stop bool) {
	l := &m.lateExits
	l.mu.Lock()
	pending := l.pending
	l.pending = nil
	l.stopped = l.stopped || stop
	l.mu.Unlock()
	for _, x := range pending {
		m.recordLateExit(x)
	}
}

// recordLateExit records x; g.endedAt is final, since g was lagging.
func (m *Monitor) recordLateExit(x lateExit) {
	delay := x.at.Sub(time.Unix(0, x.g.endedAt))
	m.mu.Lock()
	s := m.statsLocked(x.g)
	var id uint64
	if r := m.lagging[x.g]; r != nil {
		id = r.id
		if r.info != nil {
			s.removeBlocked(r.info, r.kept)
		} else {
			m.unknownStacks--
		}
		delete(m.lagging, x.g)
	}
	if x.g.opts != nil {
		m.groupLagging.add(x.g.opts.Group, s, -1)
	}
	m.dirtyLocked(s)
	m.uncountLaggingLocked(x.g)
	s.lateExits++
	s.newLateExits++
	s.delaySum += delay
	s.delayMax = max(s.delayMax, delay)
	s.delays[exitDelayBucket(delay)]++
	s.newDelayMax = max(s.newDelayMax, delay)
	m.mu.Unlock()
	m.traceLateExit(x.g, id, delay)
	if m.observed.Load() {
		m.queue(m.event(x.g, EventLateExit, id, x.at, m.cause(x.g.ctx)))
	}
}

// exitDelayBounds are the upper bounds of the exit-delay buckets: from
// well under the default Grace (a goroutine may set its own) to an hour.
var exitDelayBounds = [...]time.Duration{
	50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 5 * time.Minute, 30 * time.Minute, time.Hour,
}

// ExitDelayBounds returns the inclusive upper bounds of the buckets of
// [GoroutineStats.ExitDelays], in increasing order: 50ms to 1h, 13 of
// them. The slice is a fresh copy.
func ExitDelayBounds() []time.Duration { return slices.Clone(exitDelayBounds[:]) }

// exitDelayBucket is the index of the bucket d falls in.
func exitDelayBucket(d time.Duration) int {
	i, _ := slices.BinarySearch(exitDelayBounds[:], d)
	return i
}

// crashWait bounds how long a goroutine whose unrecovered panic is about to
// crash the program waits for the Logger, then for the observers (each up
// to crashWait), to take its record and event: a blocked handler must not keep the panic from
// crashing the program, as under a go statement.
const crashWait = 200 * time.Millisecond

// recordPanic is called on the panicking goroutine. An unrecovered panic is
// logged and delivered at once, if the Logger and observers take it within
// crashWait: the program is about to crash.
func (m *Monitor) recordPanic(g *goroutine, v any, crashing bool) {
	m.panics.Add(1)
	m.mu.Lock()
	s := m.statsLocked(g)
	s.panics++
	site := s.resolve()
	m.mu.Unlock()
	if !crashing {
		if m.observed.Load() {
			e := m.event(g, EventPanic, 0, time.Now(), m.cause(g.ctx))
			e.Value = v
			m.queue(e)
		}
		return
	}
	m.logs.putAndWait(logRecord{level: slog.LevelError, msg: "ctxguard: tracked goroutine panicked",
		attrs: []slog.Attr{slog.String("name", g.name()), slog.String("scope", g.scopeName()),
			slog.String("site", site.String())}}, crashWait)
	if m.observed.Load() {
		m.events.putAndWait(m.event(g, EventPanic, 0, time.Now(), m.cause(g.ctx)), crashWait)
	}
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
