package spawn_test

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ctxguard/ctxguard/internal/childproc"
	"github.com/ctxguard/ctxguard/internal/wait"
	"github.com/ctxguard/ctxguard/spawn"
)

// What Go's own tools show of tracked goroutines: the same as of goroutines
// started with a go statement.

//go:noinline
func parkedWorker(release <-chan struct{}) func(context.Context) {
	return func(context.Context) {
		<-release // blocks: tools
	}
}

// countEntries returns the counts of the entries of a debug=1 text profile
// whose stack holds frames of each function of fns.
func countEntries(t *testing.T, profile []byte, fns ...string) []string {
	t.Helper()
	var counts []string
	for _, entry := range bytes.Split(profile, []byte("\n\n")) {
		if slices.ContainsFunc(fns, func(fn string) bool { return !bytes.Contains(entry, []byte("\t"+fn+"+")) }) {
			continue
		}
		if m := entryCount.FindSubmatch(entry); m != nil {
			counts = append(counts, string(m[1]))
		}
	}
	return counts
}

// entryCount is an entry's first line: its count, then its stack.
var entryCount = regexp.MustCompile(`(?m)^(\d+) @`)

// 300 goroutines started by spawn.Go from one function and blocked on one
// line are one entry of the goroutine profile, as 300 started by a go
// statement are; lagging or not, they are the same entry.
func TestGoroutineProfileGroupsTrackedGoroutines(t *testing.T) {
	m, root := newMonitor(t)
	ended, cancel := context.WithCancel(root)
	release := make(chan struct{})
	var control sync.WaitGroup
	defer func() {
		close(release)
		control.Wait()
		wait.For(t, "the goroutines to return", func() bool { return m.Snapshot().Live == 0 })
	}()
	const n = 300
	for i := range n {
		ctx := root
		if i%2 == 0 {
			ctx = ended // half of them lag
		}
		spawn.Go(ctx, parkedWorker(release))
		control.Go(func() { parkedWorker(release)(nil) })
	}
	cancel()
	blockedAt(t, m, "github.com/ctxguard/ctxguard/spawn_test.parkedWorker.func1", n/2)

	// Once all 600 are blocked (the wait is on the profile itself), each
	// kind is one entry.
	const worker = "github.com/ctxguard/ctxguard/spawn_test.parkedWorker.func1"
	var tracked, plain []string
	var profile bytes.Buffer
	wait.For(t, "one entry of 300 of each kind", func() bool {
		profile.Reset()
		if err := pprof.Lookup("goroutine").WriteTo(&profile, 1); err != nil {
			t.Fatal(err)
		}
		tracked = countEntries(t, profile.Bytes(), worker, "github.com/ctxguard/ctxguard/ctxguard.(*goroutine).run")
		plain = countEntries(t, profile.Bytes(), worker, "sync.(*WaitGroup).Go.func1")
		return slices.Equal(tracked, []string{"300"}) && slices.Equal(plain, []string{"300"})
	})
}

// The goroutine leak profile (Go 1.27, or Go 1.26 built with
// GOEXPERIMENT=goroutineleakprofile) lists tracked goroutines that can
// never resume as one entry, as it does goroutines of go statements. The
// goroutines leak for good, so a process of its own runs them.
func TestLeakProfileGroupsTrackedGoroutines(t *testing.T) {
	leaks := pprof.Lookup("goroutineleak")
	if leaks == nil {
		t.Skip("no goroutineleak profile in this build (Go 1.26 without GOEXPERIMENT=goroutineleakprofile)")
	}
	if !childproc.Run(t) {
		return // in a process of its own: what it proves leaked never ends
	}
	m, root := newMonitor(t)
	const n = 300
	for range n {
		spawn.Go(root, func(context.Context) {
			<-make(chan struct{}) // blocks: forever, on a channel only it holds
		})
	}
	// Each must be blocked for the profile to prove it leaked: the wait
	// is on the profile itself.
	var got []string
	var profile bytes.Buffer
	wait.For(t, "the leak profile to list them all", func() bool {
		profile.Reset()
		if err := leaks.WriteTo(&profile, 1); err != nil {
			t.Fatal(err)
		}
		got = countEntries(t, profile.Bytes(), "github.com/ctxguard/ctxguard/spawn_test.TestLeakProfileGroupsTrackedGoroutines.func1",
			"github.com/ctxguard/ctxguard/ctxguard.(*goroutine).run")
		return m.Snapshot().Live == n && len(got) == 1 && got[0] == "300"
	})
}

