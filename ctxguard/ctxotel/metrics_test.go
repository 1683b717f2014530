package ctxotel_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxotel"
	"github.com/ctxguard/ctxguard/internal/track"
	"github.com/ctxguard/ctxguard/spawn"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// meters is a track-all Monitor with a short grace, registered with a real
// SDK MeterProvider read by a ManualReader.
type meters struct {
	m      *ctxguard.Monitor
	root   context.Context // carries m
	reader *sdkmetric.ManualReader
	reg    interface{ Unregister() error }
}

// newMeters registers m's metrics; they are unregistered and the Monitor
// closed when the test ends. maxSites bounds the Monitor's sites (0: the
// default).
func newMeters(t *testing.T, maxSites int, opts ...ctxotel.Option) *meters {
	t.Helper()
	verifyNoLeaks(t)
	h := &meters{
		m: ctxguard.New(ctxguard.Config{Grace: grace, CancelSampleRate: 1, MaxSites: maxSites,
			Logger: slog.New(slog.DiscardHandler), ReportInterval: time.Hour}),
		reader: sdkmetric.NewManualReader(),
	}
	h.root = ctxguard.WithMonitor(context.Background(), h.m)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(h.reader))
	reg, err := ctxotel.RegisterMetrics(h.m, append([]ctxotel.Option{ctxotel.WithMeterProvider(mp)}, opts...)...)
	if err != nil {
		t.Fatalf("RegisterMetrics: %v", err)
	}
	h.reg = reg
	t.Cleanup(func() {
		if err := reg.Unregister(); err != nil {
			t.Errorf("Unregister: %v", err)
		}
		mp.Shutdown(context.Background())
		h.m.Close()
	})
	return h
}

// collect reads every metric of the ctxotel scope, by name.
func (h *meters) collect(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	return collectFrom(t, h.reader)
}

func collectFrom(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect: %v", err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/ctxguard/ctxguard/ctxguard/ctxotel" {
			t.Errorf("metrics under scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			if _, dup := out[m.Name]; dup {
				t.Errorf("metric %s collected twice", m.Name)
			}
			out[m.Name] = m
		}
	}
	return out
}

// kind is how an int64 instrument must be exported.
type kind int

const (
	monotonic kind = iota // a cumulative, monotonic sum: a Prometheus counter
	upDown                // a cumulative, non-monotonic sum
	gaugeKind             // a gauge
)

// points are int64 data points by attribute set (see attrKey).
type points map[string]int64

