package ctxprom_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxprom"
	"github.com/ctxguard/ctxguard/spawn"
)

// The families whose values are exact in any scenario: all but the
// exit-delay histogram, whose buckets depend on timing.
var exactFamilies = []string{
	"ctxguard_cancel_sample_rate",
	"ctxguard_cancels_dropped_total",
	"ctxguard_cancels_tracked_total",
	"ctxguard_events_dropped_total",
	"ctxguard_goroutine_panics_total",
	"ctxguard_goroutines_lagged_total",
	"ctxguard_goroutines_lagging",
	"ctxguard_goroutines_leaked",
	"ctxguard_goroutines_live",
	"ctxguard_goroutines_spawned_total",
	"ctxguard_observer_panics_total",
	"ctxguard_log_records_dropped_total",
	"ctxguard_logger_panics_total",
	"ctxguard_context_panics_total",
}

// The exposition of the exact families, with the values of a scenario left
// as verbs: site, tracked, spawned; then for the stuck, worker and panicky
// series in turn: live, lagging, lagged, panics.
const exposition = `
# HELP ctxguard_cancel_sample_rate One in this many cancel funcs is tracked for being dropped; 1 tracks every one.
# TYPE ctxguard_cancel_sample_rate gauge
ctxguard_cancel_sample_rate 1
# HELP ctxguard_cancels_dropped_total Tracked cancel funcs garbage collected uncalled while their context was not done, by the file:line that created them. Multiply by ctxguard_cancel_sample_rate to estimate all dropped cancel funcs.
# TYPE ctxguard_cancels_dropped_total counter
ctxguard_cancels_dropped_total{site="%[1]s"} 2
# HELP ctxguard_cancels_tracked_total Cancel funcs of ctxguard's WithCancel, WithTimeout, WithDeadline and their Cause forms that were tracked for being dropped: one in ctxguard_cancel_sample_rate of those created.
# TYPE ctxguard_cancels_tracked_total counter
ctxguard_cancels_tracked_total %[2]d
# HELP ctxguard_context_panics_total Panics recovered from methods of tracked contexts called by the Monitor.
# TYPE ctxguard_context_panics_total counter
ctxguard_context_panics_total 0
# HELP ctxguard_events_dropped_total Monitor events not delivered to observers because too many were waiting (an observer is slow or blocked).
# TYPE ctxguard_events_dropped_total counter
ctxguard_events_dropped_total 0
# HELP ctxguard_goroutine_panics_total Tracked goroutines that panicked, recovered or not, by goroutine name and scope.
# TYPE ctxguard_goroutine_panics_total counter
ctxguard_goroutine_panics_total{name="stuck",scope="/orders"} %[7]d
ctxguard_goroutine_panics_total{name="worker",scope=""} %[11]d
ctxguard_goroutine_panics_total{name="panicky",scope=""} %[15]d
# HELP ctxguard_goroutines_lagged_total Tracked goroutines that ever ran more than their grace period after their context ended (became lagging), by goroutine name and scope.
# TYPE ctxguard_goroutines_lagged_total counter
ctxguard_goroutines_lagged_total{name="stuck",scope="/orders"} %[6]d
ctxguard_goroutines_lagged_total{name="worker",scope=""} %[10]d
ctxguard_goroutines_lagged_total{name="panicky",scope=""} %[14]d
# HELP ctxguard_goroutines_lagging Tracked goroutines still running more than their grace period after their context ended, by goroutine name and scope.
# TYPE ctxguard_goroutines_lagging gauge
ctxguard_goroutines_lagging{name="stuck",scope="/orders"} %[5]d
ctxguard_goroutines_lagging{name="worker",scope=""} %[9]d
ctxguard_goroutines_lagging{name="panicky",scope=""} %[13]d
# HELP ctxguard_goroutines_leaked Tracked goroutines, lagging or not, that Go's goroutine leak profile proved can never return (blocked on channels or locks nothing reachable can signal), at its last check, by goroutine name and scope. Always 0 on a Go release without the profile.
# TYPE ctxguard_goroutines_leaked gauge
ctxguard_goroutines_leaked{name="stuck",scope="/orders"} 0
ctxguard_goroutines_leaked{name="worker",scope=""} 0
ctxguard_goroutines_leaked{name="panicky",scope=""} 0
# HELP ctxguard_goroutines_live Tracked goroutines still running, by goroutine name and scope.
# TYPE ctxguard_goroutines_live gauge
ctxguard_goroutines_live{name="stuck",scope="/orders"} %[4]d
ctxguard_goroutines_live{name="worker",scope=""} %[8]d
ctxguard_goroutines_live{name="panicky",scope=""} %[12]d
# HELP ctxguard_goroutines_spawned_total Goroutines started with spawn.Go or a spawn.Group, and request handlers tracked by the middleware, since the Monitor started.
# TYPE ctxguard_goroutines_spawned_total counter
ctxguard_goroutines_spawned_total %[3]d
# HELP ctxguard_log_records_dropped_total Monitor report records not written because too many were waiting for the slog handler (it is slow or blocked).
# TYPE ctxguard_log_records_dropped_total counter
ctxguard_log_records_dropped_total 0
# HELP ctxguard_logger_panics_total Panics recovered from the Monitor's slog handler.
# TYPE ctxguard_logger_panics_total counter
ctxguard_logger_panics_total 0
# HELP ctxguard_observer_panics_total Panics recovered from the Monitor's event observers.
# TYPE ctxguard_observer_panics_total counter
ctxguard_observer_panics_total 0
`

