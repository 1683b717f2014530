package ctxguard

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Reports: what the Monitor logs.
//
// Each statistics entry (a goroutine name, scope and spawn site) and each
// cancel func creation site logs the first event of each kind (lag, late
// exit, drop) at once: the loop writes the record in the scan that found a
// lag, or as soon as a finalizer reports a drop. Later events of the
// same site and kind are aggregated, at most one record per site and kind
// every ReportInterval, so the number of records depends on the number of
// sites, never on the number of events. Where a site's lagging goroutines
// are blocked follows in a record of its own when their stacks are first
// captured, and is repeated in later records. One round writes at most
// maxReportLines records of each kind, plus one per message summing the
// sites left over. The loop
// does not return while a record is held back: it writes it when due.

// Log messages, one per kind of record.
const (
	msgLagging  = "ctxguard: goroutines still running after their context ended"
	msgBlocked  = "ctxguard: where lagging goroutines are blocked"
	msgReturned = "ctxguard: lagging goroutines returned"
	msgDropped  = "ctxguard: cancel funcs dropped without being called"
)

// reporting is when a site's next record of one kind is due. Guarded by
// Monitor.mu.
type reporting struct {
	logged  bool      // a record was written
	nextLog time.Time // records are held back until then
}

// due reports whether a site with news of this kind may log at now.
func (r *reporting) due(now time.Time) bool {
	return !r.logged || !now.Before(r.nextLog)
}

func (r *reporting) logNow(now time.Time, interval time.Duration) {
	r.logged, r.nextLog = true, now.Add(interval)
}

// dirtyLocked lists s for the next report round. The caller holds m.mu.
func (m *Monitor) dirtyLocked(s *goroutineStats) {
	m.news = true
	if !s.dirty {
		s.dirty = true
		m.dirty = append(m.dirty, s)
	}
}

// dirtyCancelLocked lists a cancel site for the next report round.
func (m *Monitor) dirtyCancelLocked(s *siteStats) {
	m.news = true
	if !s.dirty {
		s.dirty = true
		m.dirtyCancels = append(m.dirtyCancels, s)
	}
}

// A logRecord is one record to log.
type logRecord struct {
	level slog.Level
	msg   string
	attrs []slog.Attr
	// order: records of waiting goroutines after those they wait for,
	// then most events first
	waiting bool
	count   uint64
	site    Site
}

// report logs the records due at now; with flush, every pending one. It
// returns when the earliest record it held back is due, zero if none.
func (m *Monitor) report(now time.Time, flush bool) (next time.Time) {
	r := reportRound{now: now, flush: flush, interval: m.cfg.ReportInterval}
	m.mu.Lock()
	m.news = false
	lags, returns := m.goroutineRecordsLocked(&r)
	drops := m.cancelRecordsLocked(&r)
	scopes, scopesNext := m.reportScopesLocked(now, flush, nil)
	r.holdUntil(scopesNext)
	m.mu.Unlock()
	m.logRecords(lags)
	m.logRecords(returns)
	m.logRecords(drops)
	m.logRecords(scopes)
	return r.next
}

// A reportRound is one call of report: what it may log, and when the
// earliest record it holds back is due.
type reportRound struct {
	now      time.Time
	flush    bool // log every pending record
	interval time.Duration
	next     time.Time
}

// holdUntil notes that a record is held back until t (if not zero).
func (r *reportRound) holdUntil(t time.Time) {
	if !t.IsZero() && (r.next.IsZero() || t.Before(r.next)) {
		r.next = t
	}
}