// attrKey writes an attribute set as "k=v,k=v", keys sorted.
func attrKey(s attribute.Set) string {
	var parts []string
	for _, kv := range s.ToSlice() {
		parts = append(parts, fmt.Sprintf("%s=%s", kv.Key, kv.Value.Emit()))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

// int64Points checks the kind and unit of the named metric and returns its
// data points.
func int64Points(t *testing.T, ms map[string]metricdata.Metrics, name, unit string, k kind) points {
	t.Helper()
	m, ok := ms[name]
	if !ok {
		t.Errorf("no metric %s", name)
		return nil
	}
	if m.Unit != unit || m.Description == "" {
		t.Errorf("%s: unit %q, description %q; want unit %q and a description", name, m.Unit, m.Description, unit)
	}
	var dps []metricdata.DataPoint[int64]
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		if k == gaugeKind || d.IsMonotonic != (k == monotonic) || d.Temporality != metricdata.CumulativeTemporality {
			t.Errorf("%s: a sum, monotonic %v, %v; want kind %d", name, d.IsMonotonic, d.Temporality, k)
		}
		dps = d.DataPoints
	case metricdata.Gauge[int64]:
		if k != gaugeKind {
			t.Errorf("%s: a gauge, want kind %d", name, k)
		}
		dps = d.DataPoints
	default:
		t.Errorf("%s: data %T, want int64 points", name, m.Data)
		return nil
	}
	out := points{}
	for _, dp := range dps {
		key := attrKey(dp.Attributes)
		if _, dup := out[key]; dup {
			t.Errorf("%s: two data points for {%s}", name, key)
		}
		out[key] = dp.Value
	}
	return out
}

// exitDelays returns the data points of the exit-delay histogram, by
// attribute set, checking its unit and kind.
func exitDelays(t *testing.T, ms map[string]metricdata.Metrics) map[string]metricdata.HistogramDataPoint[float64] {
	t.Helper()
	out := map[string]metricdata.HistogramDataPoint[float64]{}
	m, ok := ms["ctxguard.goroutine.exit_delay"]
	if !ok {
		return out // nothing recorded yet
	}
	h, ok := m.Data.(metricdata.Histogram[float64])
	if !ok || m.Unit != "s" || h.Temporality != metricdata.CumulativeTemporality {
		t.Fatalf("exit delay: %T, unit %q; want a cumulative float64 histogram in s", m.Data, m.Unit)
	}
	for _, dp := range h.DataPoints {
		out[attrKey(dp.Attributes)] = dp
	}
	return out
}

func boundsSeconds() []float64 {
	var b []float64
	for _, d := range ctxguard.ExitDelayBounds() {
		b = append(b, d.Seconds())
	}
	return b
}

// siteKey is the attribute key of a site's data point.
func siteKey(s ctxguard.Site) string {
	return fmt.Sprintf("code.file.path=%s,code.function.name=%s,code.line.number=%d", s.File, s.Function, s.Line)
}

// The metric values that are exact in any scenario, by instrument.
type scenario struct {
	spawned, tracked int64
	live, lagging    points
	lagged, panics   points
	leaked           points
	dropped          points
}

func checkScenario(t *testing.T, when string, ms map[string]metricdata.Metrics, want scenario) {
	t.Helper()
	for _, c := range []struct {
		name, unit string
		k          kind
		want       points
	}{
		{"ctxguard.goroutines.spawned", "{goroutine}", monotonic, points{"": want.spawned}},
		{"ctxguard.goroutines.live", "{goroutine}", upDown, want.live},
		{"ctxguard.goroutines.lagging", "{goroutine}", upDown, want.lagging},
		{"ctxguard.goroutines.lagged", "{goroutine}", monotonic, want.lagged},
		{"ctxguard.goroutines.leaked", "{goroutine}", upDown, want.leaked},
		{"ctxguard.goroutine.panics", "{goroutine}", monotonic, want.panics},
		{"ctxguard.cancels.tracked", "{cancel}", monotonic, points{"": want.tracked}},
		{"ctxguard.cancels.dropped", "{cancel}", monotonic, want.dropped},
		{"ctxguard.cancel.sample_rate", "1", gaugeKind, points{"": 1}},
		{"ctxguard.events.dropped", "{event}", monotonic, points{"": 0}},
		{"ctxguard.observer.panics", "{panic}", monotonic, points{"": 0}},
		{"ctxguard.log_records.dropped", "{record}", monotonic, points{"": 0}},
		{"ctxguard.logger.panics", "{panic}", monotonic, points{"": 0}},
		{"ctxguard.context.panics", "{panic}", monotonic, points{"": 0}},
	} {
		if got := int64Points(t, ms, c.name, c.unit, c.k); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %s = %v, want %v", when, c.name, got, c.want)
		}
	}
}

const (
	stuckKey   = "ctxguard.name=stuck,ctxguard.scope=/orders"
	workerKey  = "ctxguard.name=worker"
	panickyKey = "ctxguard.name=panicky"
)

