package ctxguard

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// A BlockedAt is where some lagging goroutines of one [GoroutineStats]
// entry are blocked, as read from their stacks.
type BlockedAt struct {
	// Site is the innermost frame of the goroutine outside the runtime,
	// the standard library and ctxguard: the line of the blocking
	// receive, select (for a select with several cases, its select line),
	// time.Sleep or Wait call. For a goroutine that is running rather
	// than blocked, where it was running.
	Site Site
	// Reason is what the goroutine waits for, from the standard library
	// frames inside Site: "chan receive", "chan send", "select",
	// "select (no cases)", "sleep", "sync.WaitGroup.Wait",
	// "sync.Mutex.Lock", "sync.RWMutex.Lock", "sync.RWMutex.RLock",
	// "sync.Cond.Wait", "IO wait", "syscall", "semacquire",
	// "spawn.Group.Wait", "waiting" (parked for another reason) or
	// "running".
	Reason string
	// Count is how many of the entry's lagging goroutines are blocked here.
	Count int
	// Returned counts the lagging goroutines seen blocked here that have
	// returned since. A location with Count 0 is where the entry's lagging
	// goroutines were last seen: a Snapshot keeps it, so marked, after they
	// returned (until newer locations need its place, or the entry itself
	// is dropped), so that one taken at the end of a run still says where
	// they were. Log records list only locations with goroutines.
	Returned int
	// Frames are the stack frames from Site down to the tracked function
	// (for a request handler, the handler), at most 32.
	Frames []Site
	// WaitingFor lists, for goroutines blocked in spawn.Group.Wait, the
	// lagging goroutines of the Groups they wait for: those are the ones
	// to fix. Empty when none of them is lagging (yet).
	WaitingFor []LaggingEntry
}

// cloneBlocked returns a copy of bs whose Frames are copies too (ownFrames).
func cloneBlocked(bs []BlockedAt) []BlockedAt { return ownFrames(slices.Clone(bs)) }

// ownFrames gives each of bs its own copy of its Frames, which the Monitor
// keeps for later Snapshots and log records: what a Snapshot hands out,
// the caller may change. Records read the Monitor's frames as they are.
func ownFrames(bs []BlockedAt) []BlockedAt {
	for i := range bs {
		bs[i].Frames = slices.Clone(bs[i].Frames)
	}
	return bs
}

// Waiting reports whether the goroutines blocked here wait for other
// lagging goroutines: they lag because those do.
func (b BlockedAt) Waiting() bool { return len(b.WaitingFor) > 0 }

// String returns "file:line (reason)", with ", returned" in the
// parentheses for a location whose goroutines have all returned.
func (b BlockedAt) String() string {
	s := b.Site.String() + " (" + b.Reason + ")"
	if b.Count == 0 && b.Returned > 0 {
		s = b.Site.String() + " (" + b.Reason + ", returned)"
	}
	for i, w := range b.WaitingFor {
		if i == 0 {
			s += ", waiting for "
		} else {
			s += ", "
		}
		s += strconv.Itoa(w.Count) + " lagging " + w.Name
	}
	return s
}

// A LaggingEntry is the lagging goroutines of one statistics entry that
// other lagging goroutines wait for (in spawn.Group.Wait).
type LaggingEntry struct {
	Name, Scope string
	Site        Site
	Count       int
}

// maxBlockedAt bounds the blocking locations kept per statistics entry;
// lagging goroutines blocked elsewhere are counted in
// GoroutineStats.BlockedAtOmitted.
const maxBlockedAt = 8

// blockedKey identifies a blocking location within an entry.
type blockedKey struct {
	site   Site
	reason string
}

// blockedCount is one blocking location of an entry. Guarded by Monitor.mu.
type blockedCount struct {
	count    int
	returned int // goroutines counted here that have returned
	frames   []Site
	groups   map[uint64]int // goroutines waiting, by the Group they wait for
}

// lagRecord is what the Monitor keeps about one lagging record while it
// lags: where it is blocked, once captured. Guarded by Monitor.mu.
type lagRecord struct {
	id      uint64 // the Event.ID of its events
	stats   *goroutineStats
	info    *stackInfo // nil until captured
	kept    bool       // counted in stats.blocked, not in blockedOmitted
	counted bool       // in stats.laggingNow and its scope's lagging count
}

