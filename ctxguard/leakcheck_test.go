package ctxguard

import (
	"bytes"
	"context"
	"log/slog"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/internal/childproc"
	"github.com/ctxguard/ctxguard/internal/leakcheck"
	"github.com/ctxguard/ctxguard/internal/wait"
)

func TestParseLeakProfile(t *testing.T) {
	text := "goroutineleak profile: total 5\n" +
		"3 @ 0x10 0x20 0x30\n# labels: {\"a\":\"1\"}\n#\t0x10\tmain.f+0x1\t/x/main.go:3\n\n" +
		"1 @ 0x10 0x20 0x30\n#\t0x10\tmain.f+0x1\t/x/main.go:3\n\n" +
		"1 @ 0x40\n"
	got, err := parseLeakProfile([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		string(stackKey(nil, []uintptr{0x10, 0x20, 0x30})): 4, // the same stack under two label sets
		string(stackKey(nil, []uintptr{0x40})):             1,
	}
	if len(got) != len(want) {
		t.Fatalf("parsed %d stacks, want %d", len(got), len(want))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("stack %x: %d, want %d", k, got[k], n)
		}
	}
	for _, bad := range []string{
		"heap profile: 1: 2 [3: 4] @ heap/1048576\n",
		"goroutineleak profile: total 1\nthree @ 0x10\n",
		"goroutineleak profile: total 1\n1 @ 0xzz\n",
	} {
		if _, err := parseLeakProfile([]byte(bad)); err == nil {
			t.Errorf("parseLeakProfile(%q) did not fail", bad)
		}
	}
}

// Records whose context can never end are listed for leak checks while
// they run, and not after, however their exits and the scans interleave.
func TestNeverEndingRecordsAreListed(t *testing.T) {
	defer leakcheck.Check(t)()
	m := New(Config{Logger: discardLogger})
	defer m.Close()
	ctx := WithMonitor(context.Background(), m) // Done() is nil
	const n = 2000
	release := make(chan struct{})
	var started, done sync.WaitGroup
	started.Add(n)
	done.Add(n)
	for i := range n {
		goTracked(ctx, func(Context) {
			defer done.Done()
			started.Done()
			if i%2 == 0 {
				return // exits around the scans
			}
			<-release
		}, 0, nil)
	}
	started.Wait()
	wait.For(t, "every running record listed, after the loop's scans", func() bool {
		records := m.recordsByIdent()
		for _, g := range records {
			s := &m.shards[g.shard]
			s.mu.Lock()
			state := g.state
			s.mu.Unlock()
			if state == exited {
				return false
			}
		}
		return len(records) == n/2 && m.liveRecords() == n/2
	})
	close(release)
	done.Wait()
	wait.For(t, "no record listed", func() bool { return len(m.recordsByIdent()) == 0 && m.liveRecords() == 0 })
	for i := range m.shards {
		if s := &m.shards[i]; len(s.forever) != 0 {
			t.Errorf("shard %d still lists %d never-ending records", i, len(s.forever))
		}
	}
}

// parkedForever is a tracked function whose context never ends, blocked
// on a channel only it holds: it can never return.
func parkedForever(Context) {
	<-make(chan struct{})
}

// A tracked goroutine whose context never ends can leak too: the check for
// long-lived goroutines proves it. In a process of its own: it never ends.
func TestLongLivedGoroutinesAreChecked(t *testing.T) {
	if !LeakProfileAvailable() {
		t.Skip("no goroutineleak profile in this build (Go 1.26 without GOEXPERIMENT=goroutineleakprofile)")
	}
	if !childproc.Run(t) {
		return // in a process of its own: what it proves leaked never ends
	}
	longLivedLeakCheck = 100 * time.Millisecond
	m := New(Config{Logger: discardLogger, ReportInterval: time.Second})
	defer m.Close()
	ctx := WithMonitor(context.Background(), m)
	release := make(chan struct{})
	defer close(release)
	for range 3 {
		goTracked(ctx, parkedForever, 0, nil)
		goTracked(ctx, func(Context) { <-release }, 0, nil)
	}
	wait.For(t, "a check to prove the three leaked", func() bool {
		s := m.Snapshot()
		for _, g := range s.Goroutines {
			if want := map[bool]int{true: 3, false: 0}[g.Name == pcName(funcPC(parkedForever))]; g.Leaked > want {
				t.Fatalf("%s: %d leaked, want at most %d", g.Name, g.Leaked, want)
			}
		}
		return s.Leaked == 3 && s.Lagging == 0
	})
}

