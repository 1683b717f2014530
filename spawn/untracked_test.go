package spawn_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/blockers"
	"github.com/ctxguard/ctxguard/internal/childproc"
	"github.com/ctxguard/ctxguard/internal/places"
	"github.com/ctxguard/ctxguard/internal/wait"
	"github.com/ctxguard/ctxguard/spawn"
)

// In a process of its own, since the goroutines it proves leaked never
// end: 300 untracked goroutines blocked on channels only they hold, 300 on
// a channel a package variable holds, a tracked goroutine lagging on a
// channel only it holds, and healthy tracked ones.
func TestUntrackedGroupsAndProvenLeaks(t *testing.T) {
	if !childproc.Run(t) {
		return // in a process of its own: what it proves leaked never ends
	}
	var logs logRecords
	m := ctxguard.New(ctxguard.Config{Grace: grace, ReportInterval: time.Second, WatchUntracked: true, Logger: logs.logger()})
	defer m.Close()
	root := ctxguard.WithMonitor(context.Background(), m)
	const n = 300
	blockers.Start(n)
	const own, shared = blockers.Own, blockers.Reachable
	wait.For(t, "both groups to be seen whole", func() bool {
		s := m.Snapshot()
		return blockers.Group(s, own).Count == n && blockers.Group(s, shared).Count == n
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
	wait.For(t, "a leak check after the lag", func() bool {
		s = m.Snapshot()
		if u := blockers.Group(s, shared); u.Leaked != 0 {
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
			blockers.Group(s, own).Leaked == n
	})

	want := map[string]struct {
		line, leaked int
	}{
		own:    {0, n},
		shared: {0, 0},
	}
	for fn, w := range want {
		var start int
		start, w.line = blockers.Lines(fn)
		u := blockers.Group(s, fn)
		if !proven {
			w.leaked = 0
		}
		if u.Count != n || u.Leaked != w.leaked || u.BlockedAt.Count != n {
			t.Errorf("group %s: count %d, leaked %d, blocked-at count %d; want %d, %d, %d", fn, u.Count, u.Leaked, u.BlockedAt.Count, n, w.leaked, n)
		}
		if u.Start.File != blockers.File || u.Start.Line != start || u.BlockedAt.Site.Function != fn ||
			u.BlockedAt.Site.Line != w.line || u.BlockedAt.Reason != "chan receive" {
			t.Errorf("group %s: started at %v, blocked at %v; want this file, line %d (chan receive)", fn, u.Start, u.BlockedAt, w.line)
		}
	}
	t.Logf("groups %+v; leaked %d, checked %v, looked %v", s.Untracked, s.Leaked, s.LeakCheckAt, s.UntrackedAt)
	// A Snapshot's frames are the caller's to change.
	frames := blockers.Group(s, own).BlockedAt.Frames
	want0 := slices.Clone(frames)
	clear(frames)
	if got := blockers.Group(m.Snapshot(), own).BlockedAt.Frames; len(want0) == 0 || !slices.Equal(got, want0) {
		t.Errorf("group %s's frames after the caller cleared an earlier Snapshot's: %v, want %v", own, got, want0)
	}
	leaks := stats(s, "leaks")
	if want := map[bool]int{true: 1, false: 0}[proven]; leaks.Leaked != want || s.Leaked != want {
		t.Errorf("the lagging goroutine on its own channel: Leaked %d (Snapshot.Leaked %d), want %d", leaks.Leaked, s.Leaked, want)
	}
	if !proven {
		if err := m.CheckLeaks(); !errors.Is(err, ctxguard.ErrNoLeakProfile) {
			t.Errorf("CheckLeaks without the profile: %v, want ErrNoLeakProfile", err)
		}
		return
	}
	// The records follow the check, from the Monitor's goroutine: wait for
	// both kinds before reading them.
	const provenMsg, pileUpMsg = "ctxguard: goroutines that can never return (proven leaked)", "ctxguard: untracked goroutines piling up at one place"
	wait.For(t, "the leak check's records", func() bool {
		if len(logs.withMsg(t, provenMsg)) == 0 {
			return false
		}
		for _, r := range logs.withMsg(t, pileUpMsg) {
			if r["function"] == own && r["leaked"] != nil {
				return true
			}
		}
		return false
	})
	records := logs.withMsg(t, provenMsg)
	if len(records) != 1 || records[0]["name"] != "leaks" || records[0]["leaked"] != 1.0 || records[0]["level"] != "ERROR" {
		t.Errorf("proven-leak records: %v, want one for leaks with leaked=1", records)
	}
	found := false
	for _, r := range logs.withMsg(t, pileUpMsg) {
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

	// A goroutine whose context never ends is not lagging, and the
	// Monitor checks for leaks among those only every LongLivedLeakCheck:
	// CheckLeaks checks at once.
	spawn.Go(root, func(context.Context) {
		<-make(chan struct{}) // blocks: never ends
	}, spawn.WithName("never ends"))
	wait.For(t, "CheckLeaks to prove it leaked", func() bool {
		if err := m.CheckLeaks(); err != nil {
			t.Fatal(err)
		}
		s := m.Snapshot()
		return stats(s, "never ends").Leaked == 1 && s.Leaked == 2 && stats(s, "healthy").Leaked == 0
	})
	// Where it is blocked, though it does not lag.
	at := stats(m.Snapshot(), "never ends").LeakedAt
	if len(at) != 1 || at[0].Count != 1 || at[0].Reason != "chan receive" ||
		at[0].Site.Line != markedLineIn(t, "untracked_test.go", "never ends") {
		t.Errorf("LeakedAt of the goroutine whose context never ends: %v, want one, at its receive", at)
	}
	want1 := slices.Clone(at[0].Frames)
	clear(at[0].Frames)
	at[0].Count = 0
	if got := stats(m.Snapshot(), "never ends").LeakedAt; len(got) != 1 || got[0].Count != 1 || len(want1) == 0 || !slices.Equal(got[0].Frames, want1) {
		t.Errorf("LeakedAt after the caller changed an earlier Snapshot's: %v, want one with frames %v", got, want1)
	}
}

// Groups are bounded: beyond ten times MaxSites distinct ones a look tells
// apart, and MaxSites listed, their goroutines are counted as omitted.
func TestUntrackedGroupsAreBounded(t *testing.T) {
	release := make(chan struct{})
	var wg sync.WaitGroup
	const kinds, each = places.N, 4
	for i := range kinds * each {
		wg.Add(1)
		go func() {
			defer wg.Done()
			places.Wait(i%kinds, release)
		}()
	}
	defer wg.Wait()
	defer close(release)
	m := ctxguard.New(ctxguard.Config{WatchUntracked: true, Logger: slog.New(slog.DiscardHandler), UntrackedMin: each, MaxSites: 2, ReportInterval: time.Second})
	defer m.Close()
	wait.For(t, "a look at all of them", func() bool {
		s := m.Snapshot()
		listed := 0
		for _, u := range s.Untracked {
			listed += u.Count
		}
		// Every goroutine of the 25 places is listed or omitted (with
		// the test binary's own beyond the bound); two groups are
		// listed (MaxSites), each whole.
		return len(s.Untracked) == 2 && s.Untracked[0].Count == each && s.Untracked[1].Count == each &&
			listed+s.UntrackedOmitted >= kinds*each && listed+s.UntrackedOmitted <= s.UntrackedLive
	})
}
