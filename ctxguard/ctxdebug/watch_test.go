package ctxdebug

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// newTestWatch is a watch fed by hand, taking no samples on events.
func newTestWatch(maxEvents int) *watch {
	return &watch{
		lags:       make(map[entryKey]*lagState),
		events:     make([]Event, maxEvents),
		nextSample: time.Now().Add(24 * time.Hour),
	}
}

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func lagEvent(kind ctxguard.EventKind, id uint64, name string, ended time.Time, cause error) ctxguard.Event {
	return ctxguard.Event{Kind: kind, ID: id, Name: name, Scope: "GET /x", Site: ctxguard.Site{File: "x.go", Line: 1},
		Time: ended.Add(time.Minute), Ended: ended, Cause: cause}
}

func TestOldestLagIsKeptPerEntry(t *testing.T) {
	w := newTestWatch(10)
	k := entryKey{"w", "GET /x", ctxguard.Site{File: "x.go", Line: 1}}
	ids := rand.Perm(100)
	for _, i := range ids { // out of order: the oldest 16 are kept whatever the order
		w.observe(lagEvent(ctxguard.EventLagStart, uint64(i), "w", t0.Add(time.Duration(i)*time.Second), errCanceled))
	}
	if n := len(w.lags[k].known); n != maxKnownLags {
		t.Fatalf("%d lags known, want %d", n, maxKnownLags)
	}
	oldest, causes := w.lagOfLocked(k)
	if !oldest.Equal(t0) || fmt.Sprint(causes) != "[{context canceled 100}]" {
		t.Errorf("oldest %v, causes %v; want %v and 100 context canceled", oldest, causes, t0)
	}
	w.observe(lagEvent(ctxguard.EventLateExit, 0, "w", t0, errCanceled))
	if oldest, causes := w.lagOfLocked(k); !oldest.Equal(t0.Add(time.Second)) || causes[0].Count != 99 {
		t.Errorf("after the oldest returned: oldest %v, causes %v; want %v and 99", oldest, causes, t0.Add(time.Second))
	}
	for i := 1; i < 100; i++ {
		w.observe(lagEvent(ctxguard.EventLateExit, uint64(i), "w", t0.Add(time.Duration(i)*time.Second), errCanceled))
	}
	if len(w.lags) != 0 {
		t.Errorf("every lagging goroutine returned, and %d entries are kept", len(w.lags))
	}
}

var errCanceled = errors.New("context canceled")

func TestCausesAreBounded(t *testing.T) {
	w := newTestWatch(10)
	k := entryKey{"w", "GET /x", ctxguard.Site{File: "x.go", Line: 1}}
	for i := range 7 {
		w.observe(lagEvent(ctxguard.EventLagStart, uint64(i), "w", t0, fmt.Errorf("cause %d", i%6)))
	}
	_, causes := w.lagOfLocked(k)
	want := "[{cause 0 2} {cause 1 1} {cause 2 1} {cause 3 1} {(other causes) 2}]"
	if fmt.Sprint(causes) != want {
		t.Errorf("causes %v, want %s", causes, want)
	}
	w.observe(lagEvent(ctxguard.EventLateExit, 5, "w", t0, fmt.Errorf("cause 5")))
	w.observe(lagEvent(ctxguard.EventLateExit, 0, "w", t0, fmt.Errorf("cause 0")))
	_, causes = w.lagOfLocked(k)
	if want := "[{cause 0 1} {cause 1 1} {cause 2 1} {cause 3 1} {(other causes) 1}]"; fmt.Sprint(causes) != want {
		t.Errorf("after two late exits, causes %v, want %s", causes, want)
	}
}

func TestLagEntriesAreBounded(t *testing.T) {
	w := newTestWatch(10)
	for i := range 2 * maxLagEntries {
		w.observe(lagEvent(ctxguard.EventLagStart, uint64(i), fmt.Sprint("w", i), t0, errCanceled))
	}
	if len(w.lags) != maxLagEntries {
		t.Errorf("%d entries kept, want %d", len(w.lags), maxLagEntries)
	}
	// A Snapshot showing none of them lagging lets them go.
	w.pruneLocked(&ctxguard.Snapshot{}, time.Now())
	if len(w.lags) != 0 {
		t.Errorf("%d entries kept after a Snapshot with none lagging", len(w.lags))
	}
}

