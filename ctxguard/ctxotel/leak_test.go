package ctxotel_test

import (
	"context"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxotel"
	"github.com/ctxguard/ctxguard/internal/blockers"
	"github.com/ctxguard/ctxguard/internal/childproc"
	"github.com/ctxguard/ctxguard/spawn"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Lagging and leaked are reported apart: a lagging goroutine blocked on a
// channel only it holds is leaked, one blocked on a reachable channel only
// lagging; of two groups of 100 untracked goroutines, the one on channels
// only they hold is leaked whole. On a Go release without the goroutine
// leak profile, every leaked count is 0 and the check's time is not
// reported.
func TestMetricsReportLeaksExactly(t *testing.T) {
	if !childproc.Run(t) {
		return
	}
	m := ctxguard.New(ctxguard.Config{Grace: grace, ReportInterval: time.Second, WatchUntracked: true,
		Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	reg, err := ctxotel.RegisterMetrics(m, ctxotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	root := ctxguard.WithMonitor(context.Background(), m)

	const n = ctxguard.DefaultUntrackedMin
	blockers.Start(n)
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := ctxguard.WithCancel(root)
	spawn.Go(ctx, func(context.Context) {
		<-make(chan struct{})
	}, spawn.WithName("leaks"))
	spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("lags"))
	cancel()

	const own, shared = blockers.Own, blockers.Reachable
	proven := ctxguard.LeakProfileAvailable()
	waitFor(t, "both lag, both groups are listed whole, and (with the profile) checked", false, func() bool {
		s := m.Snapshot()
		if named(s, "leaks").Lagging != 1 || named(s, "lags").Lagging != 1 ||
			blockers.Group(s, own).Count != n || blockers.Group(s, shared).Count != n {
			return false
		}
		return !proven || s.Leaked == 1 && blockers.Group(s, own).Leaked == n
	})
	var leaked int64
	if proven {
		leaked = 1
	}
	ms := collectFrom(t, reader)
	s := m.Snapshot()
	ownKey := "ctxguard.blocked_at=" + blockers.BlockedAt(own) + ",ctxguard.start=" + own
	sharedKey := "ctxguard.blocked_at=" + blockers.BlockedAt(shared) + ",ctxguard.start=" + shared
	for _, c := range []struct {
		name string
		want points
	}{
		{"ctxguard.goroutines.lagging", points{"ctxguard.name=leaks": 1, "ctxguard.name=lags": 1}},
		{"ctxguard.goroutines.leaked", points{"ctxguard.name=leaks": leaked, "ctxguard.name=lags": 0}},
		{"ctxguard.goroutines.untracked", points{ownKey: n, sharedKey: n, "ctxguard.start=(other sites)": 0}},
		{"ctxguard.goroutines.untracked_leaked", points{ownKey: leaked * n, sharedKey: 0}},
	} {
		if got := int64Points(t, ms, c.name, "{goroutine}", upDown); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	_, checked := ms["ctxguard.leak_check.time"]
	switch {
	case !proven && checked:
		t.Errorf("without the leak profile, ctxguard.leak_check.time is reported: %+v", ms["ctxguard.leak_check.time"])
	case proven:
		got := int64Points(t, ms, "ctxguard.leak_check.time", "s", gaugeKind)
		if want := (points{"": s.LeakCheckAt.Unix()}); !reflect.DeepEqual(got, want) {
			t.Errorf("ctxguard.leak_check.time = %v, want %v (LeakCheckAt %v)", got, want, s.LeakCheckAt)
		}
	}
}

// The untracked goroutines of TestUntrackedGroupsBeyondMaxSitesAreSummed,
// three groups on one channel the test closes.

//go:noinline
func waitA(gate chan struct{}) { <-gate }

//go:noinline
func waitB(gate chan struct{}) { <-gate }

//go:noinline
func waitC(gate chan struct{}) { <-gate }

// A Monitor listing at most 2 groups (Config.MaxSites) has the two largest
// reported with their own attributes and the goroutines of the third
// under ctxguard.start "(other sites)": the untracked data points are
// bounded by MaxSites+1.
func TestUntrackedGroupsBeyondMaxSitesAreSummed(t *testing.T) {
	verifyNoLeaks(t)
	m := ctxguard.New(ctxguard.Config{ReportInterval: time.Second, WatchUntracked: true, MaxSites: 2, UntrackedMin: 10,
		Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	reg, err := ctxotel.RegisterMetrics(m, ctxotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	gate := make(chan struct{})
	for range 30 {
		go waitA(gate)
	}
	for range 20 {
		go waitB(gate)
	}
	for range 10 {
		go waitC(gate)
	}
	defer close(gate)
	const pkg = "github.com/ctxguard/ctxguard/ctxguard/ctxotel_test."
	waitFor(t, "groups of 30 and 20 listed, 10 omitted", false, func() bool {
		s := m.Snapshot()
		return blockers.Group(s, pkg+"waitA").Count == 30 && blockers.Group(s, pkg+"waitB").Count == 20 &&
			s.UntrackedOmitted == 10
	})
	s := m.Snapshot()
	ms := collectFrom(t, reader)
	want := points{"ctxguard.start=(other sites)": 10}
	for _, fn := range []string{"waitA", "waitB"} {
		u := blockers.Group(s, pkg+fn)
		want["ctxguard.blocked_at="+u.BlockedAt.Site.String()+",ctxguard.start="+pkg+fn] = int64(u.Count)
	}
	if got := int64Points(t, ms, "ctxguard.goroutines.untracked", "{goroutine}", upDown); !reflect.DeepEqual(got, want) {
		t.Errorf("ctxguard.goroutines.untracked = %v, want %v", got, want)
	}
	if got := int64Points(t, ms, "ctxguard.goroutines.untracked_leaked", "{goroutine}", upDown); len(got) != 2 {
		t.Errorf("ctxguard.goroutines.untracked_leaked = %v, want a point per listed group, 2", got)
	}
}
