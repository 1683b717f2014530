package ctxguard

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
)

// A Monitor holds what ctxguard has observed: tracked cancel funcs and the
// drops among them, tracked goroutines and the lagging ones. Events reach it
// from the runtime's cleanup goroutines and from tracked goroutines; it logs
// aggregated reports from one background goroutine of its own, started with
// the first event to report and stopped by [Monitor.Close].
//
// Constructors and spawned goroutines use the Monitor their context carries
// ([WithMonitor]) and otherwise [Default]. A Monitor is safe for concurrent
// use.
type Monitor struct {
	cfg    Config
	closed atomic.Bool

	cancelsTracked atomic.Uint64
	droppedCancels atomic.Uint64
	// cancelsCollected counts tracked cancel funcs collected uncalled,
	// dropped or not: tests wait on it to know the cleanups have run.
	cancelsCollected atomic.Uint64

	mu          sync.Mutex
	cancelSites siteTable
	reporter    *reporter // nil until the first event to report
	closing     bool      // set by Close under mu: no new reporter
}

// New returns a Monitor configured by cfg, with the defaults documented on
// [Config] for its zero fields. It panics if a field is negative.
//
// While a Monitor is open it takes part in sampling cancel funcs: one with
// CancelSampleRate 1 makes every constructor call look up the Monitor its
// parent carries (tens of nanoseconds), so close a track-all Monitor when
// done with it.
func New(cfg Config) *Monitor {
	cfg = cfg.withDefaults()
	m := &Monitor{cfg: cfg}
	m.cancelSites.max = cfg.MaxSites
	openMonitor(m)
	return m
}

// Close stops the Monitor's background work, after logging a last report of
// events not reported yet, and returns nil. Afterwards the Monitor owns no
// goroutine, tracks nothing new (constructors and spawned goroutines that
// would use it behave exactly like package context and the go statement),
// and [Monitor.Snapshot] keeps answering with what was recorded. Close is
// idempotent and safe to call concurrently.
func (m *Monitor) Close() error {
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return nil
	}
	m.closing = true
	m.closed.Store(true)
	r := m.reporter
	m.mu.Unlock()

	closeMonitor(m)
	if r != nil {
		r.stop()
	}
	return nil
}

func (m *Monitor) logger() *slog.Logger {
	if m.cfg.Logger != nil {
		return m.cfg.Logger
	}
	return slog.Default()
}

// recordDroppedCancel is called from a runtime cleanup goroutine: it only
// counts, and leaves symbolizing and logging to the reporter.
func (m *Monitor) recordDroppedCancel(pc uintptr) {
	m.droppedCancels.Add(1)
	m.mu.Lock()
	s := m.cancelSites.get(pc)
	s.total++
	s.unreported++
	m.ensureReporterLocked()
	m.mu.Unlock()
}

// Sampling membership: the open Monitors, whose smallest CancelSampleRate
// sets stage one of sampling (see cancel.go). A Default Monitor not created
// yet counts as open with the default rate, since the first tracked cancel
// func creates it.
var (
	monitorsMu   sync.Mutex
	openMonitors = map[*Monitor]struct{}{}
)

func init() { updateSampling() }

func openMonitor(m *Monitor) {
	monitorsMu.Lock()
	defer monitorsMu.Unlock()
	openMonitors[m] = struct{}{}
	updateSampling()
}

func closeMonitor(m *Monitor) {
	monitorsMu.Lock()
	defer monitorsMu.Unlock()
	delete(openMonitors, m)
	updateSampling()
}

// updateSampling runs with monitorsMu held, or from init.
func updateSampling() {
	var lowest int64
	if defaultMonitor.Load() == nil {
		lowest = DefaultCancelSampleRate
	}
	for m := range openMonitors {
		if r := int64(m.cfg.CancelSampleRate); lowest == 0 || r < lowest {
			lowest = r
		}
	}
	minSampleRate.Store(lowest)
	if lowest == 0 {
		sampleThreshold.Store(0)
	} else {
		sampleThreshold.Store((1 << 32) / uint64(lowest))
	}
}

var (
	defaultMonitor atomic.Pointer[Monitor]
	defaultMu      sync.Mutex
)

// Default returns the Monitor used by contexts that carry none: the one set
// by [SetDefault], or else one created with the zero Config on first use.
func Default() *Monitor {
	if m := defaultMonitor.Load(); m != nil {
		return m
	}
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if m := defaultMonitor.Load(); m != nil {
		return m
	}
	m := New(Config{})
	defaultMonitor.Store(m)
	return m
}

// SetDefault makes m the Monitor returned by [Default]. The previous default
// is left as it is (open or closed); close it if it is no longer wanted.
// SetDefault panics if m is nil.
func SetDefault(m *Monitor) {
	if m == nil {
		panic("ctxguard: SetDefault called with a nil *Monitor")
	}
	defaultMu.Lock()
	defer defaultMu.Unlock()
	defaultMonitor.Store(m)
	monitorsMu.Lock()
	updateSampling()
	monitorsMu.Unlock()
}

type monitorKey struct{}

// WithMonitor returns a copy of parent that carries m: cancel funcs created
// from it and goroutines spawned with it are tracked by m instead of
// [Default]. It panics if m is nil.
func WithMonitor(parent Context, m *Monitor) Context {
	if m == nil {
		panic("ctxguard: WithMonitor called with a nil *Monitor")
	}
	return context.WithValue(parent, monitorKey{}, m)
}

// MonitorFrom returns the Monitor ctx carries (see [WithMonitor]), or
// [Default] if it carries none. Cost: one ctx.Value lookup.
func MonitorFrom(ctx Context) *Monitor {
	if m, ok := ctx.Value(monitorKey{}).(*Monitor); ok {
		return m
	}
	return Default()
}
