package ctxguard

import (
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ctxguard/ctxguard/internal/track"
)

// The goroutine registry behind package spawn.
//
// A tracked goroutine is one record, listed in one of the Monitor's shards:
// added on spawn and removed on exit under that shard's mutex; a record's
// shard is picked by its address, hashed, so spawns on different threads
// rarely meet (shardOf). Nothing else happens on the hot path: names,
// sites and per-name statistics are worked out only when a goroutine lags,
// exits late or panics, or when a Snapshot is taken.
//
// Lagging is found by the Monitor's loop (scan.go): a record's context is
// polled once, at the first scan after its spawn; if it is still live the
// record is parked and its context watched (watch.go). A record whose
// context has ended gets endedAt and, past endedAt+Grace, becomes lagging;
// the loop wakes at the earliest such deadline, so a goroutine is reported
// lagging at most a scan interval after Grace has passed.

// goroutine is one tracked goroutine's record. state, endedAt, watch and
// youngIdx are guarded by its shard's mutex; fn and next belong to the
// shard's pending stack until the goroutine starts (started, watchIdx:
// see their comments); ident and prevLabels belong to its goroutine; ctx
// is let go of once the goroutine has returned (see its comment); the
// other fields never change after spawn.
type goroutine struct {
	// ident is the label set its goroutine runs with: its address is the
	// goroutine's identity (identity.go).
	ident labelSet
	// prevLabels is, for a region, the label set its goroutine ran with
	// before, which End restores.
	prevLabels unsafe.Pointer

	// ctx is the goroutine's context, until it returns: then exit sets it
	// to nil, under the shard's mutex, or, for a lagging record,
	// recordLateExit does once the late exit is recorded. The record may
	// stay reachable for long after: goroutines its goroutine started with
	// go statements inherit its label set, ident, and must not keep the
	// context reachable, as under a go statement nothing would.
	ctx  Context
	opts *track.Options
	// live is its key (site, scope, name) and that key's live count in its
	// shard; the key's tracking is its Monitor and scope (tr), never nil.
	live *liveCell

	// fn is the function to run, from spawn until its goroutine takes it:
	// after that the record does not keep what fn captured reachable, so
	// the garbage collector (and Go's goroutine leak profile) sees the
	// goroutine's data as it would under a go statement.
	fn func(Context)

	next     atomic.Pointer[goroutine] // below it in its shard's pending stack, until it starts
	watch    *watch                    // while parked
	endedAt  int64                     // UnixNano when ctx was seen done; 0 until then
	watchIdx int32                     // in watch.records, guarded by the watch's shard; or, with no watch, in shard.forever
	youngIdx int32                     // in shard.young; -1 once a scan has taken it
	started  atomic.Bool               // its goroutine runs with its identity
	shard    uint16                    // index in the Monitor's shards
	state    recordState
	region   bool // the record of a region (enterScope), not of a spawned goroutine
	// 112 bytes, a size class of its own: keep it so (TestRecordSize).
}

// tr is the Monitor and scope g is tracked by.
func (g *goroutine) tr() *tracking { return g.live.key.tr }

// recordState is where a record is in its life.
type recordState uint8

const (
	young   recordState = iota // registered; the next scan looks at its context
	parked                     // its context was live at that scan: its watch, if any, will say when it ends
	ended                      // its context has ended: listed in shard.ended until grace runs out
	lagging                    // past grace
	exited                     // returned
)

// A shard is a part of the registry, guarded by its mutex.
type shard struct {
	mu       sync.Mutex
	young    []youngEntry              // registered since the last scan, each at its youngIdx
	epoch    uint32                    // counts the scans; see youngEntry
	ended    []*goroutine              // context ended, grace not out yet (and some exited since)
	forever  []*goroutine              // parked, their context never ends: each at its watchIdx
	pending  atomic.Pointer[goroutine] // stack of records whose goroutine has not started yet
	cells    map[spawnKey]*liveCell
	lastCell *liveCell // the cell cellLocked returned last
	spawned  uint64
	live     int
	lagging  int
	_        [64]byte // keep shards on separate cache lines
}

// A youngEntry is a record for the next scan, with its context's Done
// channel (nil if the context can never end).
type youngEntry struct {
	done  <-chan struct{}
	g     *goroutine
	epoch uint32 // the shard's epoch when it was registered
}

// removeYoung takes g out of the young list: the last entry takes its
// place. The caller holds s.mu.
func (s *shard) removeYoung(g *goroutine) {
	last := len(s.young) - 1
	if i := g.youngIdx; int(i) != last {
		s.young[i] = s.young[last]
		s.young[i].g.youngIdx = i
	}
	s.young[last] = youngEntry{}
	s.young = s.young[:last]
	g.youngIdx = -1
}

