package ctxguard

import (
	"slices"
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
