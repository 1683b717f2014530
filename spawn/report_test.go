package spawn_test

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/wait"
	"github.com/ctxguard/ctxguard/spawn"
)

// Log messages of ctxguard's records.
const (
	msgLagging  = "ctxguard: goroutines still running after their context ended"
	msgReturned = "ctxguard: lagging goroutines returned"
	msgDropped  = "ctxguard: cancel funcs dropped without being called"
)

// The first lag of a site is logged when it is found, not at the next
// ReportInterval (an hour here), with the goroutine's own grace; where it
// is blocked follows once its stack is captured.
func TestFirstLagIsLoggedAtOnce(t *testing.T) {
	var logs logRecords
	m := ctxguard.New(ctxguard.Config{Grace: time.Hour, ReportInterval: time.Hour, Logger: logs.logger()})
	defer m.Close()
	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	release := make(chan struct{})
	defer close(release)
	const ownGrace = 30 * time.Millisecond
	spawn.Go(ctx, func(context.Context) {
		<-release // blocks: first lag
	}, spawn.WithName("slow"), spawn.WithGrace(ownGrace))
	cancel()
	wait.For(t, "the lag is logged", func() bool { return len(logs.withMsg(t, msgLagging)) == 1 })
	r := logs.withMsg(t, msgLagging)[0]
	if r["name"] != "slow" || r["count"] != 1.0 || r["grace"] != float64(ownGrace) {
		t.Errorf("record %v, want name slow, count 1, grace %v (the goroutine's, not the Monitor's)", r, ownGrace)
	}
	wait.For(t, "where it is blocked is logged", func() bool { return len(logs.withMsg(t, msgBlocked)) == 1 })
	at := logs.withMsg(t, msgBlocked)[0]["blocked_at"].([]any)
	if want := "spawn_test.TestFirstLagIsLoggedAtOnce.func1 at " + thisFileLine(t, "first lag", "report_test.go") + " (chan receive) x1"; len(at) != 1 || at[0] != want {
		t.Errorf("blocked_at %v, want [%s]", at, want)
	}
}

// thisFileLine is "file:line" of the line of file (in this package's
// directory) marked with "// blocks: " + marker, as ctxguard names sites.
func thisFileLine(t *testing.T, marker, file string) string {
	t.Helper()
	return "github.com/ctxguard/ctxguard/spawn/" + file + ":" + strconv.Itoa(markedLineIn(t, file, marker))
}

// The first drop of a site is logged as soon as the collector finds it.
func TestFirstDropIsLoggedAtOnce(t *testing.T) {
	var logs logRecords
	m := ctxguard.New(ctxguard.Config{CancelSampleRate: 1, ReportInterval: time.Hour, Logger: logs.logger()})
	defer m.Close()
	dropCancel(ctxguard.WithMonitor(context.Background(), m))
	runtime.GC()
	wait.For(t, "the drop is logged", func() bool {
		runtime.GC() // cleanups run after the collection that finds the cancel func unreachable
		return len(logs.withMsg(t, msgDropped)) == 1
	})
}

//go:noinline
func dropCancel(ctx context.Context) {
	_, _ = ctxguard.WithCancel(ctx) //ctxvet:ignore lostcancel the drop this test checks
}

// A hundred thousand goroutines lagging from one site give a handful of
// records, whose counts add up.
func TestManyLaggingGiveAHandfulOfRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns 100,000 goroutines")
	}
	var logs logRecords
	m := ctxguard.New(ctxguard.Config{Grace: grace, ReportInterval: time.Hour, Logger: logs.logger()})
	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	release := make(chan struct{})
	releaseOnce := sync.OnceFunc(func() { close(release) })
	defer releaseOnce() // if a wait fails: the goroutines must not outlive the test
	const n = 100_000
	for range n {
		spawn.Go(ctx, func(context.Context) { <-release })
	}
	cancel()
	wait.For(t, "all lag, and a first capture says where", func() bool {
		s := m.Snapshot()
		return s.Lagging == n && len(s.Goroutines[0].BlockedAt) == 1
	})
	releaseOnce()
	wait.For(t, "all return", func() bool { s := m.Snapshot(); return s.Live == 0 && lateExits(s) == n })
	m.Close()
	lags, returns := logs.withMsg(t, msgLagging), logs.withMsg(t, msgReturned)
	total := len(lags) + len(returns) + len(logs.withMsg(t, msgBlocked))
	if total > 5 {
		t.Errorf("%d records for %d lagging goroutines of one site, want a handful", total, n)
	}
	var lagged, returned float64
	for _, r := range lags {
		lagged += r["count"].(float64)
	}
	for _, r := range returns {
		returned += r["count"].(float64)
	}
	if lagged != n || returned != n {
		t.Errorf("records count %v lagged and %v returned, want %d each", lagged, returned, n)
	}
}