// series are the values of one goroutine series in the exposition.
type series struct{ live, lagging, lagged, panics int }

func expect(site string, tracked, spawned int, stuck, worker, panicky series) io.Reader {
	return strings.NewReader(fmt.Sprintf(exposition, site, tracked, spawned,
		stuck.live, stuck.lagging, stuck.lagged, stuck.panics,
		worker.live, worker.lagging, worker.lagged, worker.panics,
		panicky.live, panicky.lagging, panicky.lagged, panicky.panics))
}

// A request whose three goroutines ignore its cancellation, a healthy
// background worker, a goroutine that panics, and two dropped cancel funcs:
// every count is exported exactly, before and after the stuck goroutines
// return.
func TestCollectorExportsAScenarioExactly(t *testing.T) {
	m, root := newMonitor(t, 0)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(ctxprom.NewCollector(m))

	site := dropCancel(root)
	dropCancel(root)

	workerCtx, stopWorker := ctxguard.WithCancel(root)
	spawn.Go(workerCtx, func(ctx context.Context) { <-ctx.Done() }, spawn.WithName("worker"))

	spawn.Go(root, func(context.Context) { panic("boom") }, spawn.WithName("panicky"), spawn.WithRecover(nil))

	reqCtx, cancelReq := ctxguard.WithCancel(ctxguard.WithScope(root, "/orders"))
	release := make(chan struct{})
	for range 3 {
		spawn.Go(reqCtx, func(context.Context) { <-release }, spawn.WithName("stuck"))
	}
	cancelReq()

	waitFor(t, m, "3 stuck goroutines lag, 1 panicked, 2 cancels were dropped", func(s ctxguard.Snapshot) bool {
		st, p := named(s, "stuck"), named(s, "panicky")
		return st.Lagging == 3 && st.Lagged == 3 && p.Panics == 1 && p.Live == 0 && droppedTotal(s) == 2
	})
	const tracked, spawned = 4, 5 // cancel funcs: 2 dropped, workerCtx's, reqCtx's
	err := testutil.GatherAndCompare(reg, expect(site, tracked, spawned,
		series{live: 3, lagging: 3, lagged: 3},
		series{live: 1},
		series{panics: 1}), exactFamilies...)
	if err != nil {
		t.Errorf("while stuck:\n%v", err)
	}
	for _, s := range []struct{ name, scope string }{{"stuck", "/orders"}, {"worker", ""}, {"panicky", ""}} {
		if got, want := exitDelays(t, reg, s.name, s.scope), zeroHistogram(); !reflect.DeepEqual(got, want) {
			t.Errorf("while stuck, exit delays of %s = %+v, want %+v", s.name, got, want)
		}
	}

	close(release)
	waitFor(t, m, "the stuck goroutines have returned", func(s ctxguard.Snapshot) bool {
		st := named(s, "stuck")
		return st.Live == 0 && st.LateExits == 3
	})
	err = testutil.GatherAndCompare(reg, expect(site, tracked, spawned,
		series{lagged: 3},
		series{live: 1},
		series{panics: 1}), exactFamilies...)
	if err != nil {
		t.Errorf("after release:\n%v", err)
	}

	// The histogram holds exactly what the Snapshot holds; of the delays
	// themselves, only that each is past the grace period is certain.
	st := named(m.Snapshot(), "stuck")
	want := histogram{count: 3, sum: st.ExitDelayTotal.Seconds(), bounds: boundsSeconds()}
	var cum uint64
	for i := range want.bounds {
		cum += st.ExitDelays[i]
		want.buckets = append(want.buckets, cum)
	}
	got := exitDelays(t, reg, "stuck", "/orders")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("exit delays of stuck = %+v, want %+v (from %+v)", got, want, st)
	}
	if got.buckets[0] != 0 || got.sum < 3*grace.Seconds() {
		t.Errorf("exit delays of stuck = %+v, want none in the first bucket (%v) and a sum of at least 3×%v",
			got, got.bounds[0], grace)
	}

	stopWorker()
	waitFor(t, m, "the worker has returned", func(s ctxguard.Snapshot) bool { return s.Live == 0 })
}