// A request whose three goroutines ignore its cancellation, a healthy
// background worker, a goroutine that panics, and two dropped cancel funcs:
// every value is reported exactly, with its unit and kind, before and
// after the stuck goroutines return; their exit delays are the Monitor's.
func TestMetricsReportAScenarioExactly(t *testing.T) {
	h := newMeters(t, 0)
	site := dropCancel(h.root)
	dropCancel(h.root)
	workerCtx, stopWorker := ctxguard.WithCancel(h.root)
	spawn.Go(workerCtx, func(ctx context.Context) { <-ctx.Done() }, spawn.WithName("worker"))
	spawn.Go(h.root, func(context.Context) { panic("boom") }, spawn.WithName("panicky"), spawn.WithRecover(nil))
	reqCtx, cancelReq := ctxguard.WithCancel(ctxguard.WithScope(h.root, "/orders"))
	release := make(chan struct{})
	for range 3 {
		spawn.Go(reqCtx, func(context.Context) { <-release }, spawn.WithName("stuck"))
	}
	cancelReq()
	waitFor(t, "3 stuck goroutines lag, 1 panicked, 2 cancels were dropped", true, func() bool {
		s := h.m.Snapshot()
		st, p := named(s, "stuck"), named(s, "panicky")
		return st.Lagging == 3 && st.Lagged == 3 && p.Panics == 1 && p.Live == 0 && droppedTotal(s) == 2
	})
	const tracked, spawned = 4, 5 // cancel funcs: 2 dropped, workerCtx's, reqCtx's
	ms := h.collect(t)
	checkScenario(t, "while stuck", ms, scenario{
		spawned: spawned, tracked: tracked,
		live:    points{stuckKey: 3, workerKey: 1, panickyKey: 0},
		lagging: points{stuckKey: 3, workerKey: 0, panickyKey: 0},
		lagged:  points{stuckKey: 3, workerKey: 0, panickyKey: 0},
		panics:  points{stuckKey: 0, workerKey: 0, panickyKey: 1},
		leaked:  points{stuckKey: 0, workerKey: 0, panickyKey: 0},
		dropped: points{siteKey(site): 2},
	})
	if got := exitDelays(t, ms); len(got) != 0 {
		t.Errorf("while stuck, exit delays %+v, want none", got)
	}

	close(release)
	var delays map[string]metricdata.HistogramDataPoint[float64]
	waitFor(t, "the stuck goroutines' exit delays are recorded", false, func() bool {
		delays = exitDelays(t, h.collect(t))
		return delays[stuckKey].Count == 3
	})
	checkScenario(t, "after release", h.collect(t), scenario{
		spawned: spawned, tracked: tracked,
		live:    points{stuckKey: 0, workerKey: 1, panickyKey: 0},
		lagging: points{stuckKey: 0, workerKey: 0, panickyKey: 0},
		lagged:  points{stuckKey: 3, workerKey: 0, panickyKey: 0},
		panics:  points{stuckKey: 0, workerKey: 0, panickyKey: 1},
		leaked:  points{stuckKey: 0, workerKey: 0, panickyKey: 0},
		dropped: points{siteKey(site): 2},
	})
	if len(delays) != 1 {
		t.Errorf("exit delays of %d series, want only stuck's: %+v", len(delays), delays)
	}
	// The histogram holds what the Snapshot holds: the same buckets, and
	// the same delays (the sum differs only by float rounding).
	st := named(h.m.Snapshot(), "stuck")
	dp := delays[stuckKey]
	if !slices.Equal(dp.Bounds, boundsSeconds()) || !slices.Equal(dp.BucketCounts, st.ExitDelays) {
		t.Errorf("exit delays: bounds %v, buckets %v; want %v, %v", dp.Bounds, dp.BucketCounts, boundsSeconds(), st.ExitDelays)
	}
	if math.Abs(dp.Sum-st.ExitDelayTotal.Seconds()) > 1e-6 {
		t.Errorf("exit delays sum to %vs, want %v", dp.Sum, st.ExitDelayTotal)
	}
	if max, ok := dp.Max.Value(); !ok || max != st.ExitDelayMax.Seconds() {
		t.Errorf("exit delays max %v (%v), want %v", max, ok, st.ExitDelayMax)
	}
	if dp.BucketCounts[0] != 0 || dp.Sum < 3*grace.Seconds() {
		t.Errorf("exit delays %+v, want none in the first bucket (%vs) and a sum of at least 3×%v", dp, dp.Bounds[0], grace)
	}
	stopWorker()
	waitFor(t, "the worker has returned", false, func() bool { return h.m.Snapshot().Live == 0 })
}

