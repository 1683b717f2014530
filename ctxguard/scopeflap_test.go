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
	for _, r := range logs.records(t) {
		byMsg[r["msg"]]++
	}
	if byMsg[msgShedding] > 1 || byMsg[msgRecovered] > 1 {
		t.Errorf("%d shedding episodes of one route within ReportInterval gave records %v, want at most one start and one recovery record", episodes, byMsg)
	}
}
