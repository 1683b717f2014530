package ctxguard

import (
	"context"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/internal/track"
)

// A route whose lagging count hovers at its limit turns requests away at
// each lag and takes them again at each return. Its records are
// aggregated as the others are: many such episodes within ReportInterval
// give a handful of records, not two per episode.
func TestReportsOfAFlappingScopeAreBounded(t *testing.T) {
	var logs logRecords
	m := New(Config{Grace: time.Second, ReportInterval: time.Hour, Logger: logs.logger()})
	withoutLoop(m)
	const limit, episodes = 1, 100
	scope := track.ScopeOf(context.Background(), m, "GET /flap")
	now := time.Now()
	for range episodes {
		now = now.Add(10 * time.Millisecond)
		gs := lagNow(m, "handler", "GET /flap", 1, now)
		if scope.Lagging() >= limit { // as the middleware does
			scope.Shed(limit, 0)
		}
		m.report(now, false)
		gs[0].exit() // the route recovers
		m.recordLateExits(false)
		m.report(now, false)
	}
	m.Close() // writes what is left and waits for the Logger
	byMsg := map[any]int{}
	var held map[string]any
	for _, r := range logs.records(t) {
		byMsg[r["msg"]]++
		if r["msg"] == msgEpisodes {
			held = r
		}
	}
	if byMsg[msgShedding] != 1 || byMsg[msgRecovered] != 1 || byMsg[msgEpisodes] != 1 {
		t.Errorf("%d shedding episodes of one route within ReportInterval gave records %v, want one start, its recovery, and one record of the rest", episodes, byMsg)
	}
	if held["episodes"] != float64(episodes-1) || held["recoveries"] != float64(episodes-1) || held["shedding"] != false {
		t.Errorf("the record of the rest: %v, want %d episodes, %d recoveries, not shedding", held, episodes-1, episodes-1)
	}
}
