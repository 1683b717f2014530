package ctxguard

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/internal/leakcheck"
	"github.com/ctxguard/ctxguard/internal/wait"
)

func TestNewPanicsOnNegativeFields(t *testing.T) {
	for field, cfg := range map[string]Config{
		"Grace":            {Grace: -time.Second},
		"CancelSampleRate": {CancelSampleRate: -1},
		"ReportInterval":   {ReportInterval: -time.Second},
		"MaxSites":         {MaxSites: -1},
		"UntrackedMin":     {UntrackedMin: -1},
	} {
		v := panicValue(func() { New(cfg) })
		msg, _ := v.(string)
		if want := "ctxguard: Config." + field + " must not be negative"; !strings.HasPrefix(msg, want) {
			t.Errorf("New(%+v) panicked with %q, want prefix %q", cfg, v, want)
		}
	}
}

func TestZeroConfigTakesDefaults(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	want := Config{Grace: DefaultGrace, CancelSampleRate: DefaultCancelSampleRate,
		ReportInterval: DefaultReportInterval, MaxSites: DefaultMaxSites, UntrackedMin: DefaultUntrackedMin}
	if m.cfg != want {
		t.Errorf("New(Config{}) config = %+v, want %+v", m.cfg, want)
	}
}

func TestMonitorFromContext(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	ctx := WithMonitor(context.Background(), m)
	child, cancel := WithCancel(ctx)
	defer cancel()
	if got := MonitorFrom(child); got != m {
		t.Errorf("MonitorFrom(child of WithMonitor(m)) = %p, want %p", got, m)
	}
	if got := MonitorFrom(context.Background()); got != Default() {
		t.Errorf("MonitorFrom(Background()) = %p, want Default() %p", got, Default())
	}
	if v := panicValue(func() { WithMonitor(context.Background(), nil) }); v == nil {
		t.Error("WithMonitor(ctx, nil) did not panic")
	}
	if v := panicValue(func() { SetDefault(nil) }); v == nil {
		t.Error("SetDefault(nil) did not panic")
	}
}

func TestSetDefault(t *testing.T) {
	old := Default()
	defer SetDefault(old)
	m := New(Config{CancelSampleRate: 1, ReportInterval: time.Hour, Logger: discardLogger})
	defer m.Close()
	SetDefault(m)
	if Default() != m {
		t.Fatal("Default() is not the Monitor passed to SetDefault")
	}
	repeat(10, context.Background(), constructors[0].drop)
	wait.Collecting(t, "the default Monitor counts drops from Background", func() bool {
		return m.Snapshot().DroppedCancels == 10
	})
}

// logRecords is a slog handler's output, decoded.
type logRecords struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logRecords) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logRecords) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

func (l *logRecords) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(l.buf.String()) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// The first drop of a site is logged at once; the rest are aggregated into
// one record per ReportInterval (here: the last one, at Close).
func TestReportsAreAggregatedPerSite(t *testing.T) {
	var logs logRecords
	m := New(Config{CancelSampleRate: 1, ReportInterval: time.Hour, Logger: logs.logger()})
	root := WithMonitor(context.Background(), m)
	repeat(1, root, constructors[0].drop)
	wait.Collecting(t, "the first drop is logged", func() bool { return len(logs.records(t)) == 1 })
	const n = 100_000
	repeat(n-1, root, constructors[0].drop)
	wait.Collecting(t, "every drop is counted", func() bool { return m.Snapshot().DroppedCancels == n })
	m.Close() // logs the last report

	recs := logs.records(t)
	if len(recs) != 2 {
		t.Fatalf("%d drops from one site gave %d log records, want 2 (the first drop, then the rest): %v", n, len(recs), recs)
	}
	file, line := lineOf(constructors[0].drop)
	for i, want := range []map[string]any{
		{"count": float64(1), "total": float64(1)},
		{"count": float64(n - 1), "total": float64(n)},
	} {
		want["level"], want["msg"], want["sample_rate"] = "WARN", "ctxguard: cancel funcs dropped without being called", float64(1)
		want["site"] = file + ":" + strconv.Itoa(line)
		for k, v := range want {
			if recs[i][k] != v {
				t.Errorf("record %d: [%q] = %v, want %v", i, k, recs[i][k], v)
			}
		}
	}
}

