package ctxguard

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"log/slog"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

// Proven leaks: Go's goroutine leak profile.
//
// Since Go 1.27 (on Go 1.26, in programs built with
// GOEXPERIMENT=goroutineleakprofile), runtime/pprof has a "goroutineleak"
// profile. Writing it runs a garbage collection that also finds the
// goroutines blocked on channels or locks (sync.Mutex, sync.WaitGroup,
// sync.Cond...) that nothing still reachable can ever signal: those can
// never resume, and it lists their stacks. A leaked goroutine stays blocked
// where it is, so a goroutine profile taken afterwards still holds it, at
// the same stack: the Monitor's captures (capture.go) match the two.
//
// The profile is asked for only through runtime/pprof's API: its runtime
// side cannot be linked by name. Its text form (debug=1) lists each
// distinct stack once, with its goroutine count and its program counters;
// that is all a check needs.

// ErrNoLeakProfile is returned by [Monitor.CheckLeaks] on a Go release
// without the goroutine leak profile (see LeakProfileAvailable).
var ErrNoLeakProfile = errors.New("ctxguard: this Go release has no goroutineleak profile")

// leakProfile is the goroutine leak profile, or nil on a release without
// it. Looked up once: the set of profiles is fixed at start.
var leakProfile = sync.OnceValue(func() *pprof.Profile { return pprof.Lookup("goroutineleak") })

// LeakProfileAvailable reports whether this program's Go release has the
// goroutine leak profile (Go 1.27 and later, or Go 1.26 built with
// GOEXPERIMENT=goroutineleakprofile): without it, no goroutine is ever
// counted as leaked (GoroutineStats.Leaked and UntrackedStats.Leaked
// stay 0), and only lagging says that a goroutine outlived its context.
func LeakProfileAvailable() bool { return leakProfile() != nil }

// leakedStacks runs the goroutine leak profile and returns how many leaked
// goroutines it found at each stack, by stackKey. Its cost is a garbage
// collection cycle with leak detection, and writing out the leaked
// goroutines' stacks: see Config.WatchUntracked for figures.
func leakedStacks() (map[string]int, error) {
	p := leakProfile()
	if p == nil {
		return nil, ErrNoLeakProfile
	}
	var buf bytes.Buffer
	if err := p.WriteTo(&buf, 1); err != nil {
		return nil, err
	}
	return parseLeakProfile(buf.Bytes())
}

// parseLeakProfile reads a count profile's text form: a header line, then
// per stack "N @ 0x... 0x..." followed by comment lines ("# labels: ...",
// "#\t0x... function+offset file:line"). The same stack may come several
// times, with different labels; its counts add up.
func parseLeakProfile(text []byte) (map[string]int, error) {
	out := make(map[string]int)
	var key []byte
	header, rest, _ := bytes.Cut(text, []byte("\n"))
	if !bytes.Contains(header, []byte("profile: total")) {
		return nil, errors.New("ctxguard: goroutineleak profile: unexpected header " + strconv.Quote(string(header)))
	}
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		if len(line) == 0 || line[0] == '#' {
			continue // a frame, or labels (of any length)
		}
		count, pcs, ok := bytes.Cut(line, []byte(" @ "))
		n, err := strconv.Atoi(string(bytes.TrimSpace(count)))
		if !ok || err != nil {
			return nil, errors.New("ctxguard: goroutineleak profile: unexpected line " + strconv.Quote(string(line)))
		}
		key = key[:0]
		for _, f := range bytes.Fields(pcs) {
			pc, err := strconv.ParseUint(string(f), 0, 64)
			if err != nil {
				return nil, errors.New("ctxguard: goroutineleak profile: bad address " + strconv.Quote(string(f)))
			}
			key = binary.LittleEndian.AppendUint64(key, pc)
		}
		out[string(key)] += n
	}
	return out, nil
}

// stackKey is the key of a stack in the maps of leaked stacks: its program
// counters, innermost first, 8 bytes each. buf is reused.
func stackKey(buf []byte, stack []uintptr) []byte {
	buf = buf[:0]
	for _, pc := range stack {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(pc))
	}
	return buf
}

// longLivedLeakCheck is LongLivedLeakCheck; tests shorten it.
var longLivedLeakCheck = LongLivedLeakCheck