// goroutineRecordsLocked returns the records due of the entries with news:
// lags and where they are blocked, and late exits. Entries with news held
// back stay listed. The caller holds m.mu.
func (m *Monitor) goroutineRecordsLocked(r *reportRound) (lags, returns []logRecord) {
	keep := m.dirty[:0]
	for _, s := range m.dirty {
		site := s.resolve()
		if rec, ok := m.lagRecordLocked(s, site, r); ok {
			lags = append(lags, rec)
		}
		if s.newLateExits > 0 && (r.flush || s.exitLog.due(r.now)) {
			returns = append(returns, s.returnRecord(site))
			s.exitLog.logNow(r.now, r.interval)
			s.newLateExits, s.newDelayMax = 0, 0
		}
		if s.newLagged > 0 || s.blockedChanged {
			r.holdUntil(s.lagLog.nextLog)
		}
		if s.newLateExits > 0 {
			r.holdUntil(s.exitLog.nextLog)
		}
		s.dirty = s.newLagged > 0 || s.blockedChanged || s.newLateExits > 0
		if s.dirty {
			keep = append(keep, s)
		}
	}
	clear(m.dirty[len(keep):])
	m.dirty = keep
	return lags, returns
}

// entryAttrs are the attributes every record of an entry carries.
func (s *goroutineStats) entryAttrs(site Site) []slog.Attr {
	return []slog.Attr{
		slog.String("site", site.String()), slog.String("function", site.Function),
		slog.String("name", s.name), slog.String("scope", s.scope),
	}
}

// lagRecordLocked returns the lag record of entry s due in round r, if
// any: new lagging goroutines (with where they are blocked, once known),
// or where the ones just logged are blocked, which follows at once, once.
// The caller holds m.mu.
func (m *Monitor) lagRecordLocked(s *goroutineStats, site Site, r *reportRound) (logRecord, bool) {
	blocked := m.blockedAtLocked(s, false)
	waiting := len(blocked) > 0 && blocked[0].Waiting()
	due := r.flush || s.lagLog.due(r.now)
	switch {
	case s.newLagged > 0 && due:
		a := append(s.entryAttrs(site), slog.Uint64("count", s.newLagged), slog.Uint64("total", s.lagged),
			slog.String("cause", s.lastCause), slog.Duration("grace", s.lastGrace))
		if !s.lagLog.logged {
			if path := m.traceFirstLag(r.now, site); path != "" {
				a = append(a, slog.String("trace", path))
			}
		}
		rec := logRecord{level: slog.LevelWarn, msg: msgLagging,
			attrs: appendBlocked(a, blocked, s.blockedOmitted), waiting: waiting, count: s.newLagged, site: site}
		s.lagLog.logNow(r.now, r.interval)
		s.newLagged, s.blockedChanged = 0, false
		s.followedUp = s.followedUp || len(blocked) > 0
		return rec, true
	case s.blockedChanged && len(blocked) > 0 && (due || !s.followedUp):
		rec := logRecord{level: slog.LevelWarn, msg: msgBlocked,
			attrs: appendBlocked(s.entryAttrs(site), blocked, s.blockedOmitted), waiting: waiting, site: site}
		if due {
			s.lagLog.logNow(r.now, r.interval)
		}
		s.blockedChanged, s.followedUp = false, true
		return rec, true
	case s.blockedChanged && len(blocked) == 0:
		s.blockedChanged = false // those goroutines have returned
	}
	return logRecord{}, false
}

// returnRecord is the record of s's late exits since its last one.
func (s *goroutineStats) returnRecord(site Site) logRecord {
	a := append(s.entryAttrs(site), slog.Uint64("count", s.newLateExits), slog.Uint64("total", s.lateExits),
		slog.Duration("max_delay", s.newDelayMax))
	return logRecord{level: slog.LevelWarn, msg: msgReturned, attrs: a, count: s.newLateExits, site: site}
}