// A Monitor closed while a check runs waits for it, and leaves nothing
// running; programs that write the goroutine and goroutineleak profiles
// themselves meanwhile get whole profiles.
func TestCloseDuringChecksAndProfilesAlongside(t *testing.T) {
	defer leakcheck.Check(t)()
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 2000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
		}()
	}
	defer wg.Wait()
	defer close(release)
	stop := make(chan struct{})
	var profiles sync.WaitGroup
	for _, name := range []string{"goroutine", "goroutineleak"} {
		p := pprof.Lookup(name)
		if p == nil {
			continue
		}
		profiles.Add(1)
		go func() {
			defer profiles.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var buf bytes.Buffer
				if err := p.WriteTo(&buf, 1); err != nil || !bytes.Contains(buf.Bytes(), []byte(name+" profile: total")) {
					t.Errorf("%s profile: %v\n%.200s", name, err, buf.Bytes())
					return
				}
			}
		}()
	}
	for i := range 20 {
		// Its goroutine lags at once: the Monitor checks for leaks.
		m := New(Config{WatchUntracked: true, Logger: discardLogger, UntrackedMin: 1000, Grace: time.Millisecond})
		ctx, cancel := context.WithCancel(WithMonitor(context.Background(), m))
		goTracked(ctx, func(Context) { <-release }, 0, nil)
		cancel()
		if i%2 == 1 {
			wait.For(t, "a look", func() bool { return !m.Snapshot().UntrackedAt.IsZero() })
		}
		checked := make(chan error, 1)
		go func() { checked <- m.CheckLeaks() }()
		m.Close()
		if err := <-checked; err != nil && err != ErrNoLeakProfile {
			t.Errorf("CheckLeaks alongside Close: %v", err)
		}
		if s := m.Snapshot(); !s.UntrackedAt.IsZero() && groupCount(s, "ctxguard.TestCloseDuringChecksAndProfilesAlongside.func1") != 2000 {
			t.Errorf("Monitor %d: %+v, want the 2,000 goroutines in one group", i, s.Untracked)
		}
		if m.loopGoroutines.Load() != 0 {
			t.Fatalf("Monitor %d: its goroutine still runs after Close", i)
		}
	}
	close(stop)
	profiles.Wait()
}

// groupCount is the count of the group of s whose start function
// ends with fn.
func groupCount(s Snapshot, fn string) int {
	for _, u := range s.Untracked {
		if len(u.Start.Function) >= len(fn) && u.Start.Function[len(u.Start.Function)-len(fn):] == fn {
			return u.Count
		}
	}
	return 0
}

//go:noinline
func leakA(Context) { <-make(chan struct{}) }

//go:noinline
func leakB(Context) { <-make(chan struct{}) }

//go:noinline
func smallLeak() { <-make(chan struct{}) }

// leakDeep blocks forever on a channel only it holds, depth frames down.
//
//go:noinline
func leakDeep(depth int) {
	if depth == 0 {
		<-make(chan struct{})
	}
	leakDeep(depth - 1)
}