// LeakCheckMaxGoroutines is the most goroutines a process may have for the
// Monitor to run a leak check by itself. A check stops the world while it
// finds which blocked goroutines can never resume, for longer the more
// goroutines there are: measured on 2 cores (BenchmarkWholeProcess), the
// longest pause was up to 1.3 ms at 10,000 goroutines, 13 ms at 100,000
// and 170 ms at a million on an idle machine, and several times that
// under load (5 ms, 60 ms, 940 ms). Beyond this many, the Monitor
// leaves checks to Monitor.CheckLeaks, called when a pause is acceptable;
// lagging and the untracked groups still say where goroutines pile up.
const LeakCheckMaxGoroutines = 100_000

// leakChecks reports whether the Monitor runs leak checks by itself.
func (m *Monitor) leakChecks() bool {
	return !m.cfg.NoLeakCheck && !m.bubbled && LeakProfileAvailable() && runtime.NumGoroutine() <= LeakCheckMaxGoroutines
}

// leakCheckDueLocked reports whether a leak check is due at now: its
// spacing allows, and there is something to prove: lagging goroutines
// or listed untracked groups not checked yet, or (longLived) long-lived
// tracked goroutines. It runs on the loop; the caller holds m.mu.
func (m *Monitor) leakCheckDueLocked(now time.Time, longLived bool) bool {
	c := &m.stackCapture
	if !m.leakChecks() || now.Before(c.leakNext) {
		return false
	}
	return longLived || (len(m.lagging) > 0 && m.lastLagID > c.leakCheckedID) || m.uncheckedUntrackedLocked()
}

// recordsByIdent returns every live record, by identity: the young ones,
// those whose context ended, the parked ones (in their watches, or in
// their shard's list of those whose context never ends) and the lagging
// ones. Records move between these meanwhile; the watches are read before
// and after the shards, so that one whose context ends (from its watch to
// its shard's ended list) or that is parked (from its shard's young list to
// a watch) is seen in one or the other. One missed all the same is
// counted by the next check.
func (m *Monitor) recordsByIdent() map[unsafe.Pointer]*goroutine {
	out := make(map[unsafe.Pointer]*goroutine)
	add := func(g *goroutine) { out[unsafe.Pointer(&g.ident)] = g }
	watched := func() {
		for i := range m.watchShards {
			ws := &m.watchShards[i]
			ws.mu.Lock()
			for _, w := range ws.watches {
				for _, g := range w.records {
					add(g)
				}
			}
			ws.mu.Unlock()
		}
	}
	watched()
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for _, e := range s.young {
			add(e.g)
		}
		for _, g := range s.ended {
			add(g)
		}
		for _, g := range s.forever {
			add(g)
		}
		s.mu.Unlock()
	}
	watched()
	m.mu.Lock()
	for g := range m.lagging {
		add(g)
	}
	m.mu.Unlock()
	return out
}

// maxLeakedKeys bounds the entries a leak check counts leaks of, per
// Config.MaxSites; those of more go to the overflow entry. A Snapshot
// lists MaxSites entries and gives the leaks of the others to its
// overflow entry.
const maxLeakedKeys = 10

// msgLeaked is the message of a record about proven leaks.
const msgLeaked = "ctxguard: goroutines that can never return (proven leaked)"