// With the Monitor keeping 2 sites and the metrics 2 series, goroutines
// under 5 names are reported under 3 names, one the overflow name, at
// every collection alike, and every count sums exactly; their exit delays
// fold alike.
func TestMetricsFoldNamesBeyondTheBound(t *testing.T) {
	const names, maxSites = 5, 2
	h := newMeters(t, maxSites, ctxotel.WithMaxSeries(maxSites))
	ctx, cancel := ctxguard.WithCancel(h.root)
	release := make(chan struct{})
	for i := range names {
		spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName(fmt.Sprint("n", i)))
	}
	var keep []string // the attribute sets of the first collection
	check := func(when string, want map[string]int64) {
		t.Helper()
		ms := h.collect(t)
		got := map[string]int64{}
		for name := range want {
			ps := int64Points(t, ms, name, "{goroutine}", map[bool]kind{true: monotonic, false: upDown}[name == "ctxguard.goroutines.lagged"])
			var sets []string
			for k, v := range ps {
				got[name] += v
				sets = append(sets, k)
			}
			slices.Sort(sets)
			if len(sets) != maxSites+1 || !slices.Contains(sets, "ctxguard.name="+ctxguard.OverflowName) {
				t.Errorf("%s: %s has attribute sets %v, want %d of them, one the overflow", when, name, sets, maxSites+1)
			}
			if keep == nil {
				keep = sets
			} else if !slices.Equal(sets, keep) {
				t.Errorf("%s: %s has attribute sets %v, want the first collection's %v", when, name, sets, keep)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: summed over names %v, want %v", when, got, want)
		}
	}
	check("before cancel", map[string]int64{
		"ctxguard.goroutines.live": names, "ctxguard.goroutines.lagging": 0, "ctxguard.goroutines.lagged": 0})
	cancel()
	waitFor(t, "all lag", false, func() bool {
		s := h.m.Snapshot()
		var lagged uint64
		for _, g := range s.Goroutines {
			lagged += g.Lagged
		}
		return s.Lagging == names && lagged == names
	})
	check("lagging", map[string]int64{
		"ctxguard.goroutines.live": names, "ctxguard.goroutines.lagging": names, "ctxguard.goroutines.lagged": names})
	close(release)
	var delays map[string]metricdata.HistogramDataPoint[float64]
	waitFor(t, "all exit delays are recorded", false, func() bool {
		delays = exitDelays(t, h.collect(t))
		var n uint64
		for _, dp := range delays {
			n += dp.Count
		}
		return n == names
	})
	check("returned", map[string]int64{
		"ctxguard.goroutines.live": 0, "ctxguard.goroutines.lagging": 0, "ctxguard.goroutines.lagged": names})
	var sets []string
	for k := range delays {
		sets = append(sets, k)
	}
	slices.Sort(sets)
	if !slices.Equal(sets, keep) {
		t.Errorf("exit delays have attribute sets %v, want the gauges' %v", sets, keep)
	}
}

// dropTwoOnOneLine drops two tracked cancel funcs created on one line: two
// sites with one code location.
//
//go:noinline
func dropTwoOnOneLine(ctx context.Context) {
	_ = []context.Context{ctxOnly(ctxguard.WithCancel(ctx)), ctxOnly(ctxguard.WithCancel(ctx))}
}

// ctxOnly drops the cancel func.
func ctxOnly(ctx context.Context, _ context.CancelFunc) context.Context { return ctx }

// Distinct call sites on one line have one set of code attributes, and
// are summed.
func TestMetricsSumDroppedCancelsOfOneLine(t *testing.T) {
	h := newMeters(t, 0)
	dropTwoOnOneLine(h.root)
	waitFor(t, "both cancels are dropped", true, func() bool { return droppedTotal(h.m.Snapshot()) == 2 })
	sites := h.m.Snapshot().DroppedCancelSites
	if len(sites) != 2 || sites[0].Site != sites[1].Site || !strings.HasSuffix(sites[0].Site.Function, ".dropTwoOnOneLine") {
		t.Fatalf("DroppedCancelSites = %+v, want two sites on one line of dropTwoOnOneLine", sites)
	}
	got := int64Points(t, h.collect(t), "ctxguard.cancels.dropped", "{cancel}", monotonic)
	if want := (points{siteKey(sites[0].Site): 2}); !reflect.DeepEqual(got, want) {
		t.Errorf("ctxguard.cancels.dropped = %v, want %v", got, want)
	}
}

