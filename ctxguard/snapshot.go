package ctxguard

import (
	"cmp"
	"container/heap"
	"maps"
	"slices"
	"time"
)

// A Snapshot is what a Monitor has observed, as of one moment. The totals
// (Lagged, DroppedCancels, Panics) are counted apart from the breakdowns
// and read at slightly different times, so while events are arriving a
// Snapshot's totals and the sums of its breakdowns may differ a little;
// once quiet, they agree.
type Snapshot struct {
	// Spawned counts the goroutines tracked so far, request handlers
	// tracked by the middleware included.
	Spawned uint64
	// Live is the number of tracked goroutines still running.
	Live int
	// Lagging is the number of Live goroutines past Grace after their
	// context ended.
	Lagging int
	// Lagged counts the goroutines that ever became lagging.
	Lagged uint64

	// CancelSampleRate is the Monitor's rate: one cancel func in this many
	// is tracked.
	CancelSampleRate int
	// CancelsTracked counts the cancel funcs tracked so far.
	CancelsTracked uint64
	// DroppedCancels counts the tracked cancel funcs that were garbage
	// collected uncalled while their context was not done.
	DroppedCancels uint64
	// DroppedCancelSites breaks DroppedCancels down by the site that created
	// the cancel func, most drops first. Sites beyond Config.MaxSites are
	// summed under a site named OverflowName.
	DroppedCancelSites []SiteCount

	// Panics counts tracked goroutines that panicked.
	Panics uint64
	// Scopes lists the scopes (routes, RPC methods) with lagging goroutines
	// or requests turned away by middleware with a lagging limit, most
	// lagging first.
	Scopes []ScopeStats
	// Goroutines breaks the goroutine counts down by name, scope and spawn
	// site: first the entries with lagging goroutines, those that do not
	// wait for other lagging goroutines first (the root causes), most
	// lagging first; then the others, most live first. It has at most
	// Config.MaxSites entries plus one named OverflowName (with
	// a Site that IsOverflow) summing the rest, so exporters can use names and
	// scopes as labels.
	Goroutines []GoroutineStats

	// EventsDropped counts events not delivered to observers because too
	// many were waiting for them (an observer is slow or blocked), or
	// because Close gave up on them; ObserverPanics counts panics
	// recovered from observers.
	EventsDropped, ObserverPanics uint64
	// LogRecordsDropped counts report records not written because too
	// many were waiting for the Logger's handler (it is slow or blocked),
	// or because Close gave up on them; LoggerPanics counts panics
	// recovered from the handler.
	LogRecordsDropped, LoggerPanics uint64
	// ContextPanics counts panics recovered from methods of tracked
	// contexts (Value, Err, Cause) that the Monitor's own goroutines
	// called, such as a context type whose Value panics once its request
	// is over. The goroutine or cancel func concerned is still counted.
	ContextPanics uint64

	// Leaked counts the tracked goroutines the goroutine leak profile
	// proved can never return, at its last check (LeakCheckAt), lagging or
	// not: the sum of the entries' Leaked. Always 0 on a Go release
	// without the profile (see LeakProfileAvailable), and with
	// Config.NoLeakCheck unless Monitor.CheckLeaks is called.
	Leaked int
	// LeakCheckAt is when the last leak check ran; zero if none has.
	LeakCheckAt time.Time

	// Untracked lists, with Config.WatchUntracked, the groups of
	// goroutines ctxguard does not track that started with the same
	// function and are blocked at the same place, holding at least
	// Config.UntrackedMin goroutines (a group listed stays so down to half
	// as many) or some proven leaked, as of the Monitor's last look
	// (UntrackedAt): those with leaked goroutines first, then most
	// goroutines first. At most Config.MaxSites groups; UntrackedOmitted
	// counts the goroutines of the groups left out.
	Untracked []UntrackedStats
	// UntrackedLive counts the untracked goroutines at the last look.
	UntrackedLive, UntrackedOmitted int
	// UntrackedAt is when the Monitor last looked; zero if it has not.
	UntrackedAt time.Time
}