// leakChecked applies a capture's leak check: the tracked goroutines it
// proved leaked, counted per entry, replace the last check's, and each
// entry with more than before is logged. A check that started before the
// one last applied (the loop's and CheckLeaks' may overlap) is dropped.
func (m *Monitor) leakChecked(c *capture) []logRecord {
	if c.leakErr != nil {
		if m.leakErrLogged.Swap(true) {
			return nil
		}
		return []logRecord{{level: slog.LevelError, msg: "ctxguard: goroutine leak check failed",
			attrs: []slog.Attr{slog.String("error", c.leakErr.Error())}}}
	}
	leaked := make(map[goroutineStatsKey]int)
	where := make(map[goroutineStatsKey]map[blockedKey]*BlockedAt)
	overflow := goroutineStatsKey{name: OverflowName}
	for _, ls := range c.leaked {
		mine := make(map[goroutineStatsKey]int)
		at := make(map[goroutineStatsKey]*stackInfo)
		for g, info := range ls.records {
			k := goroutineStatsKey{g.name(), g.scopeName(), g.site()}
			mine[k]++
			at[k] = info
		}
		for k, n := range mine {
			proven := provenLeaked(ls.leaked, ls.n, n)
			if proven == 0 {
				continue
			}
			info := at[k]
			if _, ok := leaked[k]; !ok && len(leaked) >= maxLeakedKeys*m.cfg.MaxSites {
				k = overflow
			}
			leaked[k] += proven
			if where[k] == nil {
				where[k] = make(map[blockedKey]*BlockedAt)
			}
			b := where[k][blockedKey{info.at, info.reason}]
			if b == nil {
				b = &BlockedAt{Site: info.at, Reason: info.reason, Frames: info.frames}
				where[k][blockedKey{info.at, info.reason}] = b
			}
			b.Count += proven
		}
	}
	leakedAt := make(map[goroutineStatsKey][]BlockedAt, len(where))
	for k, bs := range where {
		for _, b := range bs {
			leakedAt[k] = append(leakedAt[k], *b)
		}
		slices.SortFunc(leakedAt[k], func(a, b BlockedAt) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.String(), b.String()))
		})
		if len(leakedAt[k]) > maxBlockedAt {
			leakedAt[k] = leakedAt[k][:maxBlockedAt]
		}
	}
	var records []logRecord
	m.mu.Lock()
	defer m.mu.Unlock()
	if c.started.Before(m.leakCheckAt) {
		return nil // a check that started later (CheckLeaks, or the loop's) was applied first
	}
	for k, n := range leaked {
		before := m.leaked[k]
		if n <= before {
			continue
		}
		site := siteOf(k.site)
		if k == overflow {
			site = otherSites
		}
		a := []slog.Attr{
			slog.String("site", site.String()), slog.String("function", site.Function),
			slog.String("name", k.name), slog.String("scope", k.scope),
			slog.Int("count", n-before), slog.Int("leaked", n),
		}
		records = append(records, logRecord{level: slog.LevelError, msg: msgLeaked,
			attrs: appendBlocked(a, leakedAt[k], 0), count: uint64(n - before), site: site})
	}
	m.leaked, m.leakedAt, m.leakCheckAt = leaked, leakedAt, c.started
	return records
}

// lookedWhole applies what a capture of the loop's saw of the whole
// process (its leak check, its untracked groups), logs what is news, and
// spaces the next capture, leak check and look by their cost.
func (m *Monitor) lookedWhole(c *capture, now time.Time) {
	sc := &m.stackCapture
	sc.running = false
	sc.next = now.Add(captureSpacing * c.took)
	interval := m.cfg.ReportInterval
	if c.leaks {
		sc.leakNext = now.Add(max(interval, captureSpacing*c.leakTook))
		sc.longLivedNext = now.Add(longLivedLeakCheck)
	}
	if c.untracked != nil {
		sc.untrackedNext = now.Add(max(interval, captureSpacing*c.took))
	}
	m.applyWhole(c)
}

// applyWhole applies a capture's leak check and untracked groups, and logs
// what is news.
func (m *Monitor) applyWhole(c *capture) {
	if c.leaks {
		m.logRecords(m.leakChecked(c))
	}
	if c.untracked != nil {
		m.logRecords(m.lookedUntracked(c.untracked, c.leaks && c.leakErr == nil, c.started))
	}
}

// CheckLeaks runs the goroutine leak profile now, and returns when its
// results are in the Monitor's Snapshot (GoroutineStats.Leaked,
// Snapshot.Leaked, and with Config.WatchUntracked the untracked groups'),
// and logged as the Monitor's own checks are. The Monitor runs checks by
// itself when there is something to prove; CheckLeaks is for a moment
// chosen by the program, such as the end of a test, and runs even with
// Config.NoLeakCheck. It costs a garbage collection cycle with leak
// detection and a goroutine profile (see Config.WatchUntracked), and
// returns ErrNoLeakProfile on a release without the profile, or the
// error reading the profile.
func (m *Monitor) CheckLeaks() error {
	m.mustBeNew("Monitor.CheckLeaks")
	if !LeakProfileAvailable() {
		return ErrNoLeakProfile
	}
	c := &capture{leaks: true, records: m.recordsByIdent()}
	if m.watchesUntracked() {
		c.untracked = newUntrackedGrouper(m.cfg.MaxSites)
	}
	c.run()
	if c.leakErr != nil {
		return c.leakErr
	}
	m.applyWhole(c)
	return nil
}
