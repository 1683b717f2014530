package spawn_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// The untracked goroutines of TestUntrackedGroupsAndProvenLeaks.

// stillShared is reachable from a package variable: its waiters can be
// woken, so they never leak.
var stillShared = make(chan struct{})

//go:noinline
func waitOnOwnChannel() {
	<-make(chan struct{}) // blocks: own
}

//go:noinline
func waitOnSharedChannel() {
	<-stillShared // blocks: shared
}

// untrackedGroup returns the Snapshot's group of goroutines started with
// function fn, or a zero one.
func untrackedGroup(s ctxguard.Snapshot, fn string) ctxguard.UntrackedStats {
	for _, u := range s.Untracked {
		if u.Start.Function == fn {
			return u
		}
	}
	return ctxguard.UntrackedStats{}
}

// In a process of its own, since the goroutines it proves leaked never
// end: 300 untracked goroutines blocked on channels only they hold, 300 on
// a channel a package variable holds, a tracked goroutine lagging on a
// channel only it holds, and healthy tracked ones.
func TestUntrackedGroupsAndProvenLeaks(t *testing.T) {
	if os.Getenv("CTXGUARD_UNTRACKED_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUntrackedGroupsAndProvenLeaks$", "-test.v")
		cmd.Env = append(os.Environ(), "CTXGUARD_UNTRACKED_CHILD=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS")) {
			t.Errorf("the leaking process: %v\n%s", err, out)
		}
		return
	}
	var logs logRecords
	m := ctxguard.New(ctxguard.Config{Grace: grace, ReportInterval: time.Second, WatchUntracked: true, Logger: logs.logger()})
	defer m.Close()
	root := ctxguard.WithMonitor(context.Background(), m)
	const n = 300
	for range n {
		go waitOnOwnChannel()
		go waitOnSharedChannel()
	}
	const own, shared = "github.com/ctxguard/ctxguard/spawn_test.waitOnOwnChannel",
		"github.com/ctxguard/ctxguard/spawn_test.waitOnSharedChannel"
	waitFor(t, "both groups to be seen whole", func() bool {
		s := m.Snapshot()
		return untrackedGroup(s, own).Count == n && untrackedGroup(s, shared).Count == n
	})

	// Tracked: one lagging on a channel only it holds (it leaks), one
	// lagging on a reachable channel, healthy ones on a reachable channel.
	release := make(chan struct{})
	defer close(release)
	lagCtx, cancel := context.WithCancel(root)
	spawn.Go(lagCtx, func(context.Context) {
		<-make(chan struct{}) // blocks: tracked leak
	}, spawn.WithName("leaks"))
	spawn.Go(lagCtx, func(context.Context) { <-release }, spawn.WithName("lags"))
	for range 5 {
		spawn.Go(root, func(context.Context) { <-release }, spawn.WithName("healthy"))
	}
	cancel()

	proven := ctxguard.LeakProfileAvailable()
	var s ctxguard.Snapshot
	waitFor(t, "a leak check after the lag", func() bool {
		s = m.Snapshot()
		if u := untrackedGroup(s, shared); u.Leaked != 0 {
			t.Fatalf("%d goroutines waiting on a reachable channel counted as leaked", u.Leaked)
		}
		for _, name := range []string{"lags", "healthy"} {
			if g := stats(s, name); g.Leaked != 0 {
				t.Fatalf("%d %s goroutines counted as leaked", g.Leaked, name)
			}
		}
		if stats(s, "leaks").Lagging != 1 || stats(s, "lags").Lagging != 1 {
			return false
		}
		if !proven {
			return !s.UntrackedAt.IsZero() // nothing can be proven: it stays 0
		}
		return s.LeakCheckAt.After(s.UntrackedAt.Add(-time.Millisecond)) && s.Leaked == 1 &&
			untrackedGroup(s, own).Leaked == n
	})

	want := map[string]struct {
		line, leaked int
	}{
		own:    {markedLineIn(t, "untracked_test.go", "own"), n},
		shared: {markedLineIn(t, "untracked_test.go", "shared"), 0},
	}
	for fn, w := range want {
		u := untrackedGroup(s, fn)
		if !proven {
			w.leaked = 0
		}
		if u.Count != n || u.Leaked != w.leaked || u.BlockedAt.Count != n {
			t.Errorf("group %s: count %d, leaked %d, blocked-at count %d; want %d, %d, %d", fn, u.Count, u.Leaked, u.BlockedAt.Count, n, w.leaked, n)
		}
		if u.Start.File != "github.com/ctxguard/ctxguard/spawn/untracked_test.go" || u.BlockedAt.Site.Function != fn ||
			u.BlockedAt.Site.Line != w.line || u.BlockedAt.Reason != "chan receive" {
			t.Errorf("group %s: started at %v, blocked at %v; want this file, line %d (chan receive)", fn, u.Start, u.BlockedAt, w.line)
		}
	}
	t.Logf("groups %+v; leaked %d, checked %v, looked %v", s.Untracked, s.Leaked, s.LeakCheckAt, s.UntrackedAt)
	leaks := stats(s, "leaks")
	if want := map[bool]int{true: 1, false: 0}[proven]; leaks.Leaked != want || s.Leaked != want {
		t.Errorf("the lagging goroutine on its own channel: Leaked %d (Snapshot.Leaked %d), want %d", leaks.Leaked, s.Leaked, want)
	}
	if !proven {
		return
	}
	records := logs.withMsg(t, "ctxguard: goroutines that can never return (proven leaked)")
	if len(records) != 1 || records[0]["name"] != "leaks" || records[0]["leaked"] != 1.0 || records[0]["level"] != "ERROR" {
		t.Errorf("proven-leak records: %v, want one for leaks with leaked=1", records)
	}
	found := false
	for _, r := range logs.withMsg(t, "ctxguard: untracked goroutines piling up at one place") {
		if r["function"] == own && r["leaked"] == float64(n) {
			found = true
		}
		if r["function"] == shared && r["leaked"] != nil {
			t.Errorf("a record says goroutines on a reachable channel leaked: %v", r)
		}
	}
	if !found {
		t.Errorf("no record says the %d goroutines on their own channels leaked", n)
	}
}
