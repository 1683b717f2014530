package spawn_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/places"
	"github.com/ctxguard/ctxguard/internal/wait"
	"github.com/ctxguard/ctxguard/spawn"
)

// thisFile is this file as ctxguard names it in sites and frames.
const thisFile = "github.com/ctxguard/ctxguard/spawn/blocked_test.go"

// markedLine returns the line of this file that ends with the comment
// "// blocks: " + marker.
func markedLine(t *testing.T, marker string) int {
	t.Helper()
	return markedLineIn(t, "blocked_test.go", marker)
}

// markedLineIn is markedLine for another file of this package.
func markedLineIn(t *testing.T, file, marker string) int {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.HasSuffix(sc.Text(), "// blocks: "+marker) {
			return n
		}
	}
	t.Fatalf("no line of %s marked %q", file, marker)
	return 0
}

// blockedAt waits until every lagging goroutine of the entry named name has
// a known blocking location, and returns the entry.
func blockedAt(t *testing.T, m *ctxguard.Monitor, name string, lagging int) ctxguard.GoroutineStats {
	t.Helper()
	var g ctxguard.GoroutineStats
	wait.For(t, name+"'s stacks are captured", func() bool {
		g = stats(m.Snapshot(), name)
		n := g.BlockedAtOmitted
		for _, b := range g.BlockedAt {
			n += b.Count
		}
		return g.Lagging == lagging && n == lagging
	})
	return g
}

//go:noinline
func p1SleepingLoop(stop *atomic.Bool) func(context.Context) {
	return func(ctx context.Context) {
		for !stop.Load() {
			time.Sleep(100 * time.Millisecond) // blocks: P1
		}
	}
}

//go:noinline
func p2Select(ch chan int, release <-chan struct{}) func(context.Context) {
	return func(ctx context.Context) {
		select { // blocks: P2
		case <-ch:
		case <-release:
		}
	}
}

//go:noinline
func p8Range(ch chan int) func(context.Context) {
	return func(ctx context.Context) {
		for range ch { // blocks: P8
		}
	}
}

//go:noinline
func p9Wait(release <-chan struct{}) func(context.Context) {
	return func(ctx context.Context) {
		var wg sync.WaitGroup
		wg.Add(2) // one Done too few
		go func() { defer wg.Done() }()
		go func() { <-release; wg.Done() }()
		wg.Wait() // blocks: P9
	}
}

// Each pattern's lagging goroutines are reported blocked at the exact line
// where they wait, with the runtime's reason.
func TestLaggingGoroutinesReportWhereTheyBlock(t *testing.T) {
	release := make(chan struct{})
	var stop atomic.Bool
	p8ch := make(chan int)
	defer func() { stop.Store(true); close(release); close(p8ch) }()
	cases := []struct {
		pattern, name, reason string
		fn                    func(context.Context)
	}{
		{"P1", "p1SleepingLoop.func1", "sleep", p1SleepingLoop(&stop)},
		{"P2", "p2Select.func1", "select", p2Select(make(chan int), release)},
		{"P8", "p8Range.func1", "chan receive", p8Range(p8ch)},
		{"P9", "p9Wait.func1", "sync.WaitGroup.Wait", p9Wait(release)},
	}
	const each = 3
	m, root := newMonitor(t)
	ctx, cancel := context.WithCancel(root)
	for _, c := range cases {
		for range each {
			spawn.Go(ctx, c.fn)
		}
	}
	cancel()
	for _, c := range cases {
		g := blockedAt(t, m, "github.com/ctxguard/ctxguard/spawn_test."+c.name, each)
		if len(g.BlockedAt) != 1 {
			t.Errorf("%s: blocked at %+v, want one location", c.pattern, g.BlockedAt)
			continue
		}
		b := g.BlockedAt[0]
		want := ctxguard.Site{Function: "github.com/ctxguard/ctxguard/spawn_test." + c.name, File: thisFile, Line: markedLine(t, c.pattern)}
		if b.Site != want || b.Reason != c.reason || b.Count != each || b.Waiting() {
			t.Errorf("%s: blocked at %v (%s) x%d, want %v (%s) x%d", c.pattern, b.Site, b.Reason, b.Count, want, c.reason, each)
		}
		if len(b.Frames) == 0 || b.Frames[0] != b.Site || b.Frames[len(b.Frames)-1].Function != want.Function {
			t.Errorf("%s: frames %v, want from the blocking frame down to the spawned function", c.pattern, b.Frames)
		}
	}
}

