package ctxguard

import (
	"time"
	"unsafe"

	"github.com/ctxguard/ctxguard/internal/cputime"
)

// Stack captures: where lagging goroutines are blocked, and what the
// whole process holds.
//
// The Monitor's loop asks for a capture when lagging goroutines have no
// known stack yet, when a leak check is due (leakcheck.go) or a look at
// untracked goroutines (untracked.go). A capture runs on a goroutine of its
// own, reads every goroutine's stack and label set pointer from the
// runtime's goroutine profile (concurrent: the world is stopped only for a
// few microseconds, whatever the goroutine count), picks out the wanted
// records by their label sets (identity.go), and symbolizes each distinct
// stack once (stacks.go). Captures are spaced by their own cost: one that
// took d is not followed by another within captureSpacing·d, so that on
// average they use at most about 1% of a core.

// stackCapture is the loop's state of stack captures, and of the leak
// checks and looks at untracked goroutines they make.
type stackCapture struct {
	running      bool
	next         time.Time // no capture starts before
	waitingSince time.Time // for wanted goroutines to start

	leakNext      time.Time // no leak check starts before
	longLivedNext time.Time // a leak check for long-lived goroutines is due
	leakCheckedID uint64    // lagging records up to this Event.ID have been checked
	untrackedNext time.Time // no look at untracked goroutines starts before
}

// startWait bounds how long a capture waits for lagging goroutines that
// have not started yet (a burst of spawns on a busy machine).
const startWait = 2 * time.Second

// wantedStacksLocked returns, by identity, the lagging records whose stacks a
// capture is to find (all, or only those with no known stack yet) among
// those whose goroutine has started, and how many of those have not. The
// caller holds m.mu.
func (m *Monitor) wantedStacksLocked(all bool) (want map[unsafe.Pointer]*goroutine, unstarted int) {
	want = make(map[unsafe.Pointer]*goroutine, m.unknownStacks)
	for g, lr := range m.lagging {
		switch {
		case lr.info != nil && !all:
		case g.started.Load():
			want[unsafe.Pointer(&g.ident)] = g
		default:
			unstarted++
		}
	}
	return want, unstarted
}

// maybeCapture starts a stack capture if lagging goroutines have no known
// stack, a leak check is due (leakCheckDueLocked) or a look at untracked
// goroutines, none is running, and the last one's cost allows. A
// goroutine still waiting to be scheduled runs with no identity yet: while
// some of those it wants have not started, it waits for them, up to
// startWait, so that one capture finds them all.
func (m *Monitor) maybeCapture(now time.Time, r *loopRun) {
	c := &m.stackCapture
	if c.running || now.Before(c.next) {
		return
	}
	longLived := m.leakChecks() && !now.Before(c.longLivedNext) && m.liveRecords() > 0
	look := m.watchesUntracked() && !now.Before(c.untrackedNext)
	m.mu.Lock()
	var want map[unsafe.Pointer]*goroutine
	unstarted := 0
	if m.unknownStacks > 0 {
		want, unstarted = m.wantedStacksLocked(false)
	}
	leaks := m.leakCheckDueLocked(now, longLived)
	m.mu.Unlock()
	look = look || (leaks && m.watchesUntracked()) // the untracked groups' leaked goroutines too
	if unstarted > 0 {
		if c.waitingSince.IsZero() {
			c.waitingSince = now
		}
		if now.Sub(c.waitingSince) < startWait {
			return
		}
	}
	c.waitingSince = time.Time{}
	if len(want) == 0 && !leaks && !look {
		return
	}
	c.running = true
	job := &capture{want: want, leaks: leaks}
	if leaks {
		job.records = m.recordsByIdent()
		c.leakCheckedID = m.lastLagID
	}
	if look {
		job.untracked = newUntrackedGrouper(m.cfg.MaxSites)
	}
	go func() {
		job.run()
		r.captured <- job
	}()
}

// captureSpacing is how many times its own duration the Monitor waits after
// a capture before the next one.
const captureSpacing = 100