// One report round writes at most maxReportLines records and sums the
// other sites into one more.
func TestReportsBoundLinesAcrossSites(t *testing.T) {
	var logs logRecords
	m := New(Config{ReportInterval: time.Hour, Logger: logs.logger()})
	m.mu.Lock()
	m.closing = true // no loop starts: the test writes the round itself
	m.mu.Unlock()
	const sites = maxReportLines + 15
	var want uint64
	for pc := uintptr(1); pc <= sites; pc++ {
		for range pc {
			m.recordDroppedCancel(context.Background(), pc)
			want++
		}
	}
	m.report(time.Now(), false)
	wait.Collecting(t, "the round is written", func() bool { return len(logs.records(t)) >= maxReportLines+1 })
	recs := logs.records(t)
	if len(recs) != maxReportLines+1 {
		t.Fatalf("%d sites gave %d records, want %d", sites, len(recs), maxReportLines+1)
	}
	var sum float64
	for _, r := range recs {
		sum += r["count"].(float64)
	}
	if last := recs[len(recs)-1]; last["more_sites"] != float64(15) {
		t.Errorf("last record more_sites = %v, want 15", last["more_sites"])
	}
	if uint64(sum) != want {
		t.Errorf("counts in records sum to %v, want %d", sum, want)
	}
	// The busiest site comes first.
	if recs[0]["count"] != float64(sites) {
		t.Errorf("first record count = %v, want %d", recs[0]["count"], sites)
	}
}

// The sites left over from a round are summed one record per message:
// records of one kind with other messages (where lagging goroutines are
// blocked, beside the lags) keep theirs, and their counts are not mixed.
func TestReportsSumLeftoverSitesPerMessage(t *testing.T) {
	var logs logRecords
	m := New(Config{ReportInterval: time.Hour, Logger: logs.logger()})
	defer m.Close()
	var records []logRecord
	for i := range maxReportLines + 5 {
		records = append(records, logRecord{level: slog.LevelWarn, msg: msgLagging, count: uint64(100 + i), site: Site{Line: i}})
	}
	for i := range 3 {
		records = append(records, logRecord{level: slog.LevelWarn, msg: msgBlocked, site: Site{Line: 1000 + i}})
	}
	records = append(records, logRecord{level: slog.LevelInfo, msg: msgRecovered, count: 1, site: Site{Line: 2000}},
		logRecord{level: slog.LevelError, msg: msgRecovered, count: 2, site: Site{Line: 2001}})
	m.logRecords(records)
	want := maxReportLines + 3
	wait.Collecting(t, "the records are written", func() bool { return len(logs.records(t)) >= want })
	recs := logs.records(t)
	if len(recs) != want {
		t.Fatalf("%d records, want %d", len(recs), want)
	}
	for _, r := range recs[:maxReportLines] {
		if r["msg"] != msgLagging || r["more_sites"] != nil {
			t.Fatalf("a record among the busiest: %v, want a lag record", r)
		}
	}
	type summary struct {
		msg, level   string
		sites, count float64
	}
	var got []summary
	for _, r := range recs[maxReportLines:] {
		sites, _ := r["more_sites"].(float64)
		count, _ := r["count"].(float64)
		got = append(got, summary{r["msg"].(string), r["level"].(string), sites, count})
	}
	if w := []summary{
		{msgLagging, "WARN", 5, 100 + 101 + 102 + 103 + 104},
		{msgRecovered, "ERROR", 2, 3},
		{msgBlocked, "WARN", 3, 0},
	}; !slices.Equal(got, w) {
		t.Errorf("summaries %+v, want %+v", got, w)
	}
}

func TestSitesBeyondMaxSitesFoldIntoOverflow(t *testing.T) {
	m := New(Config{MaxSites: 3, ReportInterval: time.Hour, Logger: discardLogger})
	defer m.Close()
	for pc := uintptr(1); pc <= 10; pc++ {
		m.recordDroppedCancel(context.Background(), pc)
	}
	s := m.Snapshot()
	if len(s.DroppedCancelSites) != 4 {
		t.Fatalf("DroppedCancelSites has %d entries, want 3 sites and the overflow", len(s.DroppedCancelSites))
	}
	if got := s.DroppedCancelSites[0]; !got.Site.IsOverflow() || got.Count != 7 {
		t.Errorf("first entry = %+v, want the overflow site with 7", got)
	}
	if s.DroppedCancels != 10 {
		t.Errorf("DroppedCancels = %d, want 10", s.DroppedCancels)
	}
}

func TestCloseStopsTheReporter(t *testing.T) {
	defer leakcheck.Check(t)()
	var logs logRecords
	m := New(Config{ReportInterval: time.Millisecond, Logger: logs.logger()})
	m.recordDroppedCancel(context.Background(), 1)
	wait.Collecting(t, "the reporter logs", func() bool { return len(logs.records(t)) == 1 })
	m.recordDroppedCancel(context.Background(), 1)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { m.Close() })
	}
	wg.Wait()
	m.recordDroppedCancel(context.Background(), 1) // after Close: counted, no goroutine started
	if got := m.Snapshot().DroppedCancels; got != 3 {
		t.Errorf("DroppedCancels = %d, want 3", got)
	}
	if got := len(logs.records(t)); got != 2 {
		t.Errorf("%d records, want 2 (one report, then the last one at Close)", got)
	}
}
