package ctxdebug_test

import (
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxdebug"
	"github.com/ctxguard/ctxguard/internal/blockers"
	"github.com/ctxguard/ctxguard/internal/childproc"
	"github.com/ctxguard/ctxguard/spawn"
)

// blockedSite is where the goroutines blockers.Start starts with fn are
// blocked, as the page names it.
func blockedSite(fn string) ctxdebug.Site {
	_, line := blockers.Lines(fn)
	return ctxdebug.Site{Function: fn, File: blockers.File, Line: line}
}

// In a process of its own, since the goroutines proven leaked never end:
// 100 untracked goroutines blocked on channels only they hold, 100 on a
// reachable channel; tracked, one lagging on a channel only it holds, one
// lagging on a reachable channel, and one whose context never ends
// blocked on a channel only it holds. The page lists both groups, marks
// what can never return (on a Go release with the goroutine leak profile;
// without, it says the profile is not available and marks nothing), and
// lists the leaked goroutine that does not lag with the lagging ones.
func TestPageShowsLeaksAndUntrackedGroups(t *testing.T) {
	if !childproc.Run(t) {
		return // in a process of its own: what it proves leaked never ends
	}
	m := ctxguard.New(ctxguard.Config{Grace: 20 * time.Millisecond, ReportInterval: time.Second, WatchUntracked: true,
		Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	srv := httptest.NewServer(ctxdebug.Handler(m))
	defer srv.Close()
	root := ctxguard.WithMonitor(ctxguard.Background(), m)

	const n = ctxguard.DefaultUntrackedMin
	blockers.Start(n)
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := ctxguard.WithCancel(ctxguard.WithScope(root, "GET /export"))
	spawn.Go(ctx, func(ctxguard.Context) { <-make(chan struct{}) }, spawn.WithName("exporter"))
	spawn.Go(ctx, func(ctxguard.Context) { <-release }, spawn.WithName("renderer"))
	spawn.Go(root, func(ctxguard.Context) { <-make(chan struct{}) }, spawn.WithName("poller"))
	cancel()

	proven := ctxguard.LeakProfileAvailable()
	own, shared := blockedSite(blockers.Own), blockedSite(blockers.Reachable)
	var p ctxdebug.Page
	waitFor(t, "both lagging, both groups listed whole, and (with the profile) checked", func() bool {
		p = getJSON(t, srv.URL+"?format=json")
		if p.Totals.Lagging != 2 || len(p.Untracked.Groups) != 2 || p.Untracked.Groups[0].Count != n || p.Untracked.Groups[1].Count != n {
			return false
		}
		return !proven || p.Totals.Leaked == 2 && p.Untracked.Groups[0].Leaked == n
	})
	leaked := map[bool]int{true: 1}[proven]
	got := map[string]string{}
	for _, e := range p.Goroutines {
		got[e.Name] = fmt.Sprintf("lagging %d, leaked %d", e.Lagging, e.Leaked)
	}
	want := map[string]string{
		"exporter": fmt.Sprintf("lagging 1, leaked %d", leaked),
		"renderer": "lagging 1, leaked 0",
		"poller":   fmt.Sprintf("lagging 0, leaked %d", leaked),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	if lc := p.LeakCheck; lc.Available != proven || (lc.Last != nil) != proven || lc.GoVersion == "" {
		t.Errorf("leak check %+v, want available %v, checked %v", lc, proven, proven)
	}
	u := p.Untracked
	if !u.Watched || u.At == nil || u.Omitted != 0 || u.Live < 2*n {
		t.Errorf("untracked %+v, want watched, nothing omitted, at least %d live", u, 2*n)
	}
	groups := map[ctxdebug.Site]ctxdebug.UntrackedGroup{}
	for _, g := range u.Groups {
		groups[g.BlockedAt] = g
		if g.Start.Function != g.BlockedAt.Function || g.Start.File != g.BlockedAt.File || g.Reason != "chan receive" ||
			len(g.Frames) == 0 || g.Frames[0] != g.BlockedAt {
			t.Errorf("group %+v: want started as the function it is blocked in, in a chan receive, frames from there", g)
		}
		if last := g.Frames[len(g.Frames)-1]; last.Function != g.Start.Function {
			t.Errorf("group %+v: frames end at %v, want at the function they started with", g, last)
		}
	}
	if g := groups[own]; g.Count != n || g.Leaked != leaked*n {
		t.Errorf("group blocked at %v: %+v, want %d goroutines, %d leaked", own, g, n, leaked*n)
	}
	if g := groups[shared]; g.Count != n || g.Leaked != 0 {
		t.Errorf("group blocked at %v: %+v, want %d goroutines, none leaked", shared, g, n)
	}
	if proven && u.Groups[0].BlockedAt != own {
		t.Errorf("groups %+v: want the leaked one first", u.Groups)
	}

	r := get(t, srv.URL)
	body := strings.ReplaceAll(r.body, "<wbr>", "")
	var rows []string
	for _, row := range tableRows(t, r.body, "lagging") {
		rows = append(rows, row[0]+" | "+strings.Fields(row[2])[0])
	}
	wantRows := []string{"1 of 1 live 1 lagged | exporter", "1 of 1 live 1 lagged | renderer"}
	if proven {
		wantRows = []string{"1 1 can never return of 1 live 1 lagged | exporter", "1 of 1 live 1 lagged | renderer",
			"0 1 can never return of 1 live 0 lagged | poller"}
	}
	if fmt.Sprint(rows) != fmt.Sprint(wantRows) {
		t.Errorf("lagging table rows %q, want %q", rows, wantRows)
	}
	rows = nil
	for _, row := range tableRows(t, r.body, "untracked") {
		rows = append(rows, row[0]+" | "+row[1]+" | "+strings.Join(strings.Fields(row[2])[:2], " "))
	}
	ownRow := fmt.Sprintf("%d | %s at %s:%d | %s chan", n, own.Function, own.File, startLine(blockers.Own), own)
	sharedRow := fmt.Sprintf("%d | %s at %s:%d | %s chan", n, shared.Function, shared.File, startLine(blockers.Reachable), shared)
	if proven {
		ownRow = strings.Replace(ownRow, fmt.Sprint(n), fmt.Sprintf("%d %d can never return", n, n), 1)
	}
	if (rows[0] != ownRow || rows[1] != sharedRow) && (rows[1] != ownRow || rows[0] != sharedRow || proven) {
		t.Errorf("untracked table rows:\n%q\nwant\n%q\n%q", rows, ownRow, sharedRow)
	}
	note := "Proven leaks: not available on this Go release"
	if proven {
		note = "The profile last ran "
	}
	if !strings.Contains(body, note) {
		t.Errorf("the page does not say %q", note)
	}
}

// startLine is the line the function fn of package blockers is declared
// at.
func startLine(fn string) int {
	start, _ := blockers.Lines(fn)
	return start
}

// A proven leak of goroutines whose context never ends is listed before
// healthy entries with more live goroutines: the bound of MaxSites must
// not hide it while the totals count it. In a process of its own: what
// is proven leaked never ends.
func TestLeakedEntryIsNotOmitted(t *testing.T) {
	if !ctxguard.LeakProfileAvailable() {
		t.Skip("no goroutine leak profile on", "this Go release")
	}
	if !childproc.Run(t) {
		return
	}
	m := ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	srv := httptest.NewServer(ctxdebug.Handler(m, ctxdebug.WithMaxSites(1)))
	defer srv.Close()
	root := ctxguard.WithMonitor(ctxguard.Background(), m)
	release := make(chan struct{})
	defer close(release)
	for range 2 {
		spawn.Go(root, func(ctxguard.Context) { <-release }, spawn.WithName("healthy"))
	}
	spawn.Go(root, func(ctxguard.Context) { <-make(chan struct{}) }, spawn.WithName("leaky"))
	waitFor(t, "the leak to be proven", func() bool {
		if err := m.CheckLeaks(); err != nil {
			t.Fatal(err)
		}
		return m.Snapshot().Leaked == 1
	})
	p := getJSON(t, srv.URL+"?format=json")
	if p.Totals.Leaked != 1 {
		t.Fatalf("totals leaked %d, want 1", p.Totals.Leaked)
	}
	if len(p.Goroutines) != 1 || p.Goroutines[0].Name != "leaky" || p.Goroutines[0].Leaked != 1 {
		t.Errorf("entries %+v (%d omitted), want the leaky one listed", p.Goroutines, p.GoroutinesOmitted)
	}
}
