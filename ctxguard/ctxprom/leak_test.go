package ctxprom_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxprom"
	"github.com/ctxguard/ctxguard/internal/blockers"
	"github.com/ctxguard/ctxguard/internal/childproc"
	"github.com/ctxguard/ctxguard/spawn"
)

// Lagging and leaked are exported apart: a lagging goroutine blocked on a
// channel only it holds is leaked, one blocked on a reachable channel only
// lagging; of two groups of 100 untracked goroutines, the one on channels
// only they hold is leaked whole. On a Go release without the goroutine
// leak profile, every leaked count is 0 and the check's time is absent.
func TestLeaksAreExportedExactly(t *testing.T) {
	if !childproc.Run(t) {
		return
	}
	m := ctxguard.New(ctxguard.Config{Grace: grace, ReportInterval: time.Second, WatchUntracked: true,
		Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(ctxprom.NewCollector(m))
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
	waitFor(t, m, "both lag, both groups are listed whole, and (with the profile) checked", func(s ctxguard.Snapshot) bool {
		if named(s, "leaks").Lagging != 1 || named(s, "lags").Lagging != 1 ||
			blockers.Group(s, own).Count != n || blockers.Group(s, shared).Count != n {
			return false
		}
		return !proven || s.Leaked == 1 && blockers.Group(s, own).Leaked == n
	})
	leaked := 0
	if proven {
		leaked = 1
	}
	err := testutil.GatherAndCompare(reg, strings.NewReader(fmt.Sprintf(`
# HELP ctxguard_goroutines_lagging Tracked goroutines still running more than their grace period after their context ended, by goroutine name and scope.
# TYPE ctxguard_goroutines_lagging gauge
ctxguard_goroutines_lagging{name="lags",scope=""} 1
ctxguard_goroutines_lagging{name="leaks",scope=""} 1
# HELP ctxguard_goroutines_leaked Tracked goroutines, lagging or not, that Go's goroutine leak profile proved can never return (blocked on channels or locks nothing reachable can signal), at its last check, by goroutine name and scope. Always 0 on a Go release without the profile.
# TYPE ctxguard_goroutines_leaked gauge
ctxguard_goroutines_leaked{name="lags",scope=""} 0
ctxguard_goroutines_leaked{name="leaks",scope=""} %[1]d
# HELP ctxguard_goroutines_untracked Goroutines ctxguard does not track, in groups that started with the same function and are blocked at the same file:line, listed by the Monitor (Config.WatchUntracked) at its last look. start="(other sites)" counts those of groups beyond Config.MaxSites.
# TYPE ctxguard_goroutines_untracked gauge
ctxguard_goroutines_untracked{blocked_at="",start="(other sites)"} 0
ctxguard_goroutines_untracked{blocked_at="%[3]s",start="%[4]s"} %[2]d
ctxguard_goroutines_untracked{blocked_at="%[5]s",start="%[6]s"} %[2]d
# HELP ctxguard_goroutines_untracked_leaked Of ctxguard_goroutines_untracked, those Go's goroutine leak profile proved can never return, at its last check. Always 0 on a Go release without the profile.
# TYPE ctxguard_goroutines_untracked_leaked gauge
ctxguard_goroutines_untracked_leaked{blocked_at="%[3]s",start="%[4]s"} %[7]d
ctxguard_goroutines_untracked_leaked{blocked_at="%[5]s",start="%[6]s"} 0
`, leaked, n, blockers.BlockedAt(own), own, blockers.BlockedAt(shared), shared, leaked*n)),
		"ctxguard_goroutines_lagging", "ctxguard_goroutines_leaked",
		"ctxguard_goroutines_untracked", "ctxguard_goroutines_untracked_leaked")
	if err != nil {
		t.Error(err)
	}

	s := m.Snapshot()
	checks := families(t, reg, "ctxguard_leak_check_timestamp_seconds")
	switch {
	case !proven && len(checks) != 0:
		t.Errorf("without the leak profile, the check's time is exported: %v", checks)
	case proven && (len(checks) != 1 || value(checks[0]) != float64(s.LeakCheckAt.UnixNano())/1e9):
		t.Errorf("leak check time %v, want one of %v (the Snapshot's LeakCheckAt %v)",
			checks, float64(s.LeakCheckAt.UnixNano())/1e9, s.LeakCheckAt)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
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

// A Monitor listing at most 2 groups (Config.MaxSites) exports the two
// largest with their own labels and the goroutines of the third under
// start="(other sites)": the untracked series are bounded by MaxSites+1.
func TestUntrackedGroupsBeyondMaxSitesAreSummed(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{ReportInterval: time.Second, WatchUntracked: true, MaxSites: 2, UntrackedMin: 10,
		Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
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
	const pkg = "github.com/ctxguard/ctxguard/ctxguard/ctxprom_test."
	waitFor(t, m, "groups of 30 and 20 listed, 10 omitted", func(s ctxguard.Snapshot) bool {
		return blockers.Group(s, pkg+"waitA").Count == 30 && blockers.Group(s, pkg+"waitB").Count == 20 &&
			s.UntrackedOmitted == 10
	})
	s := m.Snapshot()
	want := map[string]float64{pkg + "waitA": 30, pkg + "waitB": 20, ctxguard.OverflowName: 10}
	got := map[string]float64{}
	c := ctxprom.NewCollector(m)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	for _, mt := range families(t, reg, "ctxguard_goroutines_untracked") {
		got[label(mt, "start")] = value(mt)
		if at := label(mt, "blocked_at"); (at == "") != (label(mt, "start") == ctxguard.OverflowName) {
			t.Errorf("series %v: blocked_at %q", mt.GetLabel(), at)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("untracked series %v, want %v (Snapshot: %+v)", got, want, s.Untracked)
	}
	if n := testutil.CollectAndCount(c, "ctxguard_goroutines_untracked_leaked"); n != 2 {
		t.Errorf("%d untracked leaked series, want one per listed group, 2", n)
	}
}
