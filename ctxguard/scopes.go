package ctxguard

import (
	"cmp"
	"log/slog"
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// Scopes: what a Monitor keeps per scope (a route, an RPC method), for
// admission control in the middleware.
//
// Each scope has one scopeState, shared by every context of that scope: the
// number of its goroutines lagging now (handlers and the goroutines they
// spawned), kept as they lag and return, so that the middleware reads it
// in one atomic load per request; and the requests the middleware turned
// away because that number reached its limit. Beyond MaxSites scopes, one
// overflow state counts for all the others, which are then limited as one.

// A ScopeStats is what a Snapshot says of one scope.
type ScopeStats struct {
	// Scope is the scope's name; OverflowName for the scopes
	// beyond Config.MaxSites, counted together.
	Scope string
	// Lagging is the number of the scope's goroutines lagging now: request
	// handlers still running after their request ended, and goroutines
	// spawned under the request, past their grace.
	Lagging int
	// Shed counts the requests that middleware with a lagging limit
	// (httpguard.WithLaggingLimit, grpcguard.WithLaggingLimit) turned away
	// for this scope.
	Shed uint64
	// Shedding reports whether the scope is turning requests away now, and
	// SheddingSince since when.
	Shedding      bool
	SheddingSince time.Time
}

// scopeState is one scope's counts.
type scopeState struct {
	name    string
	lagging atomic.Int64  // goroutines lagging now
	shed    atomic.Uint64 // requests turned away, ever
	// shedding is set by the first request turned away and cleared once
	// lagging falls below the limit; the rest is guarded by Monitor.mu.
	shedding      atomic.Bool
	since         time.Time
	limit         int64
	laggingAtShed int64  // when shedding started: is the count falling?
	shedAtStart   uint64 // shed when shedding started
	reported      uint64 // shed as of the last record
	starts, stops int    // shedding episodes not reported yet
	// Episodes are logged one at a time at most once per ReportInterval;
	// those in between are counted here and logged together when
	// episodesDue comes.
	episodesDue           time.Time
	startLogged           bool // the episode going on was logged at its start: its end is too
	heldStarts, heldStops int
	reporting
	dirty bool // listed in Monitor.dirtyScopes
}

// Lagging returns the number of the scope's goroutines lagging now: one
// atomic load.
func (tr *tracking) Lagging() int64 { return tr.state.lagging.Load() }

// Shed counts a request that middleware turned away because the scope's
// lagging count reached limit, and returns how long the client should wait
// before retrying: a second if the count has fallen since the scope
// started shedding (lagging goroutines are returning), else the grace.
func (tr *tracking) Shed(limit int, grace time.Duration) (retryAfter time.Duration) {
	st, m := tr.state, tr.m
	st.shed.Add(1)
	if grace <= 0 {
		grace = m.cfg.Grace
	}
	if st.shedding.Load() {
		m.mu.Lock()
		falling := st.lagging.Load() < st.laggingAtShed
		m.mu.Unlock()
		if falling {
			return time.Second
		}
		return max(grace, time.Second)
	}
	m.mu.Lock()
	// The count may have fallen below limit since the caller read it: a
	// lagging goroutine returned. Then no return is left to end an
	// episode started now, so none starts; the request is still counted.
	if !st.shedding.Load() && st.lagging.Load() >= int64(limit) {
		st.shedding.Store(true)
		st.since, st.limit = time.Now(), int64(limit)
		st.laggingAtShed, st.shedAtStart = st.lagging.Load(), st.shed.Load()-1
		st.starts++
	}
	m.dirtyScopeLocked(st) // the request turned away is logged either way
	m.mu.Unlock()
	m.wakeLoop()
	if m.run.Load() == nil && !m.foreign() {
		m.startLoop() // to log it, and to see the scope recover
	}
	return max(grace, time.Second)
}

// Admitted tells the scope that middleware let a request through: if it
// was shedding and its lagging count is below limit, it has recovered.
func (tr *tracking) Admitted(limit int) {
	if tr.state.shedding.Load() {
		tr.m.mu.Lock()
		tr.m.recoverLocked(tr.state, int64(limit))
		tr.m.mu.Unlock()
	}
}

// recoverLocked ends st's shedding if its lagging count is below limit (or
// st's own limit if limit is 0). The caller holds m.mu.
func (m *Monitor) recoverLocked(st *scopeState, limit int64) {
	if limit == 0 {
		limit = st.limit
	}
	if st.shedding.Load() && st.lagging.Load() < limit {
		st.shedding.Store(false)
		st.stops++
		m.dirtyScopeLocked(st)
	}
}

// laggingChanged moves g's scope's lagging count by delta, as g lags or
// returns late; a scope shedding may recover. The caller holds m.mu.
func (m *Monitor) laggingChangedLocked(g *goroutine, delta int64) {
	st := g.tr().state
	st.lagging.Add(delta)
	if delta < 0 {
		m.recoverLocked(st, 0)
	}
}

func (m *Monitor) dirtyScopeLocked(st *scopeState) {
	m.news = true
	if !st.dirty {
		st.dirty = true
		m.dirtyScopes = append(m.dirtyScopes, st)
	}
}

// Log messages of scope records.
const (
	msgShedding  = "ctxguard: route turning requests away: too many of its goroutines still running after their requests ended"
	msgRecovered = "ctxguard: route taking requests again"
	msgEpisodes  = "ctxguard: route turned requests away again, more times since its last record"
	msgShed      = "ctxguard: requests turned away"
)

// reportScopesLocked adds the records of shedding scopes to out: a start
// at once, and the recovery that ends it, at most once per ReportInterval
// per scope; the episodes that start in between are counted and logged in
// one record when that interval is out; the count of requests turned away
// at most once per ReportInterval. It returns when the earliest record it
// held back is due, zero if none. The caller holds m.mu.
func (m *Monitor) reportScopesLocked(now time.Time, flush bool, out []logRecord) ([]logRecord, time.Time) {
	var next time.Time
	keep := m.dirtyScopes[:0]
	for _, st := range m.dirtyScopes {
		shed := st.shed.Load()
		for ; st.starts > 0; st.starts-- {
			if now.Before(st.episodesDue) {
				st.heldStarts++
				st.startLogged = false
				continue
			}
			out = append(out, logRecord{level: slog.LevelWarn, msg: msgShedding, count: 1,
				attrs: []slog.Attr{slog.String("scope", st.name), slog.Int64("lagging", st.lagging.Load()),
					slog.Int64("limit", st.limit)}})
			st.episodesDue, st.startLogged = now.Add(m.cfg.ReportInterval), true
		}
		for ; st.stops > 0; st.stops-- {
			if !st.startLogged {
				st.heldStops++
				continue
			}
			out = append(out, logRecord{level: slog.LevelInfo, msg: msgRecovered, count: 1,
				attrs: []slog.Attr{slog.String("scope", st.name), slog.Uint64("shed", shed-st.shedAtStart),
					slog.Duration("after", now.Sub(st.since).Round(time.Millisecond))}})
			st.startLogged = false
		}
		if st.heldStarts+st.heldStops > 0 && (flush || !now.Before(st.episodesDue)) {
			out = append(out, logRecord{level: slog.LevelWarn, msg: msgEpisodes, count: uint64(st.heldStarts),
				attrs: []slog.Attr{slog.String("scope", st.name), slog.Int("episodes", st.heldStarts),
					slog.Int("recoveries", st.heldStops), slog.Bool("shedding", st.shedding.Load()),
					slog.Int64("lagging", st.lagging.Load()), slog.Int64("limit", st.limit)}})
			st.heldStarts, st.heldStops = 0, 0
			st.episodesDue = now.Add(m.cfg.ReportInterval)
		}
		if shed > st.reported && (flush || st.due(now)) {
			out = append(out, logRecord{level: slog.LevelWarn, msg: msgShed, count: shed - st.reported,
				attrs: []slog.Attr{slog.String("scope", st.name), slog.Uint64("count", shed-st.reported),
					slog.Uint64("total", shed)}})
			st.reported = shed
			st.logNow(now, m.cfg.ReportInterval)
		}
		held := st.heldStarts+st.heldStops > 0
		st.dirty = shed > st.reported || st.shedding.Load() || held
		if st.dirty {
			keep = append(keep, st)
			if shed > st.reported && (next.IsZero() || st.nextLog.Before(next)) {
				next = st.nextLog
			}
			if held && (next.IsZero() || st.episodesDue.Before(next)) {
				next = st.episodesDue
			}
		}
	}
	clear(m.dirtyScopes[len(keep):])
	m.dirtyScopes = keep
	return out, next
}

// scopeStatsLocked lists the scopes with lagging goroutines or requests
// turned away, most lagging first. The caller holds m.mu.
func (m *Monitor) scopeStatsLocked() []ScopeStats {
	var out []ScopeStats
	add := func(st *scopeState) {
		lagging, shed := st.lagging.Load(), st.shed.Load()
		if lagging == 0 && shed == 0 {
			return
		}
		s := ScopeStats{Scope: st.name, Lagging: int(min(lagging, math.MaxInt)), Shed: shed, Shedding: st.shedding.Load()}
		if s.Shedding {
			s.SheddingSince = st.since
		}
		out = append(out, s)
	}
	add(m.unscoped.state)
	m.scopes.Range(func(_ string, tr *tracking) { add(tr.state) })
	add(&m.overflowScope)
	slices.SortFunc(out, func(a, b ScopeStats) int {
		return cmp.Or(cmp.Compare(b.Lagging, a.Lagging), cmp.Compare(b.Shed, a.Shed), cmp.Compare(a.Scope, b.Scope))
	})
	return out
}

// tracking is what a context carries for ctxguard: the Monitor and the
// scope. One key holds both, so spawning costs a single ctx.Value lookup.
type tracking struct {
	m     *Monitor // never nil
	scope string
	state *scopeState // the scope's counts, shared beyond MaxSites scopes
}

type trackingKey struct{}

func trackingOf(ctx Context) *tracking {
	tr, _ := ctx.Value(trackingKey{}).(*tracking)
	return tr
}

// monitor returns the tracking's Monitor, Default if tr is nil.
func (tr *tracking) monitor() *Monitor {
	if tr == nil {
		return Default()
	}
	return tr.m
}