func TestEventsAreCoalescedAndBounded(t *testing.T) {
	w := newTestWatch(3)
	ev := func(kind ctxguard.EventKind, name string, at time.Duration) ctxguard.Event {
		return ctxguard.Event{Kind: kind, Name: name, Time: t0.Add(at), Ended: t0, Cause: errCanceled}
	}
	for i := range 5 { // a burst: one row
		w.observe(ev(ctxguard.EventLagStart, "a", time.Duration(i)*100*time.Millisecond))
	}
	w.observe(ev(ctxguard.EventLagStart, "a", 3*time.Second)) // later: a row of its own
	w.observe(ev(ctxguard.EventLateExit, "a", 3*time.Second)) // another kind
	w.observe(ev(ctxguard.EventLagStart, "b", 3*time.Second)) // another name
	w.observe(ev(ctxguard.EventLagStart, "b", 3100*time.Millisecond))
	var got []string
	for _, e := range w.recentLocked(Filter{}) {
		got = append(got, fmt.Sprintf("%s %s x%d %.1fs", e.Kind, e.Name, e.Count, e.DelaySeconds))
	}
	want := "[LagStart b x2 3.1s LateExit a x1 3.0s LagStart a x1 3.0s]" // newest first, 3 kept
	if fmt.Sprint(got) != want {
		t.Errorf("events %v, want %s", got, want)
	}
	if got := w.recentLocked(Filter{Name: "b"}); len(got) != 1 || got[0].Name != "b" {
		t.Errorf("events filtered by name b: %v", got)
	}
}

// Formatting a cause or a panic value runs the program's code: its panic
// is contained and its length bounded.
func TestEventStringsAreContained(t *testing.T) {
	ev := eventOf(ctxguard.Event{Kind: ctxguard.EventPanic, Cause: panickyError{}, Value: strings.Repeat("x", 10_000)})
	if ev.Cause != "(panicked while formatting)" {
		t.Errorf("cause %q", ev.Cause)
	}
	if len(ev.Value) > ctxguard.MaxLabelBytes || !strings.HasSuffix(ev.Value, ctxguard.TruncatedMark) {
		t.Errorf("a 10,000-byte value kept as %d bytes", len(ev.Value))
	}
}

type panickyError struct{}

func (panickyError) Error() string { panic("no") }

func TestSamples(t *testing.T) {
	w := newTestWatch(1)
	w.addSampleLocked(Sample{Time: t0, Live: 1})
	w.addSampleLocked(Sample{Time: t0.Add(300 * time.Millisecond), Live: 2}) // the same second: replaces
	w.addSampleLocked(Sample{Time: t0.Add(time.Second), Live: 3})
	if len(w.samples) != 2 || w.samples[0].Live != 2 || w.samples[1].Live != 3 {
		t.Errorf("samples %v, want 2 then 3", w.samples)
	}
	w.addSampleLocked(Sample{Time: t0.Add(500 * time.Millisecond), Live: 4}) // taken before the last: dropped
	if len(w.samples) != 2 || w.samples[1].Live != 3 {
		t.Errorf("samples %v, want the late one dropped", w.samples)
	}
	for i := range 2 * int(ChartWindow/time.Second) {
		w.addSampleLocked(Sample{Time: t0.Add(2*time.Second + time.Duration(i)*time.Second/2)})
	}
	if most := int(ChartWindow/sampleSlot) + 1; len(w.samples) > most {
		t.Errorf("%d samples kept, want at most %d", len(w.samples), most)
	}
}