// GoroutineStats are the counts for one goroutine name, scope and spawn site.
type GoroutineStats struct {
	Name  string
	Scope string
	Site  Site
	// Live and Lagging are as in Snapshot, for this entry.
	Live, Lagging int
	// Lagged counts goroutines that ever became lagging; LateExits those of
	// them that have since returned, Panics those that panicked.
	Lagged, LateExits, Panics uint64
	// ExitDelayTotal and ExitDelayMax are over the late exits: how long
	// after their context ended the lagging goroutines returned.
	ExitDelayTotal, ExitDelayMax time.Duration
	// ExitDelays is the histogram of those delays: ExitDelays[i] counts
	// the late exits with a delay at most ExitDelayBounds()[i] and above
	// the bound before it; the last element counts those above every
	// bound. It sums to LateExits. nil when LateExits is 0.
	ExitDelays []uint64
	// BlockedAt says where the entry's lagging goroutines are blocked, as
	// read from their stacks: exact per goroutine, for those whose stack
	// has been captured (a capture follows a lag within a few scans, or
	// later when captures are costly: none starts within 100 times the
	// last one's duration, see the package documentation). Locations where
	// goroutines wait for other lagging goroutines come last; the others
	// most goroutines first. At most 8 locations are kept per entry;
	// BlockedAtOmitted counts the lagging goroutines blocked elsewhere.
	// Lagging minus the counts of both is the goroutines not captured yet.
	BlockedAt        []BlockedAt
	BlockedAtOmitted int
	// LaggingSince is, while the entry has lagging goroutines, when the
	// context of the one lagging longest ended; zero otherwise.
	LaggingSince time.Time
	// LastCause is context.Cause of the context of the entry's goroutine
	// that lagged last, as text; "" if none has lagged.
	LastCause string
	// Leaked counts the entry's goroutines, lagging or not, that the
	// goroutine leak profile proved can never return, at its last check
	// (Snapshot.LeakCheckAt): they are blocked on channels or locks
	// nothing reachable can signal. Lagging says a goroutine still runs
	// after its context ended; Leaked, that it never will return. Where
	// goroutines of several entries are blocked at the same stack and only
	// some of them leaked, it counts the fewest that must be this entry's.
	// It leaves out a goroutine that replaced its profiler labels
	// (pprof.Do, pprof.SetGoroutineLabels), which the check cannot match to
	// its entry, and one blocked on something only its context reaches
	// (its context's Done channel, say, when the cancel func was dropped):
	// the Monitor holds the context of a tracked goroutine while it runs,
	// so that channel stays reachable. A goroutine started by a go
	// statement in the same place is listed by the profile itself.
	Leaked int
	// LeakedAt says where the goroutines counted in Leaked are blocked, as
	// BlockedAt does for lagging ones (Frames included; at most 8
	// locations), as of the same check: a leaked goroutine that does not
	// lag (its context never ends) is in LeakedAt only.
	LeakedAt []BlockedAt
}

// Waiting reports whether the entry's lagging goroutines all wait for
// other lagging goroutines (in spawn.Group.Wait): it is not a root cause.
func (g GoroutineStats) Waiting() bool {
	if g.Lagging == 0 || len(g.BlockedAt) == 0 {
		return false
	}
	for _, b := range g.BlockedAt {
		if !b.Waiting() {
			return false
		}
	}
	return true
}

// A SiteCount is the number of events at one site.
type SiteCount struct {
	Site  Site
	Count uint64
}

