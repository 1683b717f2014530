package ctxprom

import (
	"sync"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// seriesKey is the label pair of one goroutine series.
type seriesKey struct{ name, scope string }

// overflowKey is the series of everything beyond the bound. It is the
// Monitor's own overflow entry too, so the two fold into one series.
var overflowKey = seriesKey{name: ctxguard.OverflowSite.Function}

// seriesStats are the counts of one series: the sum of the Snapshot entries
// folded into it.
type seriesStats struct {
	live, lagging             int
	lagged, lateExits, panics uint64
	delaySum                  time.Duration
	delays                    []uint64 // as GoroutineStats.ExitDelays; nil if no late exits
}

// seriesTable decides which label pairs get a series of their own.
//
// Snapshot.Goroutines has one entry per name, scope and spawn site, while
// Prometheus wants one series per label pair, so entries are summed by
// (name, scope). The Monitor bounds the entries that carry cumulative
// counts, but not the live-only ones (goroutines that never lagged or
// panicked), so the table bounds the pairs itself: the first max pairs seen
// keep a series for as long as the collector lives, and every later pair is
// folded into overflowKey. The choice never changes once made, so no series
// gives counts to another and counters never go down. A series, overflow
// included, is exported with zeros when the Snapshot has nothing for it
// (its goroutines returned, or its counts went to the Monitor's overflow
// entry), so series do not come and go with the goroutines.
type seriesTable struct {
	max      int
	mu       sync.Mutex // guards known and overflow; scrapes may run concurrently
	known    map[seriesKey]struct{}
	overflow bool // overflowKey has a series
}

// fold sums gs into their series.
func (t *seriesTable) fold(gs []ctxguard.GoroutineStats) map[seriesKey]*seriesStats {
	out := make(map[seriesKey]*seriesStats)
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range gs {
		g := &gs[i]
		k := t.keyLocked(seriesKey{labelValue(g.Name), labelValue(g.Scope)})
		st := out[k]
		if st == nil {
			st = new(seriesStats)
			out[k] = st
		}
		st.live += g.Live
		st.lagging += g.Lagging
		st.lagged += g.Lagged
		st.lateExits += g.LateExits
		st.panics += g.Panics
		st.delaySum += g.ExitDelayTotal
		if len(g.ExitDelays) > 0 {
			if st.delays == nil {
				st.delays = make([]uint64, len(g.ExitDelays))
			}
			for j, n := range g.ExitDelays {
				st.delays[min(j, len(st.delays)-1)] += n
			}
		}
	}
	for k := range t.known {
		if out[k] == nil {
			out[k] = new(seriesStats)
		}
	}
	if t.overflow && out[overflowKey] == nil {
		out[overflowKey] = new(seriesStats)
	}
	return out
}

// keyLocked returns the series k is counted in. The caller holds t.mu.
func (t *seriesTable) keyLocked(k seriesKey) seriesKey {
	if _, ok := t.known[k]; ok {
		return k
	}
	if k == overflowKey || len(t.known) >= t.max {
		t.overflow = true
		return overflowKey
	}
	if t.known == nil {
		t.known = make(map[seriesKey]struct{})
	}
	t.known[k] = struct{}{}
	return k
}
