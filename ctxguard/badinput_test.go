package ctxguard

import (
	"context"
	"math"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every entry point answers nil and zero-value input with a panic that
// names what was wrong, not a nil dereference deep inside.
func TestNilAndZeroInputsPanicWithTheirName(t *testing.T) {
	var nilCtx context.Context
	zero := &Monitor{}
	var nilMonitor *Monitor
	for _, c := range []struct {
		call string
		f    func()
		want string
	}{
		{"WithScope(nil, ...)", func() { WithScope(nilCtx, "x") }, "cannot create context from nil parent"},
		{"WithMonitor(nil, m)", func() { WithMonitor(nilCtx, Default()) }, "cannot create context from nil parent"},
		{"WithMonitor(ctx, nil)", func() { WithMonitor(context.Background(), nil) }, "ctxguard: WithMonitor called with a nil *Monitor"},
		{"WithMonitor(ctx, &Monitor{})", func() { WithMonitor(context.Background(), zero) }, "ctxguard: WithMonitor: the Monitor was not made by New"},
		{"SetDefault(&Monitor{})", func() { SetDefault(zero) }, "ctxguard: SetDefault: the Monitor was not made by New"},
		{"MonitorFrom(nil)", func() { MonitorFrom(nilCtx) }, "ctxguard: MonitorFrom called with a nil Context"},
		{"ScopeFrom(nil)", func() { ScopeFrom(nilCtx) }, "ctxguard: ScopeFrom called with a nil Context"},
		{"(&Monitor{}).Snapshot()", func() { zero.Snapshot() }, "ctxguard: Monitor.Snapshot: the Monitor was not made by New"},
		{"(&Monitor{}).Close()", func() { zero.Close() }, "ctxguard: Monitor.Close: the Monitor was not made by New"},
		{"(&Monitor{}).Observe(f)", func() { zero.Observe(func(Event) {}) }, "ctxguard: Monitor.Observe: the Monitor was not made by New"},
		{"(*Monitor)(nil).Snapshot()", func() { nilMonitor.Snapshot() }, "ctxguard: Monitor.Snapshot: nil *Monitor"},
	} {
		if got := panicValue(c.f); got != c.want {
			t.Errorf("%s panicked with %v, want %q", c.call, got, c.want)
		}
	}
}

// ReportInterval has a floor: a tiny one would make one record per event
// (and made the loop spin, once).
func TestReportIntervalIsRaisedToItsFloor(t *testing.T) {
	for _, d := range []time.Duration{time.Nanosecond, time.Millisecond, MinReportInterval - 1} {
		m := New(Config{ReportInterval: d})
		if m.cfg.ReportInterval != MinReportInterval {
			t.Errorf("ReportInterval %v became %v, want %v", d, m.cfg.ReportInterval, MinReportInterval)
		}
		m.Close()
	}
}

// A grace of hundreds of years means never: the deadline saturates instead
// of wrapping around into the past.
func TestGraceDeadlinesSaturate(t *testing.T) {
	for _, c := range []struct{ endedAt, grace, want int64 }{
		{1, 2, 3},
		{time.Now().UnixNano(), math.MaxInt64, math.MaxInt64},
		{time.Now().UnixNano(), int64(250 * 365 * 24 * time.Hour), math.MaxInt64},
	} {
		if got := addSaturating(c.endedAt, c.grace); got != c.want {
			t.Errorf("addSaturating(%d, %d) = %d, want %d", c.endedAt, c.grace, got, c.want)
		}
	}
}

// Names, scopes and sites are cut to MaxLabelBytes, at a rune boundary,
// into strings that do not keep the long originals reachable.
func TestLabelsAreBoundedInBytes(t *testing.T) {
	long := strings.Repeat("é", 1<<20) // two bytes a rune
	got := truncateLabel(long)
	if len(got) > MaxLabelBytes || !strings.HasSuffix(got, TruncatedMark) || !strings.HasPrefix(got, "éé") {
		t.Fatalf("truncateLabel: %d bytes, %q...", len(got), got[:10])
	}
	if short := "GET /items/{id}"; truncateLabel(short) != short {
		t.Errorf("a short label was changed")
	}

	m := New(Config{Logger: discardLogger})
	defer m.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range 1100 {
		scope := strconv.Itoa(i) + strings.Repeat("x", 1<<20)
		ScopeFrom(WithScope(WithMonitor(context.Background(), m), scope))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 64<<20 {
		t.Errorf("1,100 scopes of 1 MiB left %d MiB of heap, want the scopes cut to %d bytes", grown>>20, MaxLabelBytes)
	}
	if n := m.scopes.Len(); n != DefaultMaxSites {
		t.Errorf("%d scopes kept, want MaxSites (%d)", n, DefaultMaxSites)
	}
}
