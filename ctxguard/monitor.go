package ctxguard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctxguard/ctxguard/internal/cowmap"
)

// A Monitor holds what ctxguard has observed: tracked cancel funcs and the
// drops among them, tracked goroutines and the lagging ones, and where
// those are blocked. Events reach it from the runtime's finalizer goroutine
// and from tracked goroutines. One background goroutine of its own scans
// for lags and writes reports while there is something to watch or report:
// started by the first tracked goroutine or dropped cancel func, it
// returns when nothing is tracked and nothing waits to be reported, and
// [Monitor.Close] stops it for good. Log records and events go to the
// Logger and the observers on goroutines that run only while some wait.
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
	// dropped or not: tests wait on it to know the finalizers have run.
	cancelsCollected atomic.Uint64
	// uncalledIsDropped counts every tracked cancel func collected
	// uncalled as dropped, even if its context had ended: ctxguardtest's
	// Monitors, which look only once the test's context has ended.
	uncalledIsDropped bool

	shards      []shard
	watchShards []watchShard // as many as shards
	shardBits   uint8        // len(shards) is 1<<shardBits
	bubbled     bool         // made in a synctest bubble: see bubble.go
	starters    []func()     // per shard, see newStarters
	lagged      atomic.Uint64
	panics      atomic.Uint64
	run         atomic.Pointer[loopRun] // the running loop, nil if none
	loops       sync.WaitGroup          // loop goroutines, for Close
	// loopGoroutines counts them too, for tests (track.LoopRunning).
	loopGoroutines atomic.Int32
	observed       atomic.Bool // someone observes events
	observers      observers
	events         outbox[Event]                 // to the observers
	logs           outbox[logRecord]             // to the Logger
	lastLagID      uint64                        // owned by the loop
	unscoped       tracking                      // for goroutines whose context carries no tracking
	scopes         cowmap.Map[string, *tracking] // see scoped
	lagTasks       lagTasks                      // execution trace tasks of lagging goroutines
	lateExits      lateExits                     // returns of lagging goroutines, for the loop

	stackCapture stackCapture // owned by the loop
	traces       traceFiles   // execution traces at the first lag (flightrecorder.go)

	leakErrLogged atomic.Bool // a failed leak check was logged, once

	// Panics recovered from user code that ctxguard's own goroutines call.
	loggerPanics, contextPanics atomic.Uint64

	// mu guards the fields from here to closeMu, and what they point to:
	// the statistics entries (stats.go) with their blocking locations
	// (blocked.go), and the scopes' counts that are not atomic
	// (scopes.go).
	//
	// Lock order: closeMu, then mu; mu, then traces.mu (report names the
	// trace file of a site's first lag; flightrecorder.go orders the locks
	// after it). A shard's mutex (the registry, goroutines.go) and a watch
	// shard's (watch.go) are never held with mu, nor with each other: code
	// that needs two of them takes one, lets it go, then takes the other,
	// as scan marks records lagging under their shard's lock and then
	// records the lags under mu. So whoever holds a shard's lock never
	// waits for mu (a report or a Snapshot's statistics): a shard's lock
	// is held only briefly, by spawns and exits, the scan, parking and
	// contextEnded, and the copies of its counts that Snapshot, Health and
	// the loop make.
	mu             sync.Mutex
	cancelSites    boundedTable[uintptr, siteStats]
	goroutineStats boundedTable[goroutineStatsKey, goroutineStats]
	lagging        map[*goroutine]*lagRecord // the lagging records
	// returnedUnrecorded holds the lagging records that returned before
	// recordLagging listed them, until it does.
	returnedUnrecorded map[*goroutine]struct{}
	unknownStacks      int // of them, those whose stack is not captured yet
	groupLagging       groupLagging
	dirty              []*goroutineStats // entries with news to report
	dirtyCancels       []*siteStats      // cancel sites with news to report
	dirtyScopes        []*scopeState     // scopes shedding, or with news to report
	news               bool              // something was listed since the last report round began
	overflowScope      scopeState        // the scopes beyond MaxSites
	closing            bool              // set by Close under mu: no loop is started after
	// leaked counts, per entry, the tracked goroutines the last leak check
	// proved leaked (leakcheck.go); leakCheckAt is when it ran.
	leaked      map[goroutineStatsKey]int
	leakedAt    map[goroutineStatsKey][]BlockedAt // where they are blocked
	leakCheckAt time.Time
	untracked   untracked // the untracked goroutines, at the last look (untracked.go)

	closeMu sync.Mutex // held by Close
}

