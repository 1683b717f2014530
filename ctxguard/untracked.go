package ctxguard

import (
	"cmp"
	"log/slog"
	"runtime"
	"slices"
	"time"
)

// The whole process: goroutines ctxguard does not track.
//
// With Config.WatchUntracked, the Monitor's stack captures (capture.go)
// also group the goroutines that run without a record (started by a go
// statement, by a library, by the standard library) by the function they
// started with and the place they are blocked at, as Uber's LeakProf does
// with goroutine profiles: a leak shows as a group that keeps growing. A
// group is listed in Snapshot.Untracked once it holds Config.UntrackedMin
// goroutines or some of them are proven leaked (leakcheck.go).
//
// A pool of connections or workers is such a group too, as large as its
// load makes it, so size alone is not worth a log line: a group is logged
// when it has doubled since it was first listed (or since its last
// record), and when goroutines of it are newly proven leaked. A bounded
// pool logs at most a few records in its life; a leak, which grows without
// bound, logs at each doubling, so its records stay few (logarithmic in
// its size) however long it runs.

// An UntrackedStats is a group of goroutines ctxguard does not track that
// started with the same function and are blocked at the same place.
type UntrackedStats struct {
	// Start is the function the goroutines started with, at the line of
	// its declaration: for a function literal started by a go statement,
	// the go statement's line.
	Start Site
	// BlockedAt is where they are blocked, as for tracked goroutines; its
	// Count is the group's.
	BlockedAt BlockedAt
	// Count is how many goroutines of the group there were at the
	// Monitor's last look (Snapshot.UntrackedAt).
	Count int
	// Leaked counts those of them the goroutine leak profile proved can
	// never resume, at the last check (Snapshot.LeakCheckAt): they are
	// blocked on channels or locks nothing reachable can signal. Always 0
	// without the profile (see LeakProfileAvailable).
	Leaked int
}

// DefaultUntrackedMin is the fewest untracked goroutines blocked at one
// place that make a group worth listing: a hundred is more than a
// program's own long-lived goroutines of one kind, and fewer than a leak
// of one per request makes within minutes.
const DefaultUntrackedMin = 100

// maxUntrackedKeys bounds the distinct groups one look tells apart, per
// Config.MaxSites: goroutines of groups beyond it are counted in
// Snapshot.UntrackedOmitted.
const maxUntrackedKeys = 10

// An untrackedKey identifies a group.
type untrackedKey struct {
	start  uintptr // entry of the function the goroutines started with
	at     Site
	reason string
}

// untrackedCount is a group as one look counts it.
type untrackedCount struct {
	count, leaked int
	info          *stackInfo
}

// untrackedGroup is a listed group across looks. Guarded by Monitor.mu.
type untrackedGroup struct {
	stats      UntrackedStats
	base       int // its count when first listed, or at its last record
	leakedSeen int // its Leaked at its last record
	checked    int // its count at the last leak check that saw it
}

// untracked is the Monitor's view of untracked goroutines. Guarded by
// Monitor.mu.
type untracked struct {
	groups  map[untrackedKey]*untrackedGroup
	live    int // untracked goroutines at the last look
	omitted int
	at      time.Time // of the last look
}

// untrackedGrouper counts untracked goroutines by group during a capture.
type untrackedGrouper struct {
	max    int // distinct groups told apart
	counts map[untrackedKey]*untrackedCount
	live   int
	others int // goroutines of groups beyond max
}

func newUntrackedGrouper(maxSites int) *untrackedGrouper {
	return &untrackedGrouper{max: maxUntrackedKeys * maxSites, counts: make(map[untrackedKey]*untrackedCount)}
}

// add counts a goroutine of stack (innermost first), and returns its
// group's count, nil beyond the bound.
func (u *untrackedGrouper) add(stack []uintptr, s *symbolizer, fk *frameKinds) *untrackedCount {
	u.live++
	if len(stack) == 0 {
		return nil
	}
	info := s.info(stack, 0)
	k := untrackedKey{start: fk.startEntry(stack), at: info.at, reason: info.reason}
	c := u.counts[k]
	if c == nil {
		if len(u.counts) >= u.max {
			u.others++
			return nil
		}
		c = &untrackedCount{info: info}
		u.counts[k] = c
	}
	c.count++
	return c
}

// startEntry returns the entry of the function a goroutine of stack
// started with: its outermost frame, less runtime.goexit.
func (fk *frameKinds) startEntry(stack []uintptr) uintptr {
	i := len(stack) - 1
	if i > 0 && fk.kind(stack[i]).goexit {
		i--
	}
	return fk.kind(stack[i]).entry
}

// startSite is the function whose code starts at entry, at its
// declaration's line.
func startSite(entry uintptr) Site {
	f := runtime.FuncForPC(entry)
	if f == nil {
		return Site{Function: "(unknown)"}
	}
	file, line := f.FileLine(entry)
	return frameSite(runtime.Frame{Function: f.Name(), File: file, Line: line})
}