// Prometheus forbids two series with one label set, so the Snapshot
// entries of one name and scope spawned at different sites are summed.
func TestSitesOfOneNameAreOneSeries(t *testing.T) {
	m, root := newMonitor(t, 0)
	ctx, cancel := ctxguard.WithCancel(root)
	release := make(chan struct{})
	stuck := func(context.Context) { <-release }
	spawn.Go(ctx, stuck, spawn.WithName("twin"))
	spawn.Go(ctx, stuck, spawn.WithName("twin"))
	spawn.Go(ctx, stuck, spawn.WithName("twin"))
	cancel()
	waitFor(t, m, "the twins lag", func(s ctxguard.Snapshot) bool { return named(s, "twin").Lagged == 3 })
	if n := len(m.Snapshot().Goroutines); n != 3 {
		t.Fatalf("Snapshot has %d entries, want one per spawn site, 3", n)
	}

	err := testutil.CollectAndCompare(ctxprom.NewCollector(m), strings.NewReader(`
# HELP ctxguard_goroutines_lagged_total Tracked goroutines that ever ran more than their grace period after their context ended (became lagging), by goroutine name and scope.
# TYPE ctxguard_goroutines_lagged_total counter
ctxguard_goroutines_lagged_total{name="twin",scope=""} 3
# HELP ctxguard_goroutines_live Tracked goroutines still running, by goroutine name and scope.
# TYPE ctxguard_goroutines_live gauge
ctxguard_goroutines_live{name="twin",scope=""} 3
`), "ctxguard_goroutines_live", "ctxguard_goroutines_lagged_total")
	if err != nil {
		t.Error(err)
	}

	close(release)
	waitFor(t, m, "the twins have returned", func(s ctxguard.Snapshot) bool { return named(s, "twin").LateExits == 3 })
	c := ctxprom.NewCollector(m)
	if n := testutil.CollectAndCount(c, "ctxguard_goroutine_exit_delay_seconds"); n != 1 {
		t.Errorf("%d exit-delay histograms, want 1", n)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	if got := exitDelays(t, reg, "twin", ""); got.count != 3 {
		t.Errorf("exit delays of twin count %d, want 3", got.count)
	}
}

// dropTwoOnOneLine drops two tracked cancel funcs created on one line: two
// sites with one "file:line".
//
//go:noinline
func dropTwoOnOneLine(ctx context.Context) {
	_ = []context.Context{ctxOnly(ctxguard.WithCancel(ctx)), ctxOnly(ctxguard.WithCancel(ctx))}
}

// ctxOnly drops the cancel func.
func ctxOnly(ctx context.Context, _ context.CancelFunc) context.Context { return ctx }

// Distinct call sites on one line have one label value, and are summed.
func TestDroppedCancelSitesOfOneLineAreOneSeries(t *testing.T) {
	m, root := newMonitor(t, 0)
	dropTwoOnOneLine(root)
	waitFor(t, m, "both cancels are dropped", func(s ctxguard.Snapshot) bool { return droppedTotal(s) == 2 })
	sites := m.Snapshot().DroppedCancelSites
	if len(sites) != 2 || sites[0].Site.String() != sites[1].Site.String() {
		t.Fatalf("DroppedCancelSites = %+v, want two sites on one line", sites)
	}

	err := testutil.CollectAndCompare(ctxprom.NewCollector(m), strings.NewReader(fmt.Sprintf(`
# HELP ctxguard_cancels_dropped_total Tracked cancel funcs garbage collected uncalled while their context was not done, by the file:line that created them. Multiply by ctxguard_cancel_sample_rate to estimate all dropped cancel funcs.
# TYPE ctxguard_cancels_dropped_total counter
ctxguard_cancels_dropped_total{site=%q} 2
`, sites[0].Site.String())), "ctxguard_cancels_dropped_total")
	if err != nil {
		t.Error(err)
	}
}

// With the Monitor keeping 2 sites and the collector 2 series, goroutines
// under 5 names are exported under 3 names, one the overflow name, at every
// scrape alike, and every count sums exactly.
func TestNamesBeyondTheBoundFoldIntoOverflow(t *testing.T) {
	const names, maxSites = 5, 2
	m, root := newMonitor(t, maxSites)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(ctxprom.NewCollector(m, ctxprom.WithMaxSeries(maxSites)))

	ctx, cancel := ctxguard.WithCancel(root)
	release := make(chan struct{})
	for i := range names {
		spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName(fmt.Sprint("n", i)))
	}

	var keep []string // the names with their own series at the first scrape
	scrape := func(when string, want map[string]float64) {
		t.Helper()
		got := map[string]float64{}
		for family := range want {
			values := map[string]bool{}
			for _, mt := range families(t, reg, family) {
				got[family] += value(mt)
				values[label(mt, "name")] = true
				if s := label(mt, "scope"); s != "" {
					t.Errorf("%s: %s has scope %q, want \"\"", when, family, s)
				}
			}
			if len(values) != maxSites+1 || !values[ctxguard.OverflowName] {
				t.Errorf("%s: %s has names %v, want %d of them, one %q",
					when, family, values, maxSites+1, ctxguard.OverflowName)
			}
			var own []string
			for v := range values {
				if v != ctxguard.OverflowName {
					own = append(own, v)
				}
			}
			if keep == nil {
				keep = own
			} else if !sameSet(own, keep) {
				t.Errorf("%s: %s has own series for %v, want the first scrape's %v", when, family, own, keep)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: summed over names %v, want %v", when, got, want)
		}
	}

	scrape("before cancel", map[string]float64{
		"ctxguard_goroutines_live": names, "ctxguard_goroutines_lagging": 0, "ctxguard_goroutines_lagged_total": 0})
	cancel()
	waitFor(t, m, "all lag", func(s ctxguard.Snapshot) bool {
		var lagged uint64
		for _, g := range s.Goroutines {
			lagged += g.Lagged
		}
		return s.Lagging == names && lagged == names
	})
	scrape("lagging", map[string]float64{
		"ctxguard_goroutines_live": names, "ctxguard_goroutines_lagging": names, "ctxguard_goroutines_lagged_total": names})
	close(release)
	waitFor(t, m, "all have returned", func(s ctxguard.Snapshot) bool {
		var exits uint64
		for _, g := range s.Goroutines {
			exits += g.LateExits
		}
		return s.Live == 0 && exits == names
	})
	scrape("returned", map[string]float64{
		"ctxguard_goroutines_live": 0, "ctxguard_goroutines_lagging": 0, "ctxguard_goroutines_lagged_total": names})

	var count uint64
	for _, mt := range families(t, reg, "ctxguard_goroutine_exit_delay_seconds") {
		count += mt.GetHistogram().GetSampleCount()
	}
	if count != names {
		t.Errorf("exit delays counted %d times in all, want %d", count, names)
	}
}

func sameSet(a, b []string) bool {
	set := map[string]bool{}
	for _, s := range a {
		set[s] = true
	}
	for _, s := range b {
		if !set[s] {
			return false
		}
	}
	return len(a) == len(b)
}

// A full scrape over HTTP, as Prometheus does it.
func TestScrapeOverHTTP(t *testing.T) {
	m, root := newMonitor(t, 0)
	reg := prometheus.NewRegistry()
	reg.MustRegister(ctxprom.NewCollector(m))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	ctx, cancel := ctxguard.WithCancel(ctxguard.WithScope(root, "GET /report"))
	release := make(chan struct{})
	spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("render"))
	cancel()
	waitFor(t, m, "render lags", func(s ctxguard.Snapshot) bool { return named(s, "render").Lagged == 1 })

	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	for _, line := range []string{
		`ctxguard_goroutines_live{name="render",scope="GET /report"} 1`,
		`ctxguard_goroutines_lagging{name="render",scope="GET /report"} 1`,
		`ctxguard_goroutines_lagged_total{name="render",scope="GET /report"} 1`,
		`ctxguard_goroutine_exit_delay_seconds_count{name="render",scope="GET /report"} 0`,
		`ctxguard_goroutines_spawned_total 1`,
		`ctxguard_cancels_tracked_total 1`,
		`ctxguard_cancel_sample_rate 1`,
	} {
		if !strings.Contains("\n"+string(body), "\n"+line+"\n") {
			t.Errorf("GET /metrics has no line %s; body:\n%s", line, body)
		}
	}

	close(release)
	waitFor(t, m, "render has returned", func(s ctxguard.Snapshot) bool { return s.Live == 0 })
}

