package ctxprom

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/series"
)

const namespace = "ctxguard"

// seriesLabels label every goroutine metric; siteLabels the dropped-cancel
// counter; untrackedLabels the untracked goroutine groups.
var (
	seriesLabels    = []string{"name", "scope"}
	siteLabels      = []string{"site"}
	untrackedLabels = []string{"start", "blocked_at"}
)

func newDesc(name, help string, labels []string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

// collector is the prometheus.Collector returned by NewCollector. Its
// descriptors never change, so it is a checked collector.
type collector struct {
	m              *ctxguard.Monitor // nil: ctxguard.Default() at each scrape
	bounds         []float64         // exit-delay bucket bounds, in seconds
	series         *series.Table[struct{}]
	spawned        *prometheus.Desc
	live           *prometheus.Desc
	lagging        *prometheus.Desc
	lagged         *prometheus.Desc
	leaked         *prometheus.Desc
	untracked      *prometheus.Desc
	untrackedLeak  *prometheus.Desc
	leakCheck      *prometheus.Desc
	delay          *prometheus.Desc
	panics         *prometheus.Desc
	tracked        *prometheus.Desc
	dropped        *prometheus.Desc
	rate           *prometheus.Desc
	events         *prometheus.Desc
	observerPanics *prometheus.Desc
	logsDropped    *prometheus.Desc
	loggerPanics   *prometheus.Desc
	contextPanics  *prometheus.Desc
	shed           *prometheus.Desc
}

// NewCollector returns a prometheus.Collector that exports what m has
// observed; the metrics are listed in the package documentation. Nothing is
// registered: pass the result to a Registerer. A nil m stands for
// [ctxguard.Default] as it is at each scrape, so a later
// [ctxguard.SetDefault] is followed (its counters then start from the new
// Monitor's, which Prometheus reads as a counter reset).
//
// NewCollector does no work on the Monitor and costs nothing until the
// first scrape. Each scrape (Collect) takes one [ctxguard.Monitor.Snapshot]
// and builds constant metrics from it: its cost grows with the live tracked
// goroutines and the distinct names, scopes and sites, never with past
// events. The collector is safe for concurrent scrapes.
func NewCollector(m *ctxguard.Monitor, opts ...Option) prometheus.Collector {
	cfg := newConfig(opts)
	c := &collector{
		m:      m,
		series: series.New(cfg.maxSeries, labelValue, func(series.Key) struct{} { return struct{}{} }),
		spawned: newDesc("goroutines_spawned_total",
			"Goroutines started with spawn.Go or a spawn.Group, and request handlers tracked by the middleware, since the Monitor started.", nil),
		live: newDesc("goroutines_live",
			"Tracked goroutines still running, by goroutine name and scope.", seriesLabels),
		lagging: newDesc("goroutines_lagging",
			"Tracked goroutines still running more than their grace period after their context ended, by goroutine name and scope.",
			seriesLabels),
		lagged: newDesc("goroutines_lagged_total",
			"Tracked goroutines that ever ran more than their grace period after their context ended (became lagging), by goroutine name and scope.",
			seriesLabels),
		leaked: newDesc("goroutines_leaked",
			"Tracked goroutines, lagging or not, that Go's goroutine leak profile proved can never return (blocked on channels or locks nothing reachable can signal), at its last check, by goroutine name and scope. Always 0 on a Go release without the profile.",
			seriesLabels),
		untracked: newDesc("goroutines_untracked",
			"Goroutines ctxguard does not track, in groups that started with the same function and are blocked at the same file:line, listed by the Monitor (Config.WatchUntracked) at its last look. start=\"(other sites)\" counts those of groups beyond Config.MaxSites.",
			untrackedLabels),
		untrackedLeak: newDesc("goroutines_untracked_leaked",
			"Of ctxguard_goroutines_untracked, those Go's goroutine leak profile proved can never return, at its last check. Always 0 on a Go release without the profile.",
			untrackedLabels),
		leakCheck: newDesc("leak_check_timestamp_seconds",
			"When the Monitor last ran Go's goroutine leak profile, in seconds since the Unix epoch; absent until it has, and always on a Go release without the profile.",
			nil),
		delay: newDesc("goroutine_exit_delay_seconds",
			"Time from the end of a lagging goroutine's context to its return, observed as each lagging goroutine returns, by goroutine name and scope.",
			seriesLabels),
		panics: newDesc("goroutine_panics_total",
			"Tracked goroutines that panicked, recovered or not, by goroutine name and scope.", seriesLabels),
		tracked: newDesc("cancels_tracked_total",
			"Cancel funcs of ctxguard's WithCancel, WithTimeout, WithDeadline and their Cause forms that were tracked for being dropped: one in ctxguard_cancel_sample_rate of those created.",
			nil),
		dropped: newDesc("cancels_dropped_total",
			"Tracked cancel funcs garbage collected uncalled while their context was not done, by the file:line that created them. Multiply by ctxguard_cancel_sample_rate to estimate all dropped cancel funcs.",
			siteLabels),
		rate: newDesc("cancel_sample_rate",
			"One in this many cancel funcs is tracked for being dropped; 1 tracks every one.", nil),
		events: newDesc("events_dropped_total",
			"Monitor events not delivered to observers because too many were waiting (an observer is slow or blocked).", nil),
		observerPanics: newDesc("observer_panics_total",
			"Panics recovered from the Monitor's event observers.", nil),
		logsDropped: newDesc("log_records_dropped_total",
			"Monitor report records not written because too many were waiting for the slog handler (it is slow or blocked).", nil),
		loggerPanics: newDesc("logger_panics_total",
			"Panics recovered from the Monitor's slog handler.", nil),
		contextPanics: newDesc("context_panics_total",
			"Panics recovered from methods of tracked contexts called by the Monitor.", nil),
		shed: newDesc("requests_shed_total",
			"Requests turned away by middleware with a lagging limit, by scope (route or RPC method).", []string{"scope"}),
	}
	for _, b := range ctxguard.ExitDelayBounds() {
		c.bounds = append(c.bounds, b.Seconds())
	}
	return c
}

// Describe sends the collector's fixed descriptors.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.spawned, c.live, c.lagging, c.lagged, c.leaked,
		c.untracked, c.untrackedLeak, c.leakCheck, c.delay, c.panics, c.tracked, c.dropped, c.rate, c.events, c.observerPanics,
		c.logsDropped, c.loggerPanics, c.contextPanics, c.shed} {
		ch <- d
	}
}

