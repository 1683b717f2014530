package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/ctxguard/ctxguard/bench/internal/probe"
)

// DetectionGroup compares ways of asking "which goroutines are lagging?"
// about n goroutines started with spawn.Go whose context has ended.
// With leakProfile, a last row compares Snapshot with Go's goroutine leak
// profile, measured by the helper built with the experiment.
func DetectionGroup(n int, leakProfile bool) Group {
	var p *probe.Population
	var goleakOnce, goroutineProfile func(*testing.B)
	snapshot := Side{"Monitor.Snapshot", func(b *testing.B) { p.Snapshot(b) }}
	slowRounds := 0 // the group's
	if n >= 100_000 {
		slowRounds = 1 // goleak takes some 30 s a pass
	}
	g := Group{
		Title: fmt.Sprintf("Which goroutines are lagging? %s goroutines", Count(n)),
		About: fmt.Sprintf("%d goroutines started with spawn.Go under a context that was then cancelled, all lagging "+
			"(grace 1 ms), blocked on a channel the benchmark holds; nothing else runs. ctxguard answers with "+
			"Monitor.Snapshot (counts per name, scope and site; Lagging = %d). goleak.Find is measured answering "+
			"after one pass (IgnoreCurrent taken after the goroutines started filters them all out, so Find does "+
			"one dump, parse and filter and returns): goleak 1.3.0 has no option to stop it retrying, and when it does "+
			"find goroutines it takes 21 passes and sleeps about 0.43 s between them, as the \"reporting\" row shows. "+
			"runtime.GoroutineProfile returns every goroutine's stack, which says nothing about contexts.", n, n),
		Setup: func() (func(), error) {
			var err error
			if p, err = probe.Lagging(n); err != nil {
				return nil, err
			}
			goleakOnce, goroutineProfile = p.GoleakOnePass(), p.GoroutineProfile()
			return p.Stop, nil
		},
		Comparisons: []Comparison{
			{Name: fmt.Sprintf("Detect/%s/vs=goleak", Count(n)), Op: fmt.Sprintf("Snapshot vs goleak.Find (one pass), %s", Count(n)),
				Ours: snapshot, Theirs: Side{"goleak.Find", func(b *testing.B) { goleakOnce(b) }}, MaxRounds: slowRounds},
			{Name: fmt.Sprintf("Detect/%s/vs=GoroutineProfile", Count(n)), Op: fmt.Sprintf("Snapshot vs runtime.GoroutineProfile, %s", Count(n)),
				Ours: snapshot, Theirs: Side{"runtime.GoroutineProfile", func(b *testing.B) { goroutineProfile(b) }}},
		},
	}
	if n <= 1000 {
		g.Comparisons = append(g.Comparisons, Comparison{
			Name: fmt.Sprintf("Detect/%s/vs=goleak-reporting", Count(n)), Op: fmt.Sprintf("Snapshot vs goleak.Find reporting them (default retries), %s", Count(n)),
			Ours: snapshot, Theirs: Side{"goleak.Find", func(b *testing.B) { p.GoleakReporting(b) }}, MaxRounds: 1})
	}
	if leakProfile {
		g.External = func(r *runner) ([]Row, error) { return r.leakProfileRows(n) }
		g.Notes = append(g.Notes, "Go leak profile: measured in a helper built with the profile (standard from Go 1.27, "+
			"GOEXPERIMENT=goroutineleakprofile on Go 1.26), "+
			"on the same population, interleaved with Snapshot there. Writing the profile runs a full GC cycle with "+
			"leak detection first (runtime_goroutineLeakGC), so its cost grows with the heap as well as the goroutines; "+
			"it reports 0 of these goroutines, since the channel they block on is reachable: lagging is not leaking.")
	}
	return g
}

// costLine is one line of the helper's cost output.
type costLine struct {
	N      int          `json:"n"`
	Ours   probe.Result `json:"ours"`
	Theirs probe.Result `json:"theirs"`
	Leaked int          `json:"leaked"` // goroutines the leak profile reported
}

// leakProfileRows runs the helper's cost mode at n and formats its result.
func (r *runner) leakProfileRows(n int) ([]Row, error) {
	bin, err := r.helper(true)
	if err != nil {
		return nil, err
	}
	out, err := r.command(bin, "cost", "-n", fmt.Sprint(n), "-rounds", fmt.Sprint(r.opts.DetectRounds),
		"-benchtime", r.opts.DetectBenchtime)
	if err != nil {
		return nil, err
	}
	lines, err := parseCost(out)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, l := range lines {
		c := Comparison{Op: fmt.Sprintf("Snapshot vs goroutineleak profile, %s (reported %d leaked)", Count(l.N), l.Leaked)}
		rows = append(rows, c.rows(l.Ours, l.Theirs)...)
	}
	return rows, nil
}

// parseCost reads the helper's cost output: one JSON object a line.
func parseCost(out []byte) ([]costLine, error) {
	var lines []costLine
	for _, l := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var c costLine
		if err := json.Unmarshal(l, &c); err != nil {
			return nil, fmt.Errorf("helper cost output %q: %v", l, err)
		}
		lines = append(lines, c)
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("helper cost output is empty")
	}
	return lines, nil
}