// After Unregister nothing is reported: no asynchronous instrument is read
// and no late exit recorded.
func TestUnregisterStopsReporting(t *testing.T) {
	h := newMeters(t, 0)
	ctx, cancel := ctxguard.WithCancel(h.root)
	release := make(chan struct{})
	spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("late"))
	cancel()
	waitFor(t, "the goroutine lags", false, func() bool { return h.m.Snapshot().Lagging == 1 })
	var got []string
	for name := range h.collect(t) {
		// Reported once a leak check has run: on a Go release with the
		// goroutine leak profile, after the lag, when the Monitor gets to it.
		if name == "ctxguard.leak_check.time" && ctxguard.LeakProfileAvailable() {
			continue
		}
		got = append(got, name)
	}
	slices.Sort(got)
	// Nothing has returned late and no cancel func was dropped: those two
	// have no data point yet; nor have the untracked groups, which the
	// Monitor does not watch.
	want := slices.DeleteFunc(slices.Clone(instrumentNames), func(n string) bool {
		return n == "ctxguard.goroutine.exit_delay" || n == "ctxguard.cancels.dropped" ||
			strings.HasPrefix(n, "ctxguard.goroutines.untracked") || n == "ctxguard.leak_check.time"
	})
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("collected %v, want %v", got, want)
	}
	// A second observer tells when the late exit has been delivered: had
	// the first one still been registered, it would have been called too.
	exited := make(chan struct{})
	stop := h.m.Observe(func(ev ctxguard.Event) {
		if ev.Kind == ctxguard.EventLateExit {
			close(exited)
		}
	})
	defer stop()
	if err := h.reg.Unregister(); err != nil {
		t.Fatalf("Unregister: %v", err)
	}
	close(release)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the late exit was not delivered")
	}
	for name, m := range h.collect(t) {
		t.Errorf("after Unregister, %s is reported: %+v", name, m.Data)
	}
}

// instrumentNames are every instrument of RegisterMetrics.
var instrumentNames = []string{
	"ctxguard.goroutines.spawned", "ctxguard.goroutines.live", "ctxguard.goroutines.lagging",
	"ctxguard.goroutines.lagged", "ctxguard.goroutines.leaked", "ctxguard.goroutines.untracked",
	"ctxguard.goroutines.untracked_leaked", "ctxguard.leak_check.time",
	"ctxguard.goroutine.exit_delay", "ctxguard.goroutine.panics",
	"ctxguard.cancels.tracked", "ctxguard.cancels.dropped", "ctxguard.cancel.sample_rate",
	"ctxguard.events.dropped", "ctxguard.observer.panics",
	"ctxguard.log_records.dropped", "ctxguard.logger.panics", "ctxguard.context.panics",
}

// globalProviderSet is whether a test has set the global MeterProvider.
var globalProviderSet atomic.Bool

// Without WithMeterProvider, the global MeterProvider is used, including
// one set after RegisterMetrics.
func TestRegisterMetricsUsesTheGlobalMeterProvider(t *testing.T) {
	if globalProviderSet.Swap(true) {
		// otel's global delegates to the first provider set, once per
		// process: a second run (go test -count=2) cannot set another.
		t.Skip("the global MeterProvider was set by an earlier run of this test")
	}
	verifyNoLeaks(t)
	m := ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	reg, err := ctxotel.RegisterMetrics(m)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Unregister()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	previous := otel.GetMeterProvider()
	otel.SetMeterProvider(mp)
	defer otel.SetMeterProvider(previous)
	spawn.Go(ctxguard.WithMonitor(context.Background(), m), func(context.Context) {})
	waitFor(t, "the goroutine has run", false, func() bool { return m.Snapshot().Spawned == 1 })
	got := int64Points(t, collectFrom(t, reader), "ctxguard.goroutines.spawned", "{goroutine}", monotonic)
	if want := (points{"": 1}); !reflect.DeepEqual(got, want) {
		t.Errorf("ctxguard.goroutines.spawned = %v, want %v", got, want)
	}
}

// named sums the Snapshot entries named name, over scopes and sites. The
// per-entry counts are the ones to wait on: Snapshot's totals are updated
// before the entries.
func named(s ctxguard.Snapshot, name string) ctxguard.GoroutineStats {
	sum := ctxguard.GoroutineStats{Name: name}
	for _, g := range s.Goroutines {
		if g.Name != name {
			continue
		}
		sum.Live += g.Live
		sum.Lagging += g.Lagging
		sum.Lagged += g.Lagged
		sum.LateExits += g.LateExits
		sum.Panics += g.Panics
		sum.ExitDelayTotal += g.ExitDelayTotal
		sum.ExitDelayMax = max(sum.ExitDelayMax, g.ExitDelayMax)
		for i, n := range g.ExitDelays {
			if sum.ExitDelays == nil {
				sum.ExitDelays = make([]uint64, len(g.ExitDelays))
			}
			sum.ExitDelays[i] += n
		}
	}
	return sum
}