func TestChart(t *testing.T) {
	now := t0.Add(10 * time.Minute)
	samples := []Sample{
		{Time: now.Add(-9 * time.Minute), Live: 10, Lagging: 0},
		{Time: now.Add(-8 * time.Minute), Live: 12, Lagging: 3}, // a gap of a minute: still a line
		{Time: now.Add(-time.Minute / 2), Live: 30, Lagging: 7}, // a gap of seven and a half: the line breaks
		{Time: now, Live: 31, Lagging: 7},
	}
	c := charts(samples, now)
	if len(c) != 2 {
		t.Fatalf("%d charts", len(c))
	}
	live, lagging := c[0], c[1]
	if live.Max != 50 || lagging.Max != 10 || live.Last != 31 || lagging.Last != 7 || live.Span != "−10 min" {
		t.Errorf("live: max %d, last %d, span %s; lagging: max %d, last %d", live.Max, live.Last, live.Span, lagging.Max, lagging.Last)
	}
	if n := strings.Count(lagging.Path, "M"); n != 2 {
		t.Errorf("lagging path %q has %d segments, want 2", lagging.Path, n)
	}
	one := charts(samples[3:], now)[0]
	if one.Span != "−1 min" || !strings.HasSuffix(one.Path, "h2") {
		t.Errorf("a chart of one recent sample spans %s and is drawn %q; want −1 min and a dash", one.Span, one.Path)
	}
	for n, want := range map[int]int{0: 1, 1: 1, 2: 2, 3: 5, 7: 10, 10: 10, 11: 20, 99_999: 100_000} {
		if got := niceCeil(n); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestSeconds(t *testing.T) {
	for s, want := range map[float64]string{0: "0s", 0.85: "850ms", 5.14: "5.1s", 192: "3m12s", 7500: "2h05m"} {
		if got := seconds(s); got != want {
			t.Errorf("seconds(%v) = %q, want %q", s, got, want)
		}
	}
}

// Every field the template shows renders, escaped, including those the
// HTTP tests do not reach (waiting entries, panic values, omissions).
func TestRenderEveryField(t *testing.T) {
	ended := t0.Add(-time.Minute)
	site := Site{Function: "example.com/app.(*Jobs).run.func1", File: "example.com/app/jobs.go", Line: 42}
	p := &Page{
		Time: t0, WatchingSince: t0.Add(-time.Hour), Filter: Filter{Scope: "jobs"},
		Totals: Totals{Live: 12, Lagging: 7, Lagged: 9, Panics: 1, DroppedCancels: 3, EventsDropped: 2},
		Goroutines: []Entry{
			{Name: "worker", Scope: "jobs", Site: site, Live: 5, Lagging: 5, Lagged: 6, OldestEnded: &ended, LaggingForSeconds: 60,
				Causes: []CauseCount{{"deadline <exceeded>", 4}, {"context canceled", 1}},
				BlockedAt: []Blocked{{Site: site, Reason: "chan receive", Count: 3, Frames: []Site{site, site},
					WaitingFor: []LaggingEntry{}}}, BlockedAtOmitted: 1, NotCaptured: 1},
			{Name: "waiter", Scope: "jobs", Site: site, Live: 2, Lagging: 2, Waiting: true, Causes: []CauseCount{},
				BlockedAt: []Blocked{{Site: site, Reason: "spawn.Group.Wait", Count: 2, Frames: []Site{},
					WaitingFor: []LaggingEntry{{Name: "worker", Scope: "jobs", Site: site, Count: 5}}}}},
			{Name: "idle", Scope: "", Site: site, Live: 5, LateExits: 2, ExitDelayMaxSeconds: 75, Causes: []CauseCount{}, BlockedAt: []Blocked{}},
			{Name: "reader", Scope: "", Site: site, Live: 11, Leaked: 11, Causes: []CauseCount{}, BlockedAt: []Blocked{}},
		},
		GoroutinesOmitted: 4, OmittedLive: 6, OmittedLagging: 1,
		DroppedCancelSites: []SiteCount{{site, 3}}, DroppedCancelSitesOmitted: 2,
		Events: []Event{
			{Kind: "Panic", Time: t0, FirstTime: t0, Count: 1, Name: "worker", Scope: "jobs", Site: site, Value: "index out of range <3>"},
			{Kind: "DroppedCancel", Time: t0, FirstTime: t0, Count: 3, Scope: "jobs", Site: site},
		},
		Samples:   []Sample{{Time: t0.Add(-time.Minute), Live: 10, Lagging: 5}, {Time: t0, Live: 12, Lagging: 7}},
		LeakCheck: LeakCheck{Available: false, GoVersion: "go1.26.8"},
		Untracked: Untracked{Watched: true, At: &ended, Live: 400, Omitted: 30, Groups: []UntrackedGroup{
			{Start: Site{Function: "example.com/app.pump", File: "example.com/app/pump.go", Line: 7},
				BlockedAt: site, Reason: "chan send", Frames: []Site{site}, Count: 300, Leaked: 300},
			{Start: site, BlockedAt: site, Reason: "select", Frames: []Site{}, Count: 120},
		}},
	}
	var b strings.Builder
	if err := renderHTML(&b, p, query{filter: p.Filter, refresh: 10}); err != nil {
		t.Fatal(err)
	}
	body := strings.ReplaceAll(b.String(), "<wbr>", "")
	for _, want := range []string{
		`<meta http-equiv="refresh" content="10">`,
		`<tr class="waiting">`,
		`waiting for 5 lagging <span class="mono">worker</span> in jobs`,
		`deadline &lt;exceeded&gt; <span class="muted">×4</span>`,
		`1 blocked elsewhere`, `1 not captured yet`,
		`4 more entries (1 lagging, 6 live goroutines) are not listed`,
		`2 more sites are not listed`,
		`panic: index out of range &lt;3&gt;`,
		`<td class="num">1m15s</td>`, // the idle entry's max exit delay
		`href="?format=json&amp;scope=jobs"`,
		`<a href="?refresh=10">clear filter</a>`,
		// A leaked entry that does not lag is listed with the lagging ones.
		`<tr class="leaked">
<td class="num count">0<small class="leaked">11 can never return</small><small>of 11 live</small>`,
		`title="none of them lags: their context has not ended, or only within their grace">not lagging</span>`,
		`<b>n/a</b><span>proven leaked</span>`,
		`Proven leaks: not available on this Go release (go1.26.8), which has no goroutine leak profile`,
		`400 untracked goroutines at the Monitor's last look, 1m00s ago;`,
		`30 more are in groups not listed.`,
		`<tr class="leaked">
<td class="num count">300<small class="leaked">300 can never return</small></td>
<td class="site"><span class="mono">example.com/app.pump</span><small class="mono">at example.com/app/pump.go:7</small></td>
<td class="site"><details open><summary><span class="mono">example.com/app/jobs.go:42</span> <span class="reason">chan send</span></summary>`,
		`<tr class="pile">
<td class="num count">120</td>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(body, `id="untracked-off"`) {
		t.Error("the page says untracked goroutines are not watched")
	}

	// With the profile, before its first run, and without untracked
	// goroutines watched.
	p.LeakCheck, p.Untracked, p.Totals.Leaked = LeakCheck{Available: true, GoVersion: "go1.27.3"}, Untracked{Groups: []UntrackedGroup{}}, 11
	b.Reset()
	if err := renderHTML(&b, p, query{filter: p.Filter}); err != nil {
		t.Fatal(err)
	}
	body = strings.ReplaceAll(b.String(), "<wbr>", "")
	for _, want := range []string{
		`<title>7 lagging · 11 leaked · ctxguard</title>`,
		`<div class="card bad" id="total-leaked" title="tracked goroutines Go's goroutine leak profile proved can never return"><b>11</b><span>proven leaked</span></div>`,
		`It has not run yet: the Monitor runs it when goroutines lag or untracked goroutines pile up, unless its Config.NoLeakCheck is set (then only Monitor.CheckLeaks runs it).`,
		`<p class="muted" id="untracked-off">Not watched:`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page with the profile lacks %s", want)
		}
	}
	last := t0.Add(-5 * time.Second)
	p.LeakCheck.Last = &last
	p.Untracked = Untracked{Watched: true, At: &last, Live: 12, Groups: []UntrackedGroup{}}
	b.Reset()
	if err := renderHTML(&b, p, query{filter: p.Filter}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`The profile last ran 5.0s ago.`, `12 untracked goroutines at the Monitor's last look, 5.0s ago;`,
		`<p class="ok">No pile-up: no group is large enough to list, and none has goroutines proven leaked.</p>`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the page after a check lacks %s", want)
		}
	}
}