// Proven leaks at the edges, in a process of its own since they never
// end: leaks of an entry beyond MaxSites go to the Snapshot's overflow
// entry; a group listed for its leaks alone stays listed,
// and logged once, across looks that check nothing; a leaked goroutine
// started with a go statement by a healthy tracked one, too deep for the
// profile to hold its whole stack, is not the tracked one's.
func TestLeakCheckEdges(t *testing.T) {
	if !LeakProfileAvailable() {
		t.Skip("no goroutineleak profile in this build (Go 1.26 without GOEXPERIMENT=goroutineleakprofile)")
	}
	if !childproc.Run(t) {
		return // in a process of its own: what it proves leaked never ends
	}
	var logs bytes.Buffer
	var logMu sync.Mutex
	m := New(Config{MaxSites: 1, WatchUntracked: true, NoLeakCheck: true, ReportInterval: time.Second,
		Logger: slog.New(slog.NewJSONHandler(lockedWriter{&logMu, &logs}, nil))})
	defer m.Close()
	ctx := WithMonitor(context.Background(), m)
	release := make(chan struct{})
	defer close(release)
	for range 3 {
		goTracked(ctx, leakA, 0, nil)
		goTracked(ctx, leakB, 0, nil)
		go smallLeak()
	}
	goTracked(ctx, func(Context) {
		go leakDeep(2 * maxProfileFrames)
		<-release
	}, 0, nil)
	wait.For(t, "all nine leaks proven", func() bool {
		if err := m.CheckLeaks(); err != nil {
			t.Fatal(err)
		}
		return m.Snapshot().Leaked == 6 && len(m.Snapshot().Untracked) == 1 && m.Snapshot().Untracked[0].Leaked == 3
	})
	s := m.Snapshot()
	overflow := false
	for _, g := range s.Goroutines {
		switch {
		case g.Site.IsOverflow():
			overflow = g.Leaked == 3
		case g.Leaked != 0 && g.Leaked != 3:
			t.Errorf("entry %s: %d leaked, want 3 or 0", g.Name, g.Leaked)
		case g.Leaked == 0 && g.Live != 1:
			t.Errorf("entry %s: %d live, none leaked; want the healthy parent only", g.Name, g.Live)
		}
	}
	if !overflow {
		t.Errorf("no overflow entry with 3 leaked: %+v", s.Goroutines)
	}

	// Looks that check nothing keep the group, whose 3 are fewer than
	// UntrackedMin, and its leaks; a check that finds the same leaks logs
	// nothing new.
	records := func() (group, overflow int) {
		time.Sleep(100 * time.Millisecond) // for the Logger's goroutine
		logMu.Lock()
		defer logMu.Unlock()
		for _, line := range bytes.Split(logs.Bytes(), []byte("\n")) {
			switch {
			case bytes.Contains(line, []byte("smallLeak")) && bytes.Contains(line, []byte(msgUntracked)):
				group++
			case bytes.Contains(line, []byte(msgLeaked)) && bytes.Contains(line, []byte(`"name":"github.com/ctxguard/ctxguard/ctxguard.leakB"`)):
				overflow++
				if !bytes.Contains(line, []byte("leakB (chan receive) x")) {
					t.Errorf("leakB's record does not say where its goroutines are blocked: %s", line)
				}
			}
		}
		return group, overflow
	}
	group, overflowRecords := records()
	if group == 0 || overflowRecords == 0 {
		t.Fatalf("%d records of the group and %d of leakB, want some", group, overflowRecords)
	}
	at := s.UntrackedAt
	wait.For(t, "two later looks", func() bool {
		s := m.Snapshot()
		if len(s.Untracked) != 1 || s.Untracked[0].Leaked != 3 {
			t.Fatalf("after a look: %+v, want the group of 3 leaked", s.Untracked)
		}
		return s.UntrackedAt.After(at.Add(time.Second))
	})
	if err := m.CheckLeaks(); err != nil {
		t.Fatal(err)
	}
	if g, o := records(); g != group || o != overflowRecords {
		t.Errorf("records of the group %d -> %d, of leakB %d -> %d: the same leaks logged again", group, g, overflowRecords, o)
	}
}

// lockedWriter serializes writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