//go:noinline
func sameSiteWorker(stuck bool, release <-chan struct{}) func(context.Context) {
	return func(ctx context.Context) {
		if stuck {
			<-release // blocks: lagging
			return
		}
		<-release // blocks: healthy
	}
}

// A capture sees the goroutines of every Monitor in the process, whose
// records have the same shards and slots: a Monitor's lagging goroutines
// are reported where they, not another Monitor's goroutines, are blocked.
func TestCapturesTellMonitorsApart(t *testing.T) {
	const n = 64 // in each Monitor: every shard has its first slots taken
	release := make(chan struct{})
	defer close(release)
	m, root := newMonitor(t)
	other, otherRoot := newMonitor(t)
	healthy := func() { // the other Monitor's goroutines: live, blocked at "healthy"
		for range n {
			spawn.Go(otherRoot, sameSiteWorker(false, release))
		}
	}
	healthy() // started before m's, and after: whichever a capture meets first
	ended, cancel := context.WithCancel(root)
	for range n {
		spawn.Go(ended, sameSiteWorker(true, release))
	}
	healthy()
	cancel()
	g := blockedAt(t, m, "github.com/ctxguard/ctxguard/spawn_test.sameSiteWorker.func1", n)
	want := markedLine(t, "lagging")
	if len(g.BlockedAt) != 1 || g.BlockedAt[0].Site.Line != want || g.BlockedAt[0].Count != n {
		t.Errorf("blocked at %+v, want all %d at line %d", g.BlockedAt, n, want)
	}
	if s := other.Snapshot(); s.Live != 2*n || s.Lagging != 0 {
		t.Errorf("other Monitor: %d live, %d lagging, want %d, 0", s.Live, s.Lagging, 2*n)
	}
}

// Healthy goroutines running the same function from the same site as
// lagging ones are never counted where the lagging ones are blocked.
func TestHealthyGoroutinesOfTheSameSiteAreNotReported(t *testing.T) {
	m, root := newMonitor(t)
	ended, cancel := context.WithCancel(root)
	release := make(chan struct{})
	defer close(release)
	for i := range 10 {
		ctx := root // never ends: healthy
		if i%2 == 0 {
			ctx = ended
		}
		spawn.Go(ctx, sameSiteWorker(i%2 == 0, release)) // one site for all ten
	}
	cancel()
	g := blockedAt(t, m, "github.com/ctxguard/ctxguard/spawn_test.sameSiteWorker.func1", 5)
	if g.Live != 10 || len(g.BlockedAt) != 1 {
		t.Fatalf("entry: %d live, blocked at %+v; want 10 live, one location", g.Live, g.BlockedAt)
	}
	if b := g.BlockedAt[0]; b.Site.Line != markedLine(t, "lagging") || b.Count != 5 {
		t.Errorf("blocked at %v x%d, want line %d x5", b.Site, b.Count, markedLine(t, "lagging"))
	}
}

// runTask is a task tree: every level but the leaf runs its subtask in a
// Group and waits for it.
func runTask(ctx context.Context, depth int, release <-chan struct{}) error {
	if depth == 0 {
		<-release // blocks: leaf
		return nil
	}
	g, ctx := spawn.WithContext(ctx)
	g.Go(func() error { return runTask(ctx, depth-1, release) }) // the tree's nodes, one site
	return g.Wait()                                              // blocks: waiter
}

