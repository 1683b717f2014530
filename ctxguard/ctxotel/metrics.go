package ctxotel

import (
	"context"
	"errors"
	"reflect"
	"sync"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/series"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
)

// RegisterMetrics reports what m has observed, nil meaning
// [ctxguard.Default], as OpenTelemetry metrics, until Unregister is called
// on the returned registration. The package documentation lists the
// instruments; they are made with the MeterProvider of
// [WithMeterProvider], else the global one, under the instrumentation
// scope "github.com/ctxguard/ctxguard/ctxguard/ctxotel". Of the options,
// [WithMeterProvider] and [WithMaxSeries] apply.
//
// Every instrument but one is asynchronous: at each collection, one
// [ctxguard.Monitor.Snapshot] is taken and every value read from it, so
// the counts are the Monitor's since it started, and nothing is done
// between collections. The exception is the exit-delay histogram, since
// the metrics API has no asynchronous histogram: RegisterMetrics observes m
// ([ctxguard.Monitor.Observe]) and records each lagging goroutine's delay
// when it returns, from then on. Those delays are the ones the Monitor
// puts in [ctxguard.GoroutineStats.ExitDelays], in buckets with the same
// bounds; a late exit dropped from a full event queue (counted by
// ctxguard.events.dropped) is missing from the histogram.
//
// It returns an error, and registers nothing, if the MeterProvider
// refuses an instrument or the callback, or [ErrAlreadyRegistered] if m's
// metrics are registered with that MeterProvider already (its meters would
// add the two registrations' values up). Unregister stops both the
// callback and the observer; a late exit already being delivered may
// still be recorded once.
func RegisterMetrics(m *ctxguard.Monitor, opts ...Option) (metric.Registration, error) {
	cfg := newConfig(opts)
	if m == nil {
		m = ctxguard.Default()
	}
	meter := cfg.meters.Meter(instrumentationName)
	key, ok := registrationKey{meter, m}, reflect.TypeOf(meter).Comparable()
	if ok {
		if _, dup := registered.LoadOrStore(key, true); dup {
			return nil, ErrAlreadyRegistered
		}
	}
	reg, err := register(m, meter, cfg)
	if err != nil {
		if ok {
			registered.Delete(key)
		}
		return nil, err
	}
	if ok {
		reg.forget = func() { registered.Delete(key) }
	}
	return reg, nil
}

// ErrAlreadyRegistered is RegisterMetrics' error when the Monitor's
// metrics are registered with the MeterProvider already: Unregister the
// first registration before registering again. The check compares the
// meters the MeterProviders give: registering once through the global
// MeterProvider and once with the provider it forwards to is not caught.
var ErrAlreadyRegistered = errors.New("ctxotel: the Monitor's metrics are already registered with this MeterProvider")

// registered holds the registrationKeys of the registrations in place.
// A meter of a type that cannot be compared (a MeterProvider of one's own)
// is not checked.
var registered sync.Map

// A registrationKey is a Monitor and the meter its metrics are registered
// with: a MeterProvider gives one meter per instrumentation scope.
type registrationKey struct {
	meter metric.Meter
	m     *ctxguard.Monitor
}

// register makes the instruments, callback and observer of m's metrics
// with meter.
func register(m *ctxguard.Monitor, meter metric.Meter, cfg config) (*registration, error) {
	r := &metrics{m: m, series: newSeriesTable(cfg.maxSeries)}
	var errs []error
	observables := make([]metric.Observable, len(instruments))
	for i, in := range instruments {
		obs, err := in.create(meter)
		errs = append(errs, err)
		r.observables = append(r.observables, obs)
		observables[i] = obs
	}
	var bounds []float64
	for _, b := range ctxguard.ExitDelayBounds() {
		bounds = append(bounds, b.Seconds())
	}
	var err error
	r.exitDelay, err = meter.Float64Histogram(exitDelayName, metric.WithUnit("s"),
		metric.WithDescription("Time from the end of a lagging goroutine's context to its return, recorded as each lagging goroutine returns, by goroutine name and scope."),
		metric.WithExplicitBucketBoundaries(bounds...))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	callback, err := meter.RegisterCallback(r.collect, observables...)
	if err != nil {
		return nil, err
	}
	return &registration{callback: callback, stop: m.Observe(r.observe)}, nil
}

// metrics is the state of one RegisterMetrics.
type metrics struct {
	m           *ctxguard.Monitor
	series      *series.Table[attribute.Set]
	observables []metric.Int64Observable // in the order of instruments
	exitDelay   metric.Float64Histogram
}

// collect is the callback: one Snapshot, every asynchronous instrument.
func (r *metrics) collect(_ context.Context, o metric.Observer) error {
	rd := reading{snap: r.m.Snapshot()}
	rd.series = foldSeries(r.series, rd.snap.Goroutines)
	rd.untracked = foldUntracked(&rd.snap)
	rd.sites = make(map[siteKey]uint64, len(rd.snap.DroppedCancelSites))
	for _, sc := range rd.snap.DroppedCancelSites {
		rd.sites[siteKey{valid(sc.Site.Function), valid(sc.Site.File), sc.Site.Line}] += sc.Count
	}
	for i, in := range instruments {
		obs := r.observables[i]
		in.values(&rd, func(v int64, attrs attribute.Set) {
			o.ObserveInt64(obs, v, metric.WithAttributeSet(attrs))
		})
	}
	return nil
}

// observe records late exits in the histogram; other kinds are ignored.
func (r *metrics) observe(ev ctxguard.Event) {
	if ev.Kind != ctxguard.EventLateExit {
		return
	}
	_, attrs := r.series.Lookup(ev.Name, ev.Scope)
	r.exitDelay.Record(context.Background(), ev.Delay().Seconds(),
		metric.WithAttributeSet(attrs))
}

// registration undoes one RegisterMetrics.
type registration struct {
	embedded.Registration
	callback metric.Registration
	stop     func()
	forget   func() // lets the Monitor's metrics be registered with the meter again; nil if not checked
	once     sync.Once
}

// Unregister stops the callback and the observer of the Monitor. It is
// idempotent.
func (r *registration) Unregister() error {
	r.stop()
	err := r.callback.Unregister()
	if r.forget != nil {
		r.once.Do(r.forget)
	}
	return err
}
