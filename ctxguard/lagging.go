package ctxguard

import (
	"log/slog"
	"runtime/trace"
	"sync"
	"time"
)

// Lag state changes: what the Monitor records when a tracked goroutine
// becomes lagging (scan.go finds it), returns late, or panics. The
// statistics entries they update are in stats.go; the records and events
// they lead to are written by report.go and the observers.

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
	x.g.ctx = nil // see goroutine.ctx
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
