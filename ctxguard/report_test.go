package ctxguard

import (
	"context"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/internal/track"
	"github.com/ctxguard/ctxguard/internal/wait"
)

// lagNow registers n records named name in scope under m, whose context
// has ended, and runs the scans that make them lag at now; it returns
// them, for the test to end.
func lagNow(m *Monitor, name, scope string, n int, now time.Time) []*goroutine {
	ctx, cancel := context.WithCancel(WithScope(WithMonitor(context.Background(), m), scope))
	cancel()
	var gs []*goroutine
	for range n {
		gs = append(gs, register(ctx, nil, 0, &track.Options{Name: name}))
	}
	m.scan(now.UnixNano() - int64(m.cfg.Grace))
	m.scan(now.UnixNano())
	return gs
}

// want checks the attributes of a decoded log record.
func want(t *testing.T, rec map[string]any, attrs map[string]any) {
	t.Helper()
	for k, v := range attrs {
		if rec[k] != v {
			t.Errorf("record %v: [%q] = %v, want %v", rec["msg"], k, rec[k], v)
		}
	}
}

// The first lag of an entry is logged in the round that finds it; later
// lags of the same entry wait for ReportInterval after that record, and
// are then logged as one record with their count and the total.
func TestReportLogsAFirstLagAtOnceAndAggregatesTheRest(t *testing.T) {
	const interval = time.Minute
	var logs logRecords
	m := New(Config{Grace: time.Second, ReportInterval: interval, Logger: logs.logger()})
	defer m.Close()
	withoutLoop(m)
	start := time.Now()
	var gs []*goroutine
	defer func() {
		for _, g := range gs {
			g.exit()
		}
	}()

	gs = append(gs, lagNow(m, "worker", "GET /r", 1, start)...)
	if next := m.report(start, false); !next.IsZero() {
		t.Errorf("the round of the first lag returned %v, want zero: nothing held back", next)
	}
	wait.For(t, "the first lag's record", func() bool { return len(logs.records(t)) == 1 })

	later := start.Add(interval / 2)
	gs = append(gs, lagNow(m, "worker", "GET /r", 2, later)...)
	if next := m.report(later, false); !next.Equal(start.Add(interval)) {
		t.Errorf("the round within the interval returned %v, want the record held back to %v", next, start.Add(interval))
	}
	m.report(start.Add(interval), false)
	wait.For(t, "the aggregated record", func() bool {
		recs := logs.records(t)
		return len(recs) > 0 && recs[len(recs)-1]["total"] == float64(3)
	})

	recs := logs.records(t)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2 (the first lag, then the other two): %v", len(recs), recs)
	}
	for i, counts := range [][2]float64{{1, 1}, {2, 3}} {
		want(t, recs[i], map[string]any{
			"level": "WARN", "msg": msgLagging, "name": "worker", "scope": "GET /r",
			"count": counts[0], "total": counts[1], "cause": "context canceled", "grace": float64(time.Second),
		})
	}
}

// A lagging goroutine that returns is logged, in the next round, as a late
// exit with how late it was; the lagging count drops at its return.
func TestReportLogsLateExits(t *testing.T) {
	var logs logRecords
	m := New(Config{Grace: time.Second, ReportInterval: time.Minute, Logger: logs.logger()})
	defer m.Close()
	withoutLoop(m)
	now := time.Now()
	g := lagNow(m, "worker", "", 1, now)[0]
	m.report(now, false)
	g.exit()
	m.recordLateExits(false)
	m.report(now, false)
	wait.For(t, "the late exit's record", func() bool { return len(logs.records(t)) == 2 })

	recs := logs.records(t)
	want(t, recs[1], map[string]any{"msg": msgReturned, "name": "worker", "count": float64(1), "total": float64(1)})
	if d, _ := recs[1]["max_delay"].(float64); d < float64(time.Second) {
		t.Errorf("max_delay = %v, want at least the grace, %d", recs[1]["max_delay"], time.Second)
	}
	if s := m.Snapshot(); s.Lagging != 0 || entry(s, "worker").LateExits != 1 {
		t.Errorf("Lagging %d, LateExits %d; want 0, 1", s.Lagging, entry(s, "worker").LateExits)
	}
}

// Close writes what ReportInterval held back: a round with flush logs
// every entry with news, due or not.
func TestReportFlushWritesWhatWasHeldBack(t *testing.T) {
	var logs logRecords
	m := New(Config{Grace: time.Second, ReportInterval: time.Hour, Logger: logs.logger()})
	withoutLoop(m)
	now := time.Now()
	gs := lagNow(m, "worker", "", 1, now)
	m.report(now, false)
	gs = append(gs, lagNow(m, "worker", "", 4, now.Add(time.Second))...)
	m.report(now.Add(time.Second), false) // held back for an hour
	m.Close()
	for _, g := range gs {
		g.exit()
	}

	recs := logs.records(t)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2 (the first lag, then the held-back four at Close): %v", len(recs), recs)
	}
	want(t, recs[1], map[string]any{"msg": msgLagging, "count": float64(4), "total": float64(5)})
}