// New returns a Monitor configured by cfg, with the defaults documented on
// [Config] for its zero fields. It panics if a field is negative.
//
// While a Monitor is open it takes part in sampling cancel funcs: one with
// CancelSampleRate 1 makes every constructor call look up the Monitor its
// parent carries (tens of nanoseconds), so close a track-all Monitor when
// done with it.
func New(cfg Config) *Monitor {
	return newMonitor(cfg, inBubble())
}

// newMonitor is New, for a Monitor that belongs to a synctest bubble or
// not (bubble.go).
func newMonitor(cfg Config, bubbled bool) *Monitor {
	cfg = cfg.withDefaults()
	b := shardBits()
	m := &Monitor{
		cfg:         cfg,
		shards:      make([]shard, 1<<b),
		watchShards: make([]watchShard, 1<<b),
		shardBits:   b,
		bubbled:     bubbled,
	}
	m.unscoped.m = m
	m.unscoped.state = &scopeState{}
	m.overflowScope.name = OverflowName
	m.lagging = make(map[*goroutine]*lagRecord)
	m.returnedUnrecorded = make(map[*goroutine]struct{})
	m.groupLagging = make(groupLagging)
	m.events = outbox[Event]{max: maxPendingEvents, deliver: m.notify}
	m.logs = outbox[logRecord]{max: maxPendingLogRecords, deliver: m.logOne}
	m.starters = m.newStarters()
	m.cancelSites.max = cfg.MaxSites
	m.goroutineStats.max = cfg.MaxSites
	m.stackCapture.longLivedNext = time.Now().Add(longLivedLeakCheck)
	openMonitor(m)
	m.startTraces()
	if m.watchesUntracked() {
		m.startLoop() // it looks until Close, with nothing tracked too
	}
	return m
}

// closeWait bounds how long Close waits for the Logger's handler and the
// observers to take the last records and events.
const closeWait = time.Second

// Close stops the Monitor's background work, after logging a last report of
// events not reported yet. Afterwards the Monitor's loop has returned, it
// tracks nothing new (constructors and spawned goroutines that would use it
// behave exactly like package context and the go statement), and
// [Monitor.Snapshot] keeps answering with what was recorded.
//
// Close waits up to a second for the Config.Logger's handler and the
// observers to take the last records and events; if they are blocked, it
// returns an error saying how many it gave up on (a goroutine stuck in such
// a handler stays stuck there: it is the handler's). Called from a handler
// or an observer, it does not wait for them. With Config.TraceDir, Close
// lets go of the flight recorder (stopping it unless another open Monitor
// with a TraceDir holds it) once the trace file being written, if any, is
// written, within the same second; past it, Close says so in its error and
// the recorder runs until the file is written. Close is idempotent and
// safe to call concurrently: every call returns once the loop has
// returned.
func (m *Monitor) Close() error {
	m.mustBeNew("Monitor.Close")
	m.closeMu.Lock() // held until done: a concurrent Close waits for this one
	defer m.closeMu.Unlock()
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return nil
	}
	m.closing = true
	m.closed.Store(true)
	r := m.run.Load()
	m.mu.Unlock()

	closeMonitor(m)
	if r != nil {
		close(r.quit)
	}
	m.loops.Wait()
	deadline := time.Now().Add(closeWait)
	traceErr := m.closeTraces(deadline)
	m.recordLateExits(true)
	m.report(time.Now(), true)
	// From now on nothing more is taken (a late dropped cancel, say),
	// so that no outbox goroutine starts after Close; what is queued is
	// delivered.
	m.logs.close()
	m.events.close()
	var logs, events int
	if !onOutboxGoroutine() {
		logs, events = m.logs.wait(deadline), m.events.wait(deadline)
	}
	if logs > 0 || events > 0 {
		return errors.Join(traceErr, fmt.Errorf("ctxguard: Close gave up after %v on %d log records and %d events: the Logger's handler or an observer is blocked",
			closeWait, logs, events))
	}
	return traceErr
}