// Snapshot returns the Monitor's current counts. It reads the live counts
// the shards keep per spawn site, scope and name (holding each shard's
// lock only to copy them), and the statistics entries, symbolizing sites
// it has not seen before: its cost grows with distinct sites, names and
// scopes, never with live goroutines or past events: about 2.5 ms at a
// million live goroutines under 1,000 names (BenchmarkScale in package
// bench), about 0.8 s and 200 MB of garbage when each of a million has a
// name of its own, of which MaxSites are kept (BenchmarkGatherDistinctNames
// in ctxprom; 2 cores). The Snapshot is the caller's: its slices, down to
// each location's Frames, share nothing with the Monitor or with other
// Snapshots.
func (m *Monitor) Snapshot() Snapshot {
	m.mustBeNew("Monitor.Snapshot")
	s := Snapshot{
		CancelSampleRate: m.cfg.CancelSampleRate,
		CancelsTracked:   m.cancelsTracked.Load(),
	}
	live := m.liveByKey(&s) // before the lagging counts: see goroutine.exit
	lagging := 0
	m.mu.Lock()
	leaked := maps.Clone(m.leaked) // taken off as entries get theirs
	leakedAt := m.leakedAt         // never changed once made: replaced whole
	s.LeakCheckAt = m.leakCheckAt
	for _, n := range leaked {
		s.Leaked += n
	}
	s.DroppedCancels = m.droppedCancels.Load()
	for _, st := range m.cancelSites.all() {
		s.DroppedCancelSites = append(s.DroppedCancelSites, SiteCount{st.resolve(), st.total})
	}
	entries := m.goroutineStats.all()
	m.refreshOldestLocked(entries)
	for _, st := range entries {
		gs := GoroutineStats{Name: st.name, Scope: st.scope, Site: st.resolve(),
			Lagged: st.lagged, LateExits: st.lateExits, Panics: st.panics,
			ExitDelayTotal: st.delaySum, ExitDelayMax: st.delayMax, LastCause: st.lastCause}
		if st.laggingNow > 0 {
			gs.LaggingSince = time.Unix(0, st.oldestEnded)
		}
		if st.lateExits > 0 {
			gs.ExitDelays = slices.Clone(st.delays[:])
		}
		gs.BlockedAt, gs.BlockedAtOmitted = ownFrames(m.blockedAtLocked(st, true)), st.blockedOmitted
		gs.Lagging = st.laggingNow
		lagging += st.laggingNow
		k := goroutineStatsKey{st.name, st.scope, st.pc}
		gs.Leaked, gs.LeakedAt = takeLeaked(leaked, k), cloneBlocked(leakedAt[k])
		if n, ok := live[k]; ok {
			gs.Live = n
			delete(live, k)
		}
		s.Goroutines = append(s.Goroutines, gs)
	}
	s.Scopes = m.scopeStatsLocked()
	// Lagging and Lagged as the entries count them: the breakdown adds up.
	s.Lagging, s.Lagged = lagging, m.lagged.Load()
	m.untrackedLocked(&s)
	m.mu.Unlock()
	s.Panics = m.panics.Load()
	m.observers.mu.Lock()
	s.ObserverPanics = m.observers.panics
	m.observers.mu.Unlock()
	s.EventsDropped, s.LogRecordsDropped = m.events.droppedCount(), m.logs.droppedCount()
	s.LoggerPanics, s.ContextPanics = m.loggerPanics.Load(), m.contextPanics.Load()
	m.addLiveOnly(&s, live, leaked, leakedAt)
	sortSiteCounts(s.DroppedCancelSites)
	slices.SortFunc(s.Goroutines, func(a, b GoroutineStats) int {
		if c := cmp.Compare(rootRank(a), rootRank(b)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Lagging, a.Lagging); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Live, a.Live); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Lagged, a.Lagged); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Scope, b.Scope),
			cmp.Compare(a.Site.File, b.Site.File), cmp.Compare(a.Site.Line, b.Site.Line),
			cmp.Compare(a.Site.Function, b.Site.Function))
	})
	return s
}

// takeLeaked returns the goroutines of key k proven leaked, and takes
// them off left, so that those left over go to the overflow entry.
func takeLeaked(left map[goroutineStatsKey]int, k goroutineStatsKey) int {
	n, ok := left[k]
	if ok {
		delete(left, k)
	}
	return n
}

// rootRank orders entries: lagging root causes, lagging waiters, others.
func rootRank(g GoroutineStats) int {
	switch {
	case g.Lagging > 0 && !g.Waiting():
		return 0
	case g.Lagging > 0:
		return 1
	}
	return 2
}

// addLiveOnly lists the goroutines that have no statistics entry (none of
// them has lagged or panicked yet), most live first, within the bound of
// MaxSites entries; the rest are summed into the overflow entry, with the
// leaked goroutines of entries not listed.
func (m *Monitor) addLiveOnly(s *Snapshot, live, leaked map[goroutineStatsKey]int, leakedAt map[goroutineStatsKey][]BlockedAt) {
	overflow := slices.IndexFunc(s.Goroutines, func(g GoroutineStats) bool { return g.Site.IsOverflow() })
	room := m.cfg.MaxSites - len(s.Goroutines)
	if overflow >= 0 {
		room++
	}
	top, rest := mostLive(live, max(room, 0))
	for _, c := range top {
		s.Goroutines = append(s.Goroutines, GoroutineStats{Name: c.key.name, Scope: c.key.scope, Site: siteOf(c.key.site), Live: c.n,
			Leaked: takeLeaked(leaked, c.key), LeakedAt: cloneBlocked(leakedAt[c.key])})
	}
	restLeaked := 0
	for _, n := range leaked {
		restLeaked += n
	}
	if rest == 0 && restLeaked == 0 {
		return
	}
	if overflow < 0 {
		overflow = len(s.Goroutines)
		s.Goroutines = append(s.Goroutines, GoroutineStats{Name: OverflowName, Site: otherSites})
	}
	s.Goroutines[overflow].Live += rest
	s.Goroutines[overflow].Leaked += restLeaked
}