// A capture is one stack capture's request and result. Besides the
// lagging records it wants, it may run the goroutine leak profile first
// (leakcheck.go) and group the untracked goroutines (untracked.go).
type capture struct {
	want map[unsafe.Pointer]*goroutine // wanted records, lagging, by identity
	// leaks runs the goroutine leak profile; records are then every live
	// record, by identity, to tell whose goroutines it lists.
	leaks     bool
	records   map[unsafe.Pointer]*goroutine
	untracked *untrackedGrouper // nil: untracked goroutines are not grouped

	started  time.Time
	found    map[*goroutine]*stackInfo
	leaked   []*leakedStack // with leaks: the stacks of leaked goroutines
	leakErr  error          // with leaks: why the profile could not be read
	took     time.Duration
	leakTook time.Duration // the leak profile's, or the CPU time it cost if more
}

// A leakedStack is one stack the leak profile listed, and the goroutines
// at it in the capture's goroutine profile: the profile says how many of
// them leaked, not which.
type leakedStack struct {
	leaked  int                       // how many of its goroutines leaked
	records map[*goroutine]*stackInfo // tracked goroutines at it
	unknown int                       // tracked goroutines at it whose record is unknown
	group   *untrackedCount           // untracked goroutines at it are in it
	n       int                       // goroutines at it
}

// run captures the stacks of c.want and fills in the result.
func (c *capture) run() {
	start := time.Now()
	c.started = start
	defer func() { c.took = time.Since(start) }()
	c.found = make(map[*goroutine]*stackInfo)
	var leakedAt map[string]int
	if c.leaks {
		// The collection runs on every core: its cost is the CPU time the
		// process spent meanwhile, if that is more than the time it took
		// (it counts the program's own work too, which only spaces checks
		// further apart).
		cpu := cputime.Start()
		leakedAt, c.leakErr = leakedStacks()
		c.leakTook = max(time.Since(start), cpu())
	}
	byStack := make(map[string]*leakedStack, len(leakedAt))
	waits := make(map[unsafe.Pointer]*groupWait)
	groupWaits.Range(func(p, w any) bool {
		waits[p.(unsafe.Pointer)] = w.(*groupWait)
		return true
	})
	stacks, labels := goroutineProfile()
	s := symbolizer{byStack: make(map[string]*stackInfo)}
	var fk frameKinds
	var key []byte
	for i, stack := range stacks {
		var ls *leakedStack
		if len(leakedAt) > 0 {
			key = stackKey(key, stack)
			if n := leakedAt[string(key)]; n > 0 {
				if ls = byStack[string(key)]; ls == nil {
					ls = &leakedStack{leaked: n}
					byStack[string(key)] = ls
				}
				ls.n++
			}
		}
		label, group := labels[i], uint64(0)
		if w := waits[label]; w != nil {
			label, group = w.prev, w.group
		}
		g, record := c.want[label], c.records[label]
		base := fk.base(stack)
		if base < 0 && len(stack) >= maxProfileFrames && label != nil {
			// Cut short, with a label set: a lagging record's (captures
			// look for those only once, deeper), or maybe that of a record
			// whose goroutine started another, which inherited it: which
			// one is not known, so neither is it counted as untracked.
			if g == nil {
				if ls != nil {
					ls.unknown++
				}
				continue
			}
			base = len(stack)
			record = nil // not credited with a leak, as the child may be what leaked
		}
		if base < 0 { // not a record's goroutine, though it may have inherited a label set
			if c.untracked != nil {
				counted := c.untracked.add(stack, &s, &fk)
				if ls != nil {
					ls.group = counted
				}
			}
			continue
		}
		if g != nil {
			c.found[g] = s.info(stack[:base], group)
		}
		switch {
		case ls == nil:
		case record != nil:
			if ls.records == nil {
				ls.records = make(map[*goroutine]*stackInfo)
			}
			ls.records[record] = s.info(stack[:base], group)
		default:
			ls.unknown++
		}
	}
	for _, ls := range byStack {
		ls.leaked = min(ls.leaked, ls.n)
		c.leaked = append(c.leaked, ls)
		if ls.group != nil {
			untracked := ls.n - len(ls.records) - ls.unknown
			ls.group.leaked += provenLeaked(ls.leaked, ls.n, untracked)
		}
	}
	if len(c.found) < len(c.want) {
		c.findByFunction(stacks, labels, &s, &fk)
	}
}