// mustBeNew panics, naming what was called, if m is not a Monitor made by
// New: a zero Monitor has no registry.
func (m *Monitor) mustBeNew(what string) {
	switch {
	case m == nil:
		panic("ctxguard: " + what + ": nil *Monitor")
	case m.shards == nil:
		panic("ctxguard: " + what + ": the Monitor was not made by New")
	}
}

func (m *Monitor) logger() *slog.Logger {
	if m.cfg.Logger != nil {
		return m.cfg.Logger
	}
	return slog.Default()
}

// recordDroppedCancel is called from the runtime's finalizer goroutine: it only
// counts, and leaves symbolizing and logging to the reporter.
func (m *Monitor) recordDroppedCancel(ctx Context, pc uintptr) {
	m.droppedCancels.Add(1)
	m.mu.Lock()
	s := m.cancelSites.get(pc, newSiteStats)
	s.total++
	s.unreported++
	m.dirtyCancelLocked(s)
	m.mu.Unlock()
	if m.run.Load() == nil && !m.foreign() { // a bubble's Monitor starts its loop in the bubble
		m.startLoop()
	}
	m.wakeLoop() // the first drop of a site is logged at once
	if m.observed.Load() {
		m.queue(Event{Kind: EventDroppedCancel, Site: siteOf(pc), Context: ctx, Time: time.Now()})
	}
}

func newSiteStats(pc uintptr, overflow bool) *siteStats {
	if overflow {
		return &siteStats{lazySite: overflowSite}
	}
	return &siteStats{lazySite: lazySite{pc: pc}}
}

var (
	defaultMonitor atomic.Pointer[Monitor]
	defaultMu      sync.Mutex
)

// Default returns the Monitor used by contexts that carry none: the one set
// by [SetDefault], or else one created with the zero Config on first use.
// Like every Monitor, it runs a goroutine only while it has work: tracked
// goroutines still live, or records held back by ReportInterval (a site
// that lagged or dropped cancel funcs more than once recently). Once a
// test's tracked work has ended, leak checks such as goleak.VerifyNone see
// none of its goroutines; to ignore those a Monitor still runs, pass
// [BackgroundFunctions] to goleak.IgnoreAnyFunction. Closing the Default
// Monitor turns tracking off for contexts that carry none, until SetDefault
// installs another. Default never belongs to a testing/synctest bubble,
// even when first asked for in one.
func Default() *Monitor {
	if m := defaultMonitor.Load(); m != nil {
		return m
	}
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if m := defaultMonitor.Load(); m != nil {
		return m
	}
	m := newMonitor(Config{}, false) // never a bubble's, even if first asked for in one
	defaultMonitor.Store(m)
	return m
}

// pkgPath begins the names of this package's functions in stacks.
const pkgPath = "github.com/ctxguard/ctxguard/ctxguard."

// BackgroundFunctions returns the functions that the goroutines a Monitor
// runs in the background are blocked in, as goroutine dumps name them:
// its loop, the goroutines that hand records and events to the Logger and
// observers, a stack capture, and a trace file being written. They run
// only while the Monitor has work. While a Monitor with Config.TraceDir is
// open, the runtime/trace goroutine that reads the flight recorder's trace
// runs too; it is listed last.
// For goleak:
//
//	var ignore []goleak.Option
//	for _, f := range ctxguard.BackgroundFunctions() {
//		ignore = append(ignore, goleak.IgnoreAnyFunction(f))
//	}
//	defer goleak.VerifyNone(t, ignore...)
func BackgroundFunctions() []string {
	return []string{
		pkgPath + "(*Monitor).loop",
		pkgPath + "(*outbox[...]).run",
		pkgPath + "(*Monitor).maybeCapture.func1",
		pkgPath + "(*Monitor).writeTrace",
		"runtime/trace.(*traceMultiplexer).startLocked.func1",
	}
}