// A collector for a nil Monitor reads ctxguard.Default at each scrape, so
// it follows SetDefault made after it was created.
func TestNilMonitorIsTheDefaultAtEachScrape(t *testing.T) {
	c := ctxprom.NewCollector(nil)
	prev := ctxguard.Default()
	t.Cleanup(func() { ctxguard.SetDefault(prev) })

	m1, _ := newMonitor(t, 0)
	ctxguard.SetDefault(m1)
	release := make(chan struct{})
	// A context carrying no Monitor: the goroutines are the Default's.
	spawn.Go(context.Background(), func(context.Context) { <-release }, spawn.WithName("bg"))
	spawn.Go(context.Background(), func(context.Context) { <-release }, spawn.WithName("bg"))
	defer func() {
		close(release)
		waitFor(t, m1, "the goroutines have returned", func(s ctxguard.Snapshot) bool { return s.Live == 0 })
	}()

	const help = `
# HELP ctxguard_goroutines_spawned_total Goroutines started with spawn.Go or a spawn.Group, and request handlers tracked by the middleware, since the Monitor started.
# TYPE ctxguard_goroutines_spawned_total counter
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(help+"ctxguard_goroutines_spawned_total 2\n"),
		"ctxguard_goroutines_spawned_total"); err != nil {
		t.Errorf("with the first Default: %v", err)
	}

	m2, _ := newMonitor(t, 0)
	ctxguard.SetDefault(m2)
	if err := testutil.CollectAndCompare(c, strings.NewReader(help+"ctxguard_goroutines_spawned_total 0\n"),
		"ctxguard_goroutines_spawned_total"); err != nil {
		t.Errorf("with the second Default: %v", err)
	}
}

// The metrics follow Prometheus's naming and help conventions, and a
// pedantic registry finds every collected metric consistent with its
// descriptor.
func TestMetricsPassLint(t *testing.T) {
	m, root := newMonitor(t, 0)
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(ctxprom.NewCollector(m))

	dropCancel(root)
	ctx, cancel := ctxguard.WithCancel(root)
	release := make(chan struct{})
	spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("late"))
	cancel()
	waitFor(t, m, "the cancel is dropped and the goroutine lags", func(s ctxguard.Snapshot) bool {
		return droppedTotal(s) == 1 && named(s, "late").Lagged == 1
	})
	close(release)
	waitFor(t, m, "the goroutine has returned", func(s ctxguard.Snapshot) bool { return named(s, "late").LateExits == 1 })

	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	// The leak check's time is there once a check has run, which only a
	// Go release with the goroutine leak profile does, if the lag lasted
	// until the Monitor got to it.
	want := append([]string{"ctxguard_goroutine_exit_delay_seconds"}, exactFamilies...)
	var got []string
	for _, mf := range mfs {
		if mf.GetName() == "ctxguard_leak_check_timestamp_seconds" && ctxguard.LeakProfileAvailable() {
			continue
		}
		got = append(got, mf.GetName())
	}
	if !sameSet(got, want) {
		t.Errorf("gathered families %v, want %v", got, want)
	}
}

// Goroutine names and scopes are any strings; Prometheus label values must
// be UTF-8, so invalid bytes are replaced rather than failing the scrape.
func TestInvalidUTF8LabelsAreReplaced(t *testing.T) {
	m, root := newMonitor(t, 0)
	release := make(chan struct{})
	spawn.Go(ctxguard.WithScope(root, "/a\xff"), func(context.Context) { <-release }, spawn.WithName("bad\xffname"))
	defer func() {
		close(release)
		waitFor(t, m, "the goroutine has returned", func(s ctxguard.Snapshot) bool { return s.Live == 0 })
	}()

	err := testutil.CollectAndCompare(ctxprom.NewCollector(m), strings.NewReader(`
# HELP ctxguard_goroutines_live Tracked goroutines still running, by goroutine name and scope.
# TYPE ctxguard_goroutines_live gauge
`+"ctxguard_goroutines_live{name=\"bad\uFFFDname\",scope=\"/a\uFFFD\"} 1\n"), "ctxguard_goroutines_live")
	if err != nil {
		t.Error(err)
	}
}

func TestWithMaxSeriesPanicsOnNonPositive(t *testing.T) {
	for _, n := range []int{0, -1} {
		func() {
			defer func() {
				want := fmt.Sprintf("ctxprom: WithMaxSeries needs a positive count, got %d", n)
				if got := recover(); got != want {
					t.Errorf("WithMaxSeries(%d) panicked with %v, want %q", n, got, want)
				}
			}()
			ctxprom.WithMaxSeries(n)
		}()
	}
}