// addBlocked counts a lagging record of s as blocked as info says.
func (s *goroutineStats) addBlocked(info *stackInfo) (kept bool) {
	k := blockedKey{info.at, info.reason}
	b, ok := s.blocked[k]
	if !ok {
		if len(s.blocked) >= maxBlockedAt && !s.dropPastBlocked() {
			s.blockedOmitted++
			return false
		}
		if s.blocked == nil {
			s.blocked = make(map[blockedKey]*blockedCount)
		}
		b = &blockedCount{frames: info.frames}
		s.blocked[k] = b
	}
	b.count++
	if info.group != 0 {
		if b.groups == nil {
			b.groups = make(map[uint64]int)
		}
		b.groups[info.group]++
	}
	s.blockedChanged = true
	return true
}

// removeBlocked takes a record that returned off its location, which stays
// listed (see BlockedAt.Returned).
func (s *goroutineStats) removeBlocked(info *stackInfo, kept bool) {
	if !kept {
		s.blockedOmitted--
		return
	}
	k := blockedKey{info.at, info.reason}
	b := s.blocked[k]
	b.count--
	if info.group != 0 {
		if b.groups[info.group]--; b.groups[info.group] == 0 {
			delete(b.groups, info.group)
		}
	}
	b.returned++ // kept, with count 0 once they all have: where they were
}

// dropPastBlocked makes room for a location by dropping one where no
// goroutine is blocked any more, and reports whether there was one.
func (s *goroutineStats) dropPastBlocked() bool {
	for k, b := range s.blocked {
		if b.count == 0 {
			delete(s.blocked, k)
			return true
		}
	}
	return false
}

// groupLagging counts, per Group, its lagging goroutines by entry: what a
// goroutine in that Group's Wait waits for. Guarded by Monitor.mu.
type groupLagging map[uint64]map[*goroutineStats]int

func (gl groupLagging) add(group uint64, s *goroutineStats, n int) {
	if group == 0 {
		return
	}
	if gl[group] == nil {
		gl[group] = make(map[*goroutineStats]int)
	}
	if gl[group][s] += n; gl[group][s] <= 0 {
		delete(gl[group], s)
		if len(gl[group]) == 0 {
			delete(gl, group)
		}
	}
}

// blockedAtLocked lists where s's lagging goroutines are blocked: those
// not waiting for other lagging goroutines first, then most first; with
// past, then the locations whose goroutines have all returned. The caller
// holds m.mu.
func (m *Monitor) blockedAtLocked(s *goroutineStats, past bool) []BlockedAt {
	if len(s.blocked) == 0 {
		return nil
	}
	out := make([]BlockedAt, 0, len(s.blocked))
	for k, b := range s.blocked {
		if b.count == 0 && !past {
			continue
		}
		out = append(out, BlockedAt{Site: k.site, Reason: k.reason, Count: b.count, Returned: b.returned,
			Frames: b.frames, WaitingFor: m.waitedLocked(b.groups)})
	}
	slices.SortFunc(out, func(a, b BlockedAt) int {
		if (a.Count == 0) != (b.Count == 0) {
			if a.Count == 0 {
				return 1
			}
			return -1
		}
		if a.Waiting() != b.Waiting() {
			if a.Waiting() {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Site.String(), b.Site.String()),
			strings.Compare(a.Reason, b.Reason))
	})
	return out
}

// waitedLocked lists the lagging goroutines of groups, by entry, most
// first.
func (m *Monitor) waitedLocked(groups map[uint64]int) []LaggingEntry {
	var out []LaggingEntry
	for group := range groups {
		for s, n := range m.groupLagging[group] {
			i := slices.IndexFunc(out, func(w LaggingEntry) bool {
				return w.Name == s.name && w.Scope == s.scope && w.Site == s.resolve()
			})
			if i < 0 {
				out = append(out, LaggingEntry{Name: s.name, Scope: s.scope, Site: s.resolve()})
				i = len(out) - 1
			}
			out[i].Count += n
		}
	}
	slices.SortFunc(out, func(a, b LaggingEntry) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Name, b.Name),
			strings.Compare(a.Site.String(), b.Site.String()))
	})
	return out
}
