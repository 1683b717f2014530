package ctxprom

import (
	"time"

	"github.com/ctxguard/ctxguard/internal/series"
)

// seriesStats are the counts of one goroutine series: the sum of the
// Snapshot entries folded into it (see package internal/series for which
// label pairs get a series).
type seriesStats struct {
	live, lagging, leaked     int
	lagged, lateExits, panics uint64
	delaySum                  time.Duration
	delays                    []uint64 // as GoroutineStats.ExitDelays; nil if no late exits
}

// sum adds up a series' entries.
func sum(g *series.Group[struct{}]) seriesStats {
	var st seriesStats
	for _, e := range g.Entries {
		st.live += e.Live
		st.lagging += e.Lagging
		st.leaked += e.Leaked
		st.lagged += e.Lagged
		st.lateExits += e.LateExits
		st.panics += e.Panics
		st.delaySum += e.ExitDelayTotal
		if len(e.ExitDelays) > 0 {
			if st.delays == nil {
				st.delays = make([]uint64, len(e.ExitDelays))
			}
			for j, n := range e.ExitDelays {
				st.delays[min(j, len(st.delays)-1)] += n
			}
		}
	}
	return st
}