// In a task tree with one stuck leaf, the leaf is reported first and the
// goroutines waiting for it say so.
func TestTaskTreeReportsTheStuckLeafFirst(t *testing.T) {
	var logs logRecords
	m := ctxguard.New(ctxguard.Config{Grace: grace, ReportInterval: time.Hour, Logger: logs.logger()})
	defer m.Close()
	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	release := make(chan struct{})
	defer close(release)
	spawn.Go(ctx, func(ctx context.Context) { runTask(ctx, 2, release) }, spawn.WithName("request"))
	// The whole tree runs before its context ends, so that one scan
	// finds all of it lagging, however late its goroutines start.
	wait.For(t, "the tree runs", func() bool { return m.Snapshot().Live == 3 })
	cancel()

	node := blockedAt(t, m, "github.com/ctxguard/ctxguard/spawn_test.runTask.func1", 2)
	blockedAt(t, m, "request", 1)
	s := m.Snapshot()
	if len(s.Goroutines) != 2 || s.Goroutines[0].Name != node.Name || s.Goroutines[1].Name != "request" {
		t.Fatalf("entries %v, want the tree's nodes, then the request", names(s))
	}
	leaf, waiter := markedLine(t, "leaf"), markedLine(t, "waiter")
	b := s.Goroutines[0].BlockedAt
	if len(b) != 2 || b[0].Site.Line != leaf || b[0].Waiting() || b[1].Site.Line != waiter || b[1].Reason != "spawn.Group.Wait" {
		t.Fatalf("nodes blocked at %+v, want the leaf's line %d first, then Wait's line %d", b, leaf, waiter)
	}
	if w := b[1].WaitingFor; len(w) != 1 || w[0].Name != node.Name || w[0].Count != 1 {
		t.Errorf("the node in Wait waits for %+v, want the leaf node", w)
	}
	req := s.Goroutines[1]
	if !req.Waiting() || req.BlockedAt[0].Site.Line != waiter || req.BlockedAt[0].WaitingFor[0].Name != node.Name {
		t.Errorf("request blocked at %+v, want waiting in Wait (line %d) for the nodes", req.BlockedAt, waiter)
	}

	// The log says the same, the leaf's entry first.
	wait.For(t, "the where-blocked records", func() bool { return len(logs.withMsg(t, msgBlocked)) == 2 })
	recs := logs.withMsg(t, msgBlocked)
	if recs[0]["name"] != node.Name || !strings.Contains(recs[1]["blocked_at"].([]any)[0].(string), "waiting for 1 lagging "+node.Name) {
		t.Errorf("where-blocked records %v, want the nodes first, then the request waiting for them", recs)
	}
}

func names(s ctxguard.Snapshot) []string {
	var out []string
	for _, g := range s.Goroutines {
		out = append(out, g.Name)
	}
	return out
}

//go:noinline
func manyPlaces(i int, release <-chan struct{}) func(context.Context) {
	return func(context.Context) { places.Wait(i, release) } // blocked at one of places.N lines, by i
}

// An entry keeps at most 8 blocking locations and counts the goroutines
// blocked elsewhere.
func TestBlockingLocationsPerEntryAreBounded(t *testing.T) {
	m, root := newMonitor(t)
	ctx, cancel := context.WithCancel(root)
	release := make(chan struct{})
	for i := range 10 {
		spawn.Go(ctx, manyPlaces(i, release))
	}
	cancel()
	g := blockedAt(t, m, "github.com/ctxguard/ctxguard/spawn_test.manyPlaces.func1", 10)
	if len(g.BlockedAt) != 8 || g.BlockedAtOmitted != 2 {
		t.Errorf("%d locations, %d omitted; want 8 and 2", len(g.BlockedAt), g.BlockedAtOmitted)
	}
	close(release)
	wait.For(t, "the goroutines return", func() bool {
		g := stats(m.Snapshot(), "github.com/ctxguard/ctxguard/spawn_test.manyPlaces.func1")
		return g.Live == 0 && g.LateExits == 10
	})
	// The 8 locations stay, marked as past: where they were.
	g = stats(m.Snapshot(), "github.com/ctxguard/ctxguard/spawn_test.manyPlaces.func1")
	if len(g.BlockedAt) != 8 || g.BlockedAtOmitted != 0 {
		t.Errorf("after they returned: %d locations, %d omitted; want 8 and 0", len(g.BlockedAt), g.BlockedAtOmitted)
	}
	for _, b := range g.BlockedAt {
		if b.Count != 0 || b.Returned != 1 || !strings.HasSuffix(b.String(), ", returned)") {
			t.Errorf("after they returned: %+v (%s), want Count 0, Returned 1", b, b)
		}
	}
}

// Goroutines that return while their stacks are being captured leave
// nothing behind: every location count ends at zero, each location kept
// with the goroutines that returned from it.
func TestExitsRacingCapturesLeaveNoLocations(t *testing.T) {
	m, root := newMonitor(t)
	const n = 2000
	var wg sync.WaitGroup
	for i := range n {
		ctx, cancel := context.WithCancel(root)
		release := make(chan struct{})
		spawn.Go(ctx, func(context.Context) { <-release })
		cancel()
		wg.Go(func() {
			time.Sleep(grace + time.Duration(i%50)*time.Millisecond) // returns around the lag and the captures
			close(release)
		})
	}
	wg.Wait()
	wait.For(t, "every goroutine returned", func() bool { s := m.Snapshot(); return s.Live == 0 && lateExits(s)+lagFree(s) == n })
	for _, g := range m.Snapshot().Goroutines {
		if g.BlockedAtOmitted != 0 {
			t.Errorf("%s: %d omitted after every goroutine returned", g.Name, g.BlockedAtOmitted)
		}
		returned := 0
		for _, b := range g.BlockedAt {
			if b.Count != 0 {
				t.Errorf("%s: %d still blocked at %s after every goroutine returned", g.Name, b.Count, b)
			}
			returned += b.Returned
		}
		if uint64(returned) > g.LateExits {
			t.Errorf("%s: %d returned from their locations, more than the %d late exits", g.Name, returned, g.LateExits)
		}
	}
}