// Collect takes a Snapshot of the Monitor and sends its counts.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	if m == nil {
		m = ctxguard.Default()
	}
	s := m.Snapshot()

	send(ch, c.spawned, prometheus.CounterValue, float64(s.Spawned))
	send(ch, c.tracked, prometheus.CounterValue, float64(s.CancelsTracked))
	send(ch, c.rate, prometheus.GaugeValue, float64(s.CancelSampleRate))
	send(ch, c.events, prometheus.CounterValue, float64(s.EventsDropped))
	send(ch, c.observerPanics, prometheus.CounterValue, float64(s.ObserverPanics))
	send(ch, c.logsDropped, prometheus.CounterValue, float64(s.LogRecordsDropped))
	send(ch, c.loggerPanics, prometheus.CounterValue, float64(s.LoggerPanics))
	send(ch, c.contextPanics, prometheus.CounterValue, float64(s.ContextPanics))
	// Distinct scopes (names differing only in invalid UTF-8) and sites
	// (two calls on one line) can share a label value, and Prometheus
	// forbids duplicate series: sum them.
	shed := make(map[string]uint64, len(s.Scopes))
	for _, sc := range s.Scopes {
		if sc.Shed > 0 {
			shed[labelValue(sc.Scope)] += sc.Shed
		}
	}
	for scope, n := range shed {
		send(ch, c.shed, prometheus.CounterValue, float64(n), scope)
	}

	drops := make(map[string]uint64, len(s.DroppedCancelSites))
	for _, sc := range s.DroppedCancelSites {
		drops[labelValue(sc.Site.String())] += sc.Count
	}
	for site, n := range drops {
		send(ch, c.dropped, prometheus.CounterValue, float64(n), site)
	}

	for k, g := range c.series.Fold(s.Goroutines) {
		st := sum(g)
		send(ch, c.live, prometheus.GaugeValue, float64(st.live), k.Name, k.Scope)
		send(ch, c.lagging, prometheus.GaugeValue, float64(st.lagging), k.Name, k.Scope)
		send(ch, c.lagged, prometheus.CounterValue, float64(st.lagged), k.Name, k.Scope)
		send(ch, c.leaked, prometheus.GaugeValue, float64(st.leaked), k.Name, k.Scope)
		send(ch, c.panics, prometheus.CounterValue, float64(st.panics), k.Name, k.Scope)
		h, err := prometheus.NewConstHistogram(c.delay,
			st.lateExits, st.delaySum.Seconds(), c.buckets(st.delays), k.Name, k.Scope)
		ch <- valid(c.delay, h, err)
	}

	if !s.LeakCheckAt.IsZero() {
		send(ch, c.leakCheck, prometheus.GaugeValue, float64(s.LeakCheckAt.UnixNano())/1e9)
	}
	c.collectUntracked(ch, &s)
}