// lookedUntracked applies the untracked groups of a capture that started
// at start, and returns the records to log for groups that doubled or
// have newly leaked goroutines; leakChecked says the capture ran the leak
// profile. A capture that started before the one last applied (the loop's
// and CheckLeaks' may overlap) is dropped. A listed group stays listed
// while it holds half of UntrackedMin (so that a pool about that size is
// not listed, and checked for leaks, anew at every look), and while it has
// goroutines proven leaked: a look without a leak check keeps the last
// check's count of them.
func (m *Monitor) lookedUntracked(u *untrackedGrouper, leakChecked bool, start time.Time) []logRecord {
	m.mu.Lock()
	defer m.mu.Unlock()
	w := &m.untracked
	if start.Before(w.at) {
		return nil
	}
	least := m.cfg.UntrackedMin
	type listed struct {
		k      untrackedKey
		c      *untrackedCount
		leaked int
	}
	var list []listed
	for k, c := range u.counts {
		leaked, old := c.leaked, w.groups[k]
		if !leakChecked {
			leaked = 0
			if old != nil {
				leaked = min(old.stats.Leaked, c.count) // they never resume
			}
		}
		if c.count >= least || leaked > 0 || (old != nil && 2*c.count >= least) {
			list = append(list, listed{k, c, leaked})
		}
	}
	slices.SortFunc(list, func(a, b listed) int {
		return cmp.Or(cmp.Compare(b.leaked, a.leaked), cmp.Compare(b.c.count, a.c.count),
			cmp.Compare(a.k.at.String(), b.k.at.String()), cmp.Compare(a.k.start, b.k.start))
	})
	omitted := u.others
	if len(list) > m.cfg.MaxSites {
		for _, l := range list[m.cfg.MaxSites:] {
			omitted += l.c.count
		}
		list = list[:m.cfg.MaxSites]
	}
	var records []logRecord
	old := w.groups
	w.groups = make(map[untrackedKey]*untrackedGroup, len(list))
	w.live, w.omitted, w.at = u.live, omitted, start
	for _, l := range list {
		g := old[l.k]
		if g == nil {
			g = &untrackedGroup{base: l.c.count}
			g.stats = UntrackedStats{Start: startSite(l.k.start),
				BlockedAt: BlockedAt{Site: l.k.at, Reason: l.k.reason, Frames: l.c.info.frames}}
		}
		g.stats.Count, g.stats.BlockedAt.Count, g.stats.Leaked = l.c.count, l.c.count, l.leaked
		if leakChecked {
			g.checked = l.c.count
		}
		w.groups[l.k] = g
		grew := g.stats.Count >= 2*g.base
		if grew || g.stats.Leaked > g.leakedSeen {
			records = append(records, untrackedRecord(g, grew))
			g.leakedSeen = g.stats.Leaked
			if grew {
				g.base = g.stats.Count
			}
		}
	}
	return records
}

// uncheckedUntrackedLocked reports whether a listed group is new or has
// doubled since the last leak check: something for the next to prove.
// The caller holds m.mu.
func (m *Monitor) uncheckedUntrackedLocked() bool {
	for _, g := range m.untracked.groups {
		if g.stats.Count >= 2*g.checked {
			return true
		}
	}
	return false
}

// untrackedLocked lists the groups for a Snapshot: those with leaked
// goroutines first, then most goroutines first. The caller holds m.mu.
func (m *Monitor) untrackedLocked(s *Snapshot) {
	w := &m.untracked
	s.UntrackedLive, s.UntrackedOmitted, s.UntrackedAt = w.live, w.omitted, w.at
	for _, g := range w.groups {
		st := g.stats
		st.BlockedAt.Frames = slices.Clone(st.BlockedAt.Frames)
		s.Untracked = append(s.Untracked, st)
	}
	slices.SortFunc(s.Untracked, func(a, b UntrackedStats) int {
		return cmp.Or(cmp.Compare(b.Leaked, a.Leaked), cmp.Compare(b.Count, a.Count),
			cmp.Compare(a.BlockedAt.Site.String(), b.BlockedAt.Site.String()),
			cmp.Compare(a.Start.String(), b.Start.String()))
	})
}

// msgUntracked is the message of a record about an untracked group.
const msgUntracked = "ctxguard: untracked goroutines piling up at one place"

// untrackedRecord is the log record of a group that doubled (grew) or
// has newly leaked goroutines.
func untrackedRecord(g *untrackedGroup, grew bool) logRecord {
	st := g.stats
	a := []slog.Attr{
		slog.String("start", st.Start.String()), slog.String("function", st.Start.Function),
		slog.Int("count", st.Count),
	}
	if grew {
		a = append(a, slog.Int("previous", g.base))
	}
	if st.Leaked > 0 {
		a = append(a, slog.Int("leaked", st.Leaked))
	}
	a = appendBlocked(a, []BlockedAt{st.BlockedAt}, 0)
	level := slog.LevelWarn
	if st.Leaked > 0 {
		level = slog.LevelError
	}
	return logRecord{level: level, msg: msgUntracked, attrs: a, count: uint64(st.Count), site: st.Start}
}