// A liveCount is a statistics key and its live goroutines.
type liveCount struct {
	key goroutineStatsKey
	n   int
}

// moreLive orders liveCounts: most live first, then by key.
func moreLive(a, b liveCount) int {
	if c := cmp.Compare(b.n, a.n); c != 0 {
		return c
	}
	return cmp.Or(cmp.Compare(a.key.name, b.key.name), cmp.Compare(a.key.scope, b.key.scope), cmp.Compare(a.key.site, b.key.site))
}

// mostLive returns the k keys of live with the most goroutines, ordered
// by moreLive, and the goroutines of all the others. It keeps the k best
// in a heap, so that a million distinct keys cost a pass and a few
// comparisons each, not a sort.
func mostLive(live map[goroutineStatsKey]int, k int) (top []liveCount, rest int) {
	h := make(leastLive, 0, min(k, len(live)))
	for key, n := range live {
		c := liveCount{key, n}
		switch {
		case len(h) < k:
			heap.Push(&h, c)
		case k > 0 && moreLive(c, h[0]) < 0:
			rest += h[0].n
			h[0] = c
			heap.Fix(&h, 0)
		default:
			rest += n
		}
	}
	slices.SortFunc(h, moreLive)
	return h, rest
}

// leastLive is a heap of liveCounts with the one that comes last in
// moreLive's order on top.
type leastLive []liveCount

func (h leastLive) Len() int           { return len(h) }
func (h leastLive) Less(i, j int) bool { return moreLive(h[i], h[j]) > 0 }
func (h leastLive) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *leastLive) Push(x any)        { *h = append(*h, x.(liveCount)) }
func (h *leastLive) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// liveByKey counts the live goroutines per statistics key, filling
// s.Spawned and s.Live. It reads the shards' live cells (see
// livecount.go), holding each shard's lock only while it copies that
// shard's: its cost grows with the keys in use, never with the goroutines.
func (m *Monitor) liveByKey(s *Snapshot) map[goroutineStatsKey]int {
	type count struct {
		key *spawnKey
		n   int32
	}
	var counts []count
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		s.Spawned += sh.spawned
		s.Live += sh.live
		for _, c := range sh.cells {
			if c.n > 0 {
				counts = append(counts, count{&c.key, c.n})
			}
		}
		sh.mu.Unlock()
	}
	out := make(map[goroutineStatsKey]int, len(counts))
	for _, c := range counts {
		out[goroutineStatsKey{c.key.nameOf(), c.key.tr.scope, c.key.site}] += int(c.n)
	}
	return out
}

func sortSiteCounts(sc []SiteCount) {
	slices.SortFunc(sc, func(a, b SiteCount) int {
		return bySiteCount(a.Site, a.Count, b.Site, b.Count)
	})
}

// bySiteCount orders by count, highest first, then by site.
func bySiteCount(a Site, ac uint64, b Site, bc uint64) int {
	if c := cmp.Compare(bc, ac); c != 0 {
		return c
	}
	return cmp.Compare(a.String(), b.String())
}

// refreshOldestLocked works out again when the context of each entry's
// goroutine lagging longest ended, for those of entries whose one
// returned: one pass over the lagging records, only when some entry needs
// it. The caller holds m.mu.
func (m *Monitor) refreshOldestLocked(entries []*goroutineStats) {
	stale := false
	for _, st := range entries {
		stale = stale || st.oldestStale
	}
	if !stale {
		return
	}
	oldest := make(map[*goroutineStats]int64)
	for g, r := range m.lagging {
		if !r.counted || !r.stats.oldestStale {
			continue
		}
		if t, ok := oldest[r.stats]; !ok || g.endedAt < t {
			oldest[r.stats] = g.endedAt
		}
	}
	for st, t := range oldest {
		st.oldestEnded, st.oldestStale = t, false
	}
}