// collectUntracked sends the untracked groups, once the Monitor has looked
// at untracked goroutines. Groups are labelled with the function they
// started with and the file:line they are blocked at; two groups with one
// label pair (blocked at one line for different reasons) are summed. The
// label values are bounded as the Snapshot bounds its groups: at most
// Config.MaxSites per scrape, and they name places in the program's code,
// so over time they are as many as the places where goroutines pile up.
func (c *collector) collectUntracked(ch chan<- prometheus.Metric, s *ctxguard.Snapshot) {
	if s.UntrackedAt.IsZero() {
		return
	}
	type labels struct{ start, at string }
	type counts struct{ count, leaked int }
	groups := make(map[labels]counts, len(s.Untracked))
	for _, u := range s.Untracked {
		k := labels{labelValue(u.Start.Function), labelValue(u.BlockedAt.Site.String())}
		n := groups[k]
		groups[k] = counts{n.count + u.Count, n.leaked + u.Leaked}
	}
	for k, n := range groups {
		send(ch, c.untracked, prometheus.GaugeValue, float64(n.count), k.start, k.at)
		send(ch, c.untrackedLeak, prometheus.GaugeValue, float64(n.leaked), k.start, k.at)
	}
	send(ch, c.untracked, prometheus.GaugeValue, float64(s.UntrackedOmitted), ctxguard.OverflowName, "")
}

// buckets turns the non-cumulative counts of GoroutineStats.ExitDelays into
// Prometheus's cumulative ones; the last count, above every bound, only
// shows in the histogram's count.
func (c *collector) buckets(delays []uint64) map[float64]uint64 {
	b := make(map[float64]uint64, len(c.bounds))
	var sum uint64
	for i, bound := range c.bounds {
		if i < len(delays) {
			sum += delays[i]
		}
		b[bound] = sum
	}
	return b
}

func send(ch chan<- prometheus.Metric, d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
	cm, err := prometheus.NewConstMetric(d, t, v, labels...)
	ch <- valid(d, cm, err)
}

// valid returns m, or if building it failed a metric that reports err to
// the registry, which returns it from Gather: a scrape must not panic in the
// host. Label values are made valid beforehand, so no error is expected.
func valid(d *prometheus.Desc, m prometheus.Metric, err error) prometheus.Metric {
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}

// labelValue makes s a valid label value: Prometheus requires UTF-8, and
// goroutine names and scopes are arbitrary strings.
func labelValue(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}