// droppedTotal sums the dropped cancels of every site.
func droppedTotal(s ctxguard.Snapshot) uint64 {
	var n uint64
	for _, sc := range s.DroppedCancelSites {
		n += sc.Count
	}
	return n
}

// Two scopes whose names differ only in invalid UTF-8 get one attribute
// value: their shed requests are one data point, summed.
func TestMetricsSumShedRequestsOfOneAttributeValue(t *testing.T) {
	h := newMeters(t, 0)
	for _, scope := range []string{"GET /a\xff", "GET /a\xfe"} {
		track.ScopeOf(nil, h.m, scope).Shed(1, grace)
	}
	got := int64Points(t, h.collect(t), "ctxguard.requests.shed", "{request}", monotonic)
	if want := (points{"ctxguard.scope=GET /a\uFFFD": 2}); !reflect.DeepEqual(got, want) {
		t.Errorf("ctxguard.requests.shed = %v, want %v", got, want)
	}
}

// Registering one Monitor's metrics twice with one MeterProvider fails
// with ErrAlreadyRegistered, as a Prometheus registry refuses a second
// collector, rather than doubling every value; after Unregister it
// succeeds again, and another Monitor or MeterProvider is never refused.
func TestRegisterMetricsTwiceIsRefused(t *testing.T) {
	verifyNoLeaks(t)
	m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	first, err := ctxotel.RegisterMetrics(m, ctxotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatalf("RegisterMetrics: %v", err)
	}
	if reg, err := ctxotel.RegisterMetrics(m, ctxotel.WithMeterProvider(mp)); !errors.Is(err, ctxotel.ErrAlreadyRegistered) || reg != nil {
		t.Fatalf("second RegisterMetrics: %v, %v; want ErrAlreadyRegistered", reg, err)
	}
	other := ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)})
	defer other.Close()
	otherMP := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer otherMP.Shutdown(context.Background())
	for _, c := range []struct {
		m  *ctxguard.Monitor
		mp *sdkmetric.MeterProvider
	}{{other, mp}, {m, otherMP}} {
		reg, err := ctxotel.RegisterMetrics(c.m, ctxotel.WithMeterProvider(c.mp))
		if err != nil {
			t.Fatalf("RegisterMetrics of another Monitor or MeterProvider: %v", err)
		}
		defer reg.Unregister()
	}

	release := make(chan struct{})
	spawn.Go(ctxguard.WithMonitor(context.Background(), m), func(context.Context) { <-release }, spawn.WithName("worker"))
	defer func() {
		close(release)
		waitFor(t, "the goroutine returns", false, func() bool { return m.Snapshot().Live == 0 })
	}()
	ms := collectFrom(t, reader)
	if got := int64Points(t, ms, "ctxguard.goroutines.spawned", "{goroutine}", monotonic); got[""] != 1 {
		t.Errorf("ctxguard.goroutines.spawned = %v, want 1", got)
	}
	if got := int64Points(t, ms, "ctxguard.goroutines.live", "{goroutine}", upDown); got["ctxguard.name=worker"] != 1 {
		t.Errorf("ctxguard.goroutines.live = %v, want worker 1", got)
	}

	if err := first.Unregister(); err != nil {
		t.Fatal(err)
	}
	if err := first.Unregister(); err != nil { // idempotent, and frees nothing else
		t.Fatal(err)
	}
	again, err := ctxotel.RegisterMetrics(m, ctxotel.WithMeterProvider(mp))
	if err != nil {
		t.Fatalf("RegisterMetrics after Unregister: %v", err)
	}
	defer again.Unregister()
	if _, err := ctxotel.RegisterMetrics(m, ctxotel.WithMeterProvider(mp)); !errors.Is(err, ctxotel.ErrAlreadyRegistered) {
		t.Errorf("RegisterMetrics after re-registering: %v, want ErrAlreadyRegistered", err)
	}
}