// lagFree counts the goroutines of s that returned within their grace.
func lagFree(s ctxguard.Snapshot) uint64 { return s.Spawned - s.Lagged }

// msgBlocked is the message of ctxguard's where-blocked log records.
const msgBlocked = "ctxguard: where lagging goroutines are blocked"

// logRecords collects a JSON slog handler's records.
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

// withMsg returns the records with message msg, decoded, in order.
func (l *logRecords) withMsg(t *testing.T, msg string) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(l.buf.Bytes()), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

//go:noinline
func deepStack(depth int, release <-chan struct{}) {
	if depth == 0 {
		<-release // blocks: deep
		return
	}
	deepStack(depth-1, release)
}

// A goroutine blocked deeper than the 32 frames of runtime.GoroutineProfile
// is found by a second, deeper capture.
func TestDeepStacksAreCaptured(t *testing.T) {
	m, root := newMonitor(t)
	ctx, cancel := context.WithCancel(root)
	release := make(chan struct{})
	defer close(release)
	spawn.Go(ctx, func(context.Context) { deepStack(60, release) }, spawn.WithName("deep"))
	cancel()
	g := blockedAt(t, m, "deep", 1)
	b := g.BlockedAt[0]
	if b.Site.Line != markedLine(t, "deep") || len(b.Frames) != 32 {
		t.Errorf("blocked at %v with %d frames, want line %d with 32 frames (the bound)", b.Site, len(b.Frames), markedLine(t, "deep"))
	}
}

// The frames a Snapshot gives are the caller's: changing them changes no
// later Snapshot.
func TestSnapshotFramesAreTheCallers(t *testing.T) {
	m, root := newMonitor(t)
	ctx, cancel := context.WithCancel(root)
	release := make(chan struct{})
	defer close(release)
	spawn.Go(ctx, func(context.Context) { deepStack(3, release) }, spawn.WithName("deep"))
	cancel()
	first := blockedAt(t, m, "deep", 1).BlockedAt[0]
	want := slices.Clone(first.Frames)
	for i := range first.Frames {
		first.Frames[i] = ctxguard.Site{Function: "changed by the caller"}
	}
	if got := blockedAt(t, m, "deep", 1).BlockedAt[0].Frames; !slices.Equal(got, want) {
		t.Errorf("frames after the caller changed an earlier Snapshot's: %v, want %v", got, want)
	}
}

// An entry says since when its oldest lagging goroutine's context ended,
// worked out again when that goroutine returns, and its last cause.
func TestLaggingSinceFollowsTheOldest(t *testing.T) {
	m, root := newMonitor(t)
	first, cancelFirst := context.WithCancelCause(root)
	second, cancelSecond := context.WithCancelCause(root)
	releaseFirst, releaseSecond := make(chan struct{}), make(chan struct{})
	defer close(releaseSecond)
	for i, ctx := range []context.Context{first, second} { // one site: one entry
		release := []chan struct{}{releaseFirst, releaseSecond}[i]
		spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("since"))
	}
	cancelFirst(errors.New("first"))
	wait.For(t, "the first to lag", func() bool { return stats(m.Snapshot(), "since").Lagging == 1 })
	firstSince := stats(m.Snapshot(), "since").LaggingSince
	cancelSecond(errors.New("second"))
	wait.For(t, "both to lag", func() bool { return stats(m.Snapshot(), "since").Lagging == 2 })
	if g := stats(m.Snapshot(), "since"); !g.LaggingSince.Equal(firstSince) || g.LastCause != "second" {
		t.Errorf("both lagging: since %v, last cause %q; want %v (the first's), second", g.LaggingSince, g.LastCause, firstSince)
	}
	close(releaseFirst)
	wait.For(t, "the first to return", func() bool { return stats(m.Snapshot(), "since").Lagging == 1 })
	if g := stats(m.Snapshot(), "since"); !g.LaggingSince.After(firstSince) {
		t.Errorf("after the oldest returned: since %v, want after %v", g.LaggingSince, firstSince)
	}
}
