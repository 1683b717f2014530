package ctxotel

import (
	"github.com/ctxguard/ctxguard/ctxguard"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// The instruments of RegisterMetrics, named as package ctxprom's metrics
// are, in OpenTelemetry's style: dotted, no unit or _total suffix (the unit
// is the instrument's), counts of things present as up-down counters,
// cumulative counts as counters.
//
// Adding an instrument is adding an element to instruments (or, for a
// reading that needs more of the Snapshot, a field to reading first): the
// registration creates it, and the callback reports it, with the others.

// exitDelayName is the one synchronous instrument, a histogram: the
// metrics API has no asynchronous histogram, so it is recorded as each
// late exit happens (see RegisterMetrics).
const exitDelayName = "ctxguard.goroutine.exit_delay"

// instrumentKind is the kind of an asynchronous instrument.
type instrumentKind uint8

const (
	counter       instrumentKind = iota // a cumulative count: a monotonic sum
	upDownCounter                       // a count of things present: a non-monotonic sum
	gauge                               // a value not to be summed over attributes
)

// An instrument is one asynchronous int64 instrument and the values it
// reports from a reading.
type instrument struct {
	name, unit, description string
	kind                    instrumentKind
	values                  func(r *reading, report func(v int64, attrs attribute.Set))
}

// reading is what one collection reports: one Snapshot, with its goroutine
// entries folded into series and its dropped cancel funcs summed by code
// location.
type reading struct {
	snap      ctxguard.Snapshot
	series    []*seriesStats
	sites     map[siteKey]uint64
	untracked map[untrackedKey]untrackedCounts
}

var instruments = []instrument{
	{
		name: "ctxguard.goroutines.spawned", unit: "{goroutine}", kind: counter,
		description: "Goroutines started with spawn.Go or a spawn.Group, and request handlers tracked by the middleware, since the Monitor started.",
		values:      total(func(s *ctxguard.Snapshot) int64 { return int64(s.Spawned) }),
	},
	{
		name: "ctxguard.goroutines.live", unit: "{goroutine}", kind: upDownCounter,
		description: "Tracked goroutines still running, by goroutine name and scope.",
		values:      perSeries(func(st *seriesStats) int64 { return int64(st.live) }),
	},
	{
		name: "ctxguard.goroutines.lagging", unit: "{goroutine}", kind: upDownCounter,
		description: "Tracked goroutines still running more than their grace period after their context ended, by goroutine name and scope.",
		values:      perSeries(func(st *seriesStats) int64 { return int64(st.lagging) }),
	},
	{
		name: "ctxguard.goroutines.lagged", unit: "{goroutine}", kind: counter,
		description: "Tracked goroutines that ever ran more than their grace period after their context ended (became lagging), by goroutine name and scope.",
		values:      perSeries(func(st *seriesStats) int64 { return int64(st.lagged) }),
	},
	{
		name: "ctxguard.goroutines.leaked", unit: "{goroutine}", kind: upDownCounter,
		description: "Tracked goroutines, lagging or not, that Go's goroutine leak profile proved can never return (blocked on channels or locks nothing reachable can signal), at its last check, by goroutine name and scope. Always 0 on a Go release without the profile.",
		values:      perSeries(func(st *seriesStats) int64 { return int64(st.leaked) }),
	},
	{
		name: "ctxguard.goroutines.untracked", unit: "{goroutine}", kind: upDownCounter,
		description: "Goroutines ctxguard does not track, in groups that started with the same function and are blocked at the same code location, listed by the Monitor (Config.WatchUntracked) at its last look. ctxguard.start \"(other sites)\" counts those of groups beyond Config.MaxSites.",
		values: func(r *reading, report func(int64, attribute.Set)) {
			for k, n := range r.untracked {
				report(int64(n.count), untrackedAttrs(k))
			}
		},
	},
	{
		name: "ctxguard.goroutines.untracked_leaked", unit: "{goroutine}", kind: upDownCounter,
		description: "Of ctxguard.goroutines.untracked, those Go's goroutine leak profile proved can never return, at its last check. Always 0 on a Go release without the profile.",
		values: func(r *reading, report func(int64, attribute.Set)) {
			for k, n := range r.untracked {
				if k != untrackedOverflow {
					report(int64(n.leaked), untrackedAttrs(k))
				}
			}
		},
	},
	{
		name: "ctxguard.leak_check.time", unit: "s", kind: gauge,
		description: "When the Monitor last ran Go's goroutine leak profile, in seconds since the Unix epoch; not reported until it has, and never on a Go release without the profile.",
		values: func(r *reading, report func(int64, attribute.Set)) {
			if at := r.snap.LeakCheckAt; !at.IsZero() {
				report(at.Unix(), *attribute.EmptySet())
			}
		},
	},
	{
		name: "ctxguard.goroutine.panics", unit: "{goroutine}", kind: counter,
		description: "Tracked goroutines that panicked, recovered or not, by goroutine name and scope.",
		values:      perSeries(func(st *seriesStats) int64 { return int64(st.panics) }),
	},
	{
		name: "ctxguard.cancels.tracked", unit: "{cancel}", kind: counter,
		description: "Cancel funcs of ctxguard's WithCancel, WithTimeout, WithDeadline and their Cause forms that were tracked for being dropped: one in ctxguard.cancel.sample_rate of those created.",
		values:      total(func(s *ctxguard.Snapshot) int64 { return int64(s.CancelsTracked) }),
	},
	{
		name: "ctxguard.cancels.dropped", unit: "{cancel}", kind: counter,
		description: "Tracked cancel funcs garbage collected uncalled while their context was not done, by the code location that created them. Multiply by ctxguard.cancel.sample_rate to estimate all dropped cancel funcs.",
		values: func(r *reading, report func(int64, attribute.Set)) {
			for k, n := range r.sites {
				report(int64(n), siteAttrSet(k))
			}
		},
	},
	{
		name: "ctxguard.cancel.sample_rate", unit: "1", kind: gauge,
		description: "One in this many cancel funcs is tracked for being dropped; 1 tracks every one.",
		values:      total(func(s *ctxguard.Snapshot) int64 { return int64(s.CancelSampleRate) }),
	},
	{
		name: "ctxguard.events.dropped", unit: "{event}", kind: counter,
		description: "Monitor events not delivered to observers because too many were waiting (an observer is slow or blocked).",
		values:      total(func(s *ctxguard.Snapshot) int64 { return int64(s.EventsDropped) }),
	},
	{
		name: "ctxguard.observer.panics", unit: "{panic}", kind: counter,
		description: "Panics recovered from the Monitor's event observers.",
		values:      total(func(s *ctxguard.Snapshot) int64 { return int64(s.ObserverPanics) }),
	},
	{
		name: "ctxguard.requests.shed", unit: "{request}", kind: counter,
		description: "Requests turned away by middleware with a lagging limit, by scope (route or RPC method).",
		values: func(r *reading, report func(int64, attribute.Set)) {
			for _, sc := range r.snap.Scopes {
				if sc.Shed > 0 {
					report(int64(sc.Shed), attribute.NewSet(keyScope.String(valid(sc.Scope))))
				}
			}
		},
	},
	{
		name: "ctxguard.log_records.dropped", unit: "{record}", kind: counter,
		description: "Monitor report records not written because too many were waiting for the slog handler (it is slow or blocked).",
		values:      total(func(s *ctxguard.Snapshot) int64 { return int64(s.LogRecordsDropped) }),
	},
	{
		name: "ctxguard.logger.panics", unit: "{panic}", kind: counter,
		description: "Panics recovered from the Monitor's slog handler.",
		values:      total(func(s *ctxguard.Snapshot) int64 { return int64(s.LoggerPanics) }),
	},
	{
		name: "ctxguard.context.panics", unit: "{panic}", kind: counter,
		description: "Panics recovered from methods of tracked contexts called by the Monitor.",
		values:      total(func(s *ctxguard.Snapshot) int64 { return int64(s.ContextPanics) }),
	},
}

// total reports one value of the whole Monitor, without attributes.
func total(f func(*ctxguard.Snapshot) int64) func(*reading, func(int64, attribute.Set)) {
	return func(r *reading, report func(int64, attribute.Set)) {
		report(f(&r.snap), *attribute.EmptySet())
	}
}

// perSeries reports one value per goroutine series.
func perSeries(f func(*seriesStats) int64) func(*reading, func(int64, attribute.Set)) {
	return func(r *reading, report func(int64, attribute.Set)) {
		for _, st := range r.series {
			report(f(st), st.attrs)
		}
	}
}

// create makes the instrument with meter.
func (in instrument) create(meter metric.Meter) (metric.Int64Observable, error) {
	switch in.kind {
	case counter:
		return meter.Int64ObservableCounter(in.name, metric.WithUnit(in.unit), metric.WithDescription(in.description))
	case upDownCounter:
		return meter.Int64ObservableUpDownCounter(in.name, metric.WithUnit(in.unit), metric.WithDescription(in.description))
	default:
		return meter.Int64ObservableGauge(in.name, metric.WithUnit(in.unit), metric.WithDescription(in.description))
	}
}
