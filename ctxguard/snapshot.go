package ctxguard

import (
	"cmp"
	"slices"
)

// A Snapshot is what a Monitor has observed, as of one moment.
type Snapshot struct {
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
	// summed under OverflowSite.
	DroppedCancelSites []SiteCount
}

// A SiteCount is the number of events at one site.
type SiteCount struct {
	Site  Site
	Count uint64
}

// Snapshot returns the Monitor's current counts. It takes the Monitor's
// lock briefly and symbolizes sites it has not seen before; it costs time
// proportional to the number of distinct sites, not events.
func (m *Monitor) Snapshot() Snapshot {
	s := Snapshot{
		CancelSampleRate: m.cfg.CancelSampleRate,
		CancelsTracked:   m.cancelsTracked.Load(),
	}
	m.mu.Lock()
	s.DroppedCancels = m.droppedCancels.Load()
	for _, st := range m.cancelSites.all() {
		s.DroppedCancelSites = append(s.DroppedCancelSites, SiteCount{st.resolve(), st.total})
	}
	m.mu.Unlock()
	sortSiteCounts(s.DroppedCancelSites)
	return s
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