// addForever lists g, parked with a context that never ends, so that a
// leak check finds it (leakcheck.go). The caller holds s.mu.
func (s *shard) addForever(g *goroutine) {
	g.state = parked
	g.watchIdx = int32(len(s.forever))
	s.forever = append(s.forever, g)
}

// removeForever takes g, listed by addForever, out: the last one takes
// its place. The caller holds s.mu.
func (s *shard) removeForever(g *goroutine) {
	last := len(s.forever) - 1
	if i := g.watchIdx; int(i) != last {
		s.forever[i] = s.forever[last]
		s.forever[i].watchIdx = i
	}
	s.forever[last] = nil
	s.forever = s.forever[:last]
}

func (g *goroutine) grace() time.Duration {
	if g.opts != nil && g.opts.Grace > 0 {
		return g.opts.Grace
	}
	return g.tr().m.cfg.Grace
}

// goTracked is spawn.Go's body. Cost: one record allocation, one ctx.Value
// lookup for the Monitor and scope, an uncontended shard lock/unlock to
// register the record and another on exit, and a compare-and-swap each to
// hand the record to its goroutine through the shard's pending stack.
func goTracked(ctx Context, fn func(Context), site uintptr, opts *track.Options) {
	g := register(ctx, fn, site, opts)
	if g == nil {
		go runUntracked(ctx, fn, opts)
		return
	}
	// Not `go g.run()`, which would allocate a closure: the shard's
	// starter takes a pending record of its shard. Each registration is
	// followed by one starter, so each starter finds one.
	go g.tr().m.starters[g.shard]()
}

// enter gives the calling goroutine the identity of g, a region's record.
func (g *goroutine) enter() {
	g.prevLabels = getProfLabel()
	g.setLabels()
	g.started.Store(true)
}

// setLabels gives g's goroutine its profiler labels (Config.ProfileLabels)
// and identity.
func (g *goroutine) setLabels() {
	if g.tr().m.cfg.ProfileLabels {
		g.setProfileLabels()
	}
	g.ident.adopt()
}

// End ends a region started by enterScope.
func (g *goroutine) End() {
	switch {
	case labelIdentity:
		setProfLabel(g.prevLabels) // the labels the goroutine had
	case g.tr().m.cfg.ProfileLabels:
		pprof.SetGoroutineLabels(g.ctx)
	}
	g.exit()
}

// Abort ends a region whose goroutine is panicking or exiting through
// runtime.Goexit; a panic is counted. Whether it crashes the program is up
// to what the panic meets next (net/http recovers handler panics), so it
// is recorded as a recovered one, without its value.
func (g *goroutine) Abort() {
	if panicking() {
		g.tr().m.recordPanic(g, nil, false)
	}
	g.End()
}

type untrackedRegion struct{}

func (untrackedRegion) End()   {}
func (untrackedRegion) Abort() {}
func (untrackedRegion) Run(call func(a, b, c any) (any, error), a, b, c any) (any, error) {
	return call(a, b, c)
}

// register lists a new record for ctx with the Monitor ctx carries, or
// returns nil if that Monitor is closed.
func register(ctx Context, fn func(Context), site uintptr, opts *track.Options) *goroutine {
	tr := trackingOf(ctx)
	m := tr.monitor()
	if m.closed.Load() || m.foreign() {
		return nil
	}
	if tr == nil {
		tr = &m.unscoped
	}
	g := &goroutine{ctx: ctx, fn: fn, opts: opts}
	m.list(g, tr, site)
	return g
}

// list registers g, a new record whose ctx, fn and opts are set, with m
// under tr.
func (m *Monitor) list(g *goroutine, tr *tracking, site uintptr) {
	ctx, fn, opts := g.ctx, g.fn, g.opts
	key := spawnKey{site: site, tr: tr}
	if opts != nil {
		key.name, key.namePC = optionsName(opts, fn)
	} else {
		key.namePC = funcPC(fn)
	}
	done := ctx.Done()
	g.shard = shardOf(g, m.shardBits)
	s := &m.shards[g.shard]
	s.mu.Lock()
	g.youngIdx = int32(len(s.young))
	s.young = append(s.young, youngEntry{done, g, s.epoch})
	g.live = s.cellLocked(key)
	g.live.n++
	s.spawned++
	s.live++
	s.mu.Unlock()
	if fn != nil {
		// Each record is pushed once and popped once: the stack has no
		// ABA problem.
		for {
			top := s.pending.Load()
			g.next.Store(top)
			if s.pending.CompareAndSwap(top, g) {
				break
			}
		}
	}
	if m.run.Load() == nil {
		m.startLoop()
	}
}