// A tracked goroutine's stack, as a goroutine dump (runtime.Stack, SIGQUIT,
// a panic, goleak) shows it, holds at most two frames of ctxguard's own,
// between the goroutine's function and the runtime.
func TestDumpsShowAtMostTwoFramesOfCtxguard(t *testing.T) {
	_, root := newMonitor(t)
	release := make(chan struct{})
	defer close(release)
	for range 3 {
		spawn.Go(root, parkedWorker(release))
	}
	var workers []string
	wait.For(t, "the goroutines to block", func() bool {
		workers = workers[:0]
		for _, g := range strings.Split(allStacks(), "\n\n") {
			// "[chan receive" or, on a slow machine, "[chan receive, 1 minutes]"
			if strings.Contains(g, "[chan receive") && strings.Contains(g, "spawn_test.parkedWorker.func1") {
				workers = append(workers, g)
			}
		}
		return len(workers) == 3
	})
	frame := regexp.MustCompile(`(?m)^(\S+)\(.*\)$`)
	for _, g := range workers {
		var own []string
		for _, f := range frame.FindAllStringSubmatch(g, -1) {
			if strings.HasPrefix(f[1], "github.com/ctxguard/ctxguard/ctxguard.") || strings.HasPrefix(f[1], "github.com/ctxguard/ctxguard/spawn.") {
				own = append(own, f[1])
			}
		}
		if len(own) > 2 {
			t.Errorf("%d frames of ctxguard's own %v in:\n%s", len(own), own, g)
		}
	}
}

// allStacks is runtime.Stack of every goroutine.
func allStacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

//go:noinline
func relabelledWorker(release <-chan struct{}) func(context.Context) {
	return func(ctx context.Context) {
		pprof.Do(ctx, pprof.Labels("job", "relabelled"), func(context.Context) {
			<-release // blocks: relabelled
		})
	}
}

// A function that sets its own profiler labels (pprof.Do) replaces the
// label set that identifies its goroutine; its lagging goroutines are
// still found by the function they run while all of its goroutines are
// blocked at one place, healthy ones among them.
func TestRelabelledGoroutinesAreFoundByTheirFunction(t *testing.T) {
	m, root := newMonitor(t)
	ended, cancel := context.WithCancel(root)
	release := make(chan struct{})
	defer close(release)
	for i := range 8 {
		ctx := root
		if i%2 == 0 {
			ctx = ended
		}
		spawn.Go(ctx, relabelledWorker(release))
	}
	cancel()
	g := blockedAt(t, m, "github.com/ctxguard/ctxguard/spawn_test.relabelledWorker.func1", 4)
	if len(g.BlockedAt) != 1 || g.BlockedAt[0].Count != 4 || g.BlockedAt[0].Site.Line != markedLineIn(t, "tools_test.go", "relabelled") {
		t.Errorf("blocked at %+v, want 4 at line %d", g.BlockedAt, markedLineIn(t, "tools_test.go", "relabelled"))
	}
}

// The package documentation's sample dump names the frames of ctxguard's
// own that a real dump shows.
func TestSampleDumpsAreTrue(t *testing.T) {
	_, root := newMonitor(t)
	release := make(chan struct{})
	defer close(release)
	spawn.Go(root, parkedWorker(release))
	var dump string
	wait.For(t, "the goroutine to block", func() bool {
		for _, g := range strings.Split(allStacks(), "\n\n") {
			if strings.Contains(g, "[chan receive") && strings.Contains(g, "spawn_test.parkedWorker.func1") {
				dump = g
				return true
			}
		}
		return false
	})
	want := ownFrames(dump)
	for _, file := range []string{"doc.go"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(string(b), "goroutine 622 [chan receive]:")
		if i < 0 {
			t.Fatalf("%s has no sample dump", file)
		}
		sample := string(b[i:])
		sample = sample[:strings.Index(sample, "goroutines.go:167")]
		sample = strings.ReplaceAll(sample, "//", "")
		if got := ownFrames(sample); !slices.Equal(got, want) {
			t.Errorf("%s's sample dump shows ctxguard frames %q; a real one shows %q:\n%s", file, got, want, dump)
		}
	}
}

// ownFrames lists the functions of ctxguard's own frames in a goroutine's
// dump, and of its "created by" line, with the Monitor's constructor that
// inlining may show around a closure's name left out.
func ownFrames(dump string) []string {
	var out []string
	for _, line := range strings.Split(dump, "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "created by "))
		if !strings.HasPrefix(line, "github.com/ctxguard/ctxguard/ctxguard.") {
			continue
		}
		name, _, _ := strings.Cut(line, "(0x")
		name, _, _ = strings.Cut(name, " in goroutine")
		name = strings.TrimSuffix(name, "()")
		out = append(out, strings.Replace(name, "newMonitor.", "", 1))
	}
	return out
}