// cancelRecordsLocked returns the records due of the cancel sites with
// dropped cancels; those held back stay listed. The caller holds m.mu.
func (m *Monitor) cancelRecordsLocked(r *reportRound) (drops []logRecord) {
	keep := m.dirtyCancels[:0]
	for _, s := range m.dirtyCancels {
		if !r.flush && !s.due(r.now) {
			r.holdUntil(s.nextLog)
			keep = append(keep, s)
			continue
		}
		s.dirty = false
		site := s.resolve()
		drops = append(drops, logRecord{level: slog.LevelWarn, msg: msgDropped, count: s.unreported, site: site,
			attrs: []slog.Attr{
				slog.String("site", site.String()), slog.String("function", site.Function),
				slog.Uint64("count", s.unreported), slog.Uint64("total", s.total),
				slog.Int("sample_rate", m.cfg.CancelSampleRate),
			}})
		s.unreported = 0
		s.logNow(r.now, r.interval)
	}
	clear(m.dirtyCancels[len(keep):])
	m.dirtyCancels = keep
	return drops
}

// appendBlocked adds where lagging goroutines are blocked to attrs, each
// location as "fn at file:line (reason) xN", fn the blocking function's
// name as a goroutine dump shows it, less the package path's directories
// (worker.drain, main.(*app).slow.func1).
func appendBlocked(attrs []slog.Attr, blocked []BlockedAt, omitted int) []slog.Attr {
	if len(blocked) == 0 {
		return attrs
	}
	at := make([]string, len(blocked))
	for i, b := range blocked {
		fn := b.Site.Function
		if slash := strings.LastIndexByte(fn, '/'); slash >= 0 {
			fn = fn[slash+1:]
		}
		at[i] = fn + " at " + b.String() + " x" + strconv.Itoa(b.Count)
	}
	attrs = append(attrs, slog.Any("blocked_at", at))
	if omitted > 0 {
		attrs = append(attrs, slog.Int("blocked_at_omitted", omitted))
	}
	return attrs
}

// logRecords writes records of one kind: goroutines that others wait for
// first, then most events first, at most maxReportLines of them; the rest
// are summed, one record per message.
func (m *Monitor) logRecords(records []logRecord) {
	if len(records) == 0 {
		return
	}
	slices.SortFunc(records, func(a, b logRecord) int {
		if a.waiting != b.waiting {
			if a.waiting {
				return 1
			}
			return -1
		}
		return bySiteCount(a.site, a.count, b.site, b.count)
	})
	if len(records) > maxReportLines {
		records = append(records[:maxReportLines:maxReportLines], summed(records[maxReportLines:])...)
	}
	m.logs.put(records...)
}

// summed sums records into one per message, in the order their messages
// first come: the sites left over from a round, whose records of one
// kind may have different messages (a lag and where lagging goroutines
// are blocked; a route shedding and one recovering), which one record
// would mislabel and whose counts it would add up. Each has the highest
// level of the records it sums.
func summed(records []logRecord) []logRecord {
	type sum struct {
		level slog.Level
		msg   string
		sites int
		count uint64
	}
	var sums []sum
	for _, r := range records {
		i := slices.IndexFunc(sums, func(s sum) bool { return s.msg == r.msg })
		if i < 0 {
			sums = append(sums, sum{level: r.level, msg: r.msg})
			i = len(sums) - 1
		}
		sums[i].level = max(sums[i].level, r.level)
		sums[i].sites++
		sums[i].count += r.count
	}
	out := make([]logRecord, len(sums))
	for i, s := range sums {
		out[i] = logRecord{level: s.level, msg: s.msg,
			attrs: []slog.Attr{slog.Int("more_sites", s.sites), slog.Uint64("count", s.count)}}
	}
	return out
}

// maxPendingLogRecords bounds the records waiting for the Logger; beyond
// it records are dropped and counted in Snapshot.LogRecordsDropped.
const maxPendingLogRecords = 1024

// logOne writes one record, on the Logger's goroutine (see outbox). The
// Logger is the one configured, else slog.Default() as of now.
func (m *Monitor) logOne(r logRecord) {
	defer func() {
		if recover() != nil {
			m.loggerPanics.Add(1)
		}
	}()
	m.logger().LogAttrs(context.Background(), r.level, r.msg, r.attrs...)
}