// provenLeaked is how many of some n goroutines at one stack, of which
// leaked have leaked, belong to a class of mine of them, at least: all of
// theirs if all leaked, and otherwise those that the goroutines of other
// classes cannot account for.
func provenLeaked(leaked, n, mine int) int {
	return max(0, leaked-(n-mine))
}

// findByFunction looks for the wanted records not found by identity (their
// goroutine replaced its label set, or this release gives none) by the
// function they run: their stacks are among those of the goroutines
// running it from a record's frame. If all of those are blocked at one
// place, so are the records; otherwise where they are stays unknown.
//
// The function is the one that names the record. A middleware's region,
// named by its method or route, is looked for by its site instead, the
// handler's declaration (grpcguard's), a function its stacks run somewhere
// above the region's frame; a region whose site is not in its stacks
// (mcpguard's has none) stays unknown, as does a goroutine of spawn.Go
// given a name of its own.
func (c *capture) findByFunction(stacks [][]uintptr, labels []unsafe.Pointer, s *symbolizer, fk *frameKinds) {
	lost := make(map[uintptr][]*goroutine)   // by the entry of the function they run
	within := make(map[uintptr][]*goroutine) // regions, by the entry of their site's function
	for _, g := range c.want {
		if _, ok := c.found[g]; ok {
			continue
		}
		switch {
		case g.live.key.namePC != 0:
			lost[g.live.key.namePC] = append(lost[g.live.key.namePC], g)
		case g.region && g.site() != 0:
			if entry := fk.kind(g.site() - 1).entry; entry != 0 {
				within[entry] = append(within[entry], g)
			}
		}
	}
	if len(lost) == 0 && len(within) == 0 {
		return
	}
	at := make(map[uintptr]*stackInfo)       // by function: where all its goroutines are; nil if in several places
	atWithin := make(map[uintptr]*stackInfo) // likewise, for the regions' functions
	seen := func(at map[uintptr]*stackInfo, fn uintptr, info *stackInfo) {
		if prev, ok := at[fn]; !ok {
			at[fn] = info
		} else if prev != nil && (prev.at != info.at || prev.reason != info.reason) {
			at[fn] = nil
		}
	}
	for i, stack := range stacks {
		if _, found := c.want[labels[i]]; found {
			continue
		}
		base := fk.base(stack)
		if base < 0 {
			continue
		}
		if fn := fk.function(stack[:base]); lost[fn] != nil {
			seen(at, fn, s.info(stack[:base], 0))
		}
		if len(within) == 0 || !fk.kind(stack[base]).region {
			continue
		}
		for _, pc := range stack[:base] {
			if fn := fk.kind(pc).entry; within[fn] != nil {
				seen(atWithin, fn, s.info(stack[:base], 0))
			}
		}
	}
	assign := func(lost map[uintptr][]*goroutine, at map[uintptr]*stackInfo) {
		for fn, gs := range lost {
			if info := at[fn]; info != nil {
				for _, g := range gs {
					c.found[g] = info
				}
			}
		}
	}
	assign(lost, at)
	assign(within, atWithin)
}

// captured applies a finished capture: the records found get their
// stacks, its leak check and look at untracked goroutines are applied,
// and the next capture may start. It runs on the loop.
func (m *Monitor) captured(c *capture, now time.Time) {
	type blockedRecord struct {
		g  *goroutine
		id uint64
		b  BlockedAt
	}
	var found []blockedRecord
	observed := m.observed.Load()
	m.mu.Lock()
	for g, info := range c.found {
		r := m.lagging[g]
		if r == nil || r.info != nil {
			continue // returned meanwhile
		}
		r.info, r.kept = info, r.stats.addBlocked(info)
		m.unknownStacks--
		m.dirtyLocked(r.stats)
		if observed {
			b := BlockedAt{Site: info.at, Reason: info.reason, Count: 1, Frames: info.frames}
			if info.group != 0 {
				b.WaitingFor = m.waitedLocked(map[uint64]int{info.group: 1})
			}
			found = append(found, blockedRecord{g, r.id, b})
		}
	}
	m.mu.Unlock()
	m.lookedWhole(c, now)
	if len(found) == 0 {
		return
	}
	events := make([]Event, len(found))
	for i, f := range found {
		events[i] = m.event(f.g, EventBlocked, f.id, now, m.cause(f.g.ctx))
		events[i].BlockedAt = &f.b
	}
	m.queue(events...)
}