// shardOf picks g's shard from its address, hashed: records a thread
// allocates one after the other land on different shards, and threads
// allocate from spans of their own, so spawns on different threads rarely
// meet, as with a random pick, for 4 instructions instead of about 80 for
// math/rand/v2's (cachegrind). bits is at most 16.
func shardOf(g *goroutine, bits uint8) uint16 {
	if bits == 0 {
		return 0
	}
	return uint16(uint64(uintptr(unsafe.Pointer(g))) * 0x9E3779B97F4A7C15 >> (64 - bits))
}

// newStarters returns, for each shard, the function a new goroutine runs
// to take a pending record of that shard and run it.
func (m *Monitor) newStarters() []func() {
	starters := make([]func(), len(m.shards))
	for i := range starters {
		s := &m.shards[i]
		starters[i] = func() {
			var g *goroutine
			for {
				g = s.pending.Load()
				if s.pending.CompareAndSwap(g, g.next.Load()) {
					break
				}
			}
			g.next.Store(nil) // so that it does not keep older records reachable
			fn := g.fn
			g.fn = nil
			g.run(fn)
		}
	}
	return starters
}

func runUntracked(ctx Context, fn func(Context), opts *track.Options) {
	if opts != nil && opts.Recover {
		defer func() {
			if v := recover(); v != nil && opts.OnPanic != nil {
				opts.OnPanic(v)
			}
		}()
	}
	fn(ctx)
}

func (g *goroutine) run(fn func(Context)) {
	returned := false
	defer func() {
		if !returned {
			g.abnormalExit()
		}
		g.exit()
	}()
	if g.opts != nil && g.opts.Recover {
		defer g.recoverPanic()
	}
	g.setLabels()
	g.started.Store(true)
	fn(g.ctx) // run's frame below fn's is what a capture knows the goroutine by (stacks.go)
	returned = true
}

// Run calls call(a, b, c) on the goroutine of a region: Run's frame below
// call's is what a capture knows the region's goroutine by (stacks.go).
//
//go:noinline
func (g *goroutine) Run(call func(a, b, c any) (any, error), a, b, c any) (any, error) {
	return call(a, b, c)
}

// recoverPanic records and recovers a panic, for spawn.WithRecover.
func (g *goroutine) recoverPanic() {
	v := recover()
	if v == nil {
		return
	}
	g.tr().m.recordPanic(g, v, false)
	if g.opts.OnPanic != nil {
		g.opts.OnPanic(v)
	}
}

// abnormalExit runs when fn panicked or called runtime.Goexit. A panic is
// recorded without being recovered, so that it crashes the program with the
// same value and stack as under a go statement.
func (g *goroutine) abnormalExit() {
	if panicking() {
		g.tr().m.recordPanic(g, nil, true)
	}
}

// panicking tells, from a deferred call that runs because its function did
// not return, whether the goroutine is panicking rather than in
// runtime.Goexit. recover cannot tell them apart without stopping the
// panic, so the stack is looked at instead.
func panicking() bool {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		f, more := frames.Next()
		switch f.Function {
		case "runtime.gopanic":
			return true
		case "runtime.Goexit":
			return false
		}
		if !more {
			return false
		}
	}
}

// exit removes g from its shard and its watch and, if it was lagging,
// hands over how late it returned.
func (g *goroutine) exit() {
	m := g.tr().m
	s := &m.shards[g.shard]
	s.mu.Lock()
	if g.youngIdx >= 0 { // returned before any scan: the young list lets go of it
		s.removeYoung(g)
	}
	state, w := g.state, g.watch
	if state == parked && w == nil { // its context never ends
		s.removeForever(g)
	}
	g.state, g.watch = exited, nil
	if state == lagging {
		s.lagging--
	} else {
		s.live--
		g.live.n--
		g.ctx = nil
	}
	s.mu.Unlock()
	switch {
	case state == lagging:
		// Out of the lagging counts before out of the live ones: a
		// Snapshot reads the live counts, then the lagging ones, so it
		// never counts more goroutines lagging than live.
		m.uncountLagging(g)
		s.mu.Lock()
		s.live--
		g.live.n--
		s.mu.Unlock()
		m.lateExit(lateExit{g, time.Now()})
	case w != nil:
		m.unwatch(g, w)
	}
}

// name is the goroutine's name: the WithName option, else the name of the
// function it goes by, as a goroutine dump shows it.
func (g *goroutine) name() string { return g.live.key.nameOf() }

// site is the pc of the call that spawned g.
func (g *goroutine) site() uintptr { return g.live.key.site }

func (g *goroutine) scopeName() string { return g.tr().scope }
