package ctxguard

import (
	"context"
	"reflect"
	"runtime"
	"strings"
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

// Where a lagging goroutine is blocked follows its lag record: once the
// loop's stack capture has found it, the next round writes a record of its
// own with the location, the wait reason and the count.
func TestReportFollowsALagWithWhereItIsBlocked(t *testing.T) {
	var logs logRecords
	m := New(Config{Grace: time.Second, ReportInterval: time.Minute, Logger: logs.logger()})
	defer m.Close()
	withoutLoop(m)
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithCancel(WithMonitor(context.Background(), m))
	cancel()
	fn := func(Context) { <-release }
	goTracked(ctx, fn, 0, &track.Options{Name: "blocked"})
	fnName := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	wait.For(t, "the goroutine to block", func() bool {
		buf := make([]byte, 1<<20)
		for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
			if strings.Contains(g, "[chan receive") && strings.Contains(g, fnName+"(") {
				return true
			}
		}
		return false
	})

	now := time.Now()
	m.scan(now.UnixNano() - int64(time.Second))
	m.scan(now.UnixNano())
	m.report(now, false)
	r := m.run.Load()
	m.maybeCapture(now, r)
	if !m.stackCapture.running {
		t.Fatal("no stack capture started for a lagging goroutine with no known stack")
	}
	m.captured(<-r.captured, now)
	m.report(now, false)
	wait.For(t, "two records", func() bool { return len(logs.records(t)) == 2 })

	recs := logs.records(t)
	want(t, recs[0], map[string]any{"msg": msgLagging, "name": "blocked", "count": float64(1)})
	if _, ok := recs[0]["blocked_at"]; ok {
		t.Errorf("the lag record says where it is blocked before any capture: %v", recs[0])
	}
	// fn is of package ctxguard, whose frames a capture takes for the
	// library's own (stacks.go): the location is named by the function,
	// with no line, as for a goroutine blocked in library code only.
	at := fnName[strings.LastIndexByte(fnName, '/')+1:] + " at " + fnName + " (chan receive) x1"
	want(t, recs[1], map[string]any{"msg": msgBlocked, "name": "blocked"})
	if got, _ := recs[1]["blocked_at"].([]any); len(got) != 1 || got[0] != at {
		t.Errorf("blocked_at = %v, want [%s]", recs[1]["blocked_at"], at)
	}
}