// SetDefault makes m the Monitor returned by [Default]. The previous default
// is left as it is (open or closed); close it if it is no longer wanted.
// SetDefault panics if m is nil.
func SetDefault(m *Monitor) {
	if m == nil {
		panic("ctxguard: SetDefault called with a nil *Monitor")
	}
	m.mustBeNew("SetDefault")
	defaultMu.Lock()
	defer defaultMu.Unlock()
	defaultMonitor.Store(m)
	monitorsMu.Lock()
	updateSampling()
	monitorsMu.Unlock()
}

// WithMonitor returns a copy of parent that carries m: cancel funcs created
// from it and goroutines spawned with it are tracked by m instead of
// [Default]. The scope parent carries is kept. It panics if m is nil.
func WithMonitor(parent Context, m *Monitor) Context {
	if m == nil {
		panic("ctxguard: WithMonitor called with a nil *Monitor")
	}
	m.mustBeNew("WithMonitor")
	if parent == nil {
		panic("cannot create context from nil parent")
	}
	scope := ""
	if old := trackingOf(parent); old != nil {
		scope = old.scope
	}
	return context.WithValue(parent, trackingKey{}, m.scoped(scope))
}

// WithScope returns a copy of parent whose tracked goroutines are attributed
// to scope, such as a request's route; middleware sets it. Scopes label
// statistics and metrics, so they must come from a bounded set: a route
// pattern, never a raw URL. The Monitor parent carries is kept; if it
// carries none, the result carries Default() as of this call.
func WithScope(parent Context, scope string) Context {
	if parent == nil {
		panic("cannot create context from nil parent")
	}
	return context.WithValue(parent, trackingKey{}, trackingOf(parent).monitor().scoped(scope))
}

// scoped returns the tracking for m and scope, shared by every context
// with both: up to MaxSites scopes are kept, so that scoping a request
// allocates only its context; the others share the overflow scope's
// counts.
func (m *Monitor) scoped(scope string) *tracking {
	if scope == "" {
		return &m.unscoped
	}
	scope = truncateLabel(scope)
	if tr, ok := m.scopes.Load(scope); ok {
		return tr
	}
	if m.scopes.Len() < m.cfg.MaxSites { // else do not take the writers' lock
		m.scopes.LoadOrStore(scope, &tracking{m: m, scope: scope, state: &scopeState{name: scope}}, m.cfg.MaxSites)
		if tr, ok := m.scopes.Load(scope); ok { // stored, unless the table filled up meanwhile
			return tr
		}
	}
	// Beyond MaxSites scopes: the name is kept for reports, the counts
	// are the overflow scope's.
	return &tracking{m: m, scope: scope, state: &m.overflowScope}
}

// ScopeFrom returns the scope ctx carries, "" if none. It panics if ctx is
// nil.
func ScopeFrom(ctx Context) string {
	if ctx == nil {
		panic("ctxguard: ScopeFrom called with a nil Context")
	}
	if tr := trackingOf(ctx); tr != nil {
		return tr.scope
	}
	return ""
}

// MonitorFrom returns the Monitor ctx carries (see [WithMonitor]), or
// [Default] if it carries none. Cost: one ctx.Value lookup. It panics if
// ctx is nil.
func MonitorFrom(ctx Context) *Monitor {
	if ctx == nil {
		panic("ctxguard: MonitorFrom called with a nil Context")
	}
	return trackingOf(ctx).monitor()
}

// shardBits spreads the goroutine registry over a few shards per thread:
// it returns log2 of the shard count, at most 16 (a record keeps its
// shard's index in 16 bits).
func shardBits() uint8 {
	b := uint8(0)
	for 1<<b < 4*runtime.GOMAXPROCS(0) && b < 16 {
		b++
	}
	return b
}
