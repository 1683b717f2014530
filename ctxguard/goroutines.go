package ctxguard

import (
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctxguard/ctxguard/internal/track"
)

// The goroutine registry behind package spawn.
//
// A tracked goroutine is one record in one of the Monitor's shards, linked
// in on spawn and out on exit under that shard's mutex; shards are picked at
// random so spawns on different threads rarely meet. Nothing else happens on
// the hot path: names, sites and per-name statistics are worked out only when
// a goroutine lags, exits late or panics, or when a Snapshot is taken.
//
// Lagging is found by the Monitor's background loop, which visits every
// record each scanInterval: a record whose context's Done channel is closed
// gets endedAt (the scan that first saw it closed, so it is never early),
// and a record past endedAt+Grace becomes lagging. The loop also wakes at
// the earliest such deadline, so a goroutine is reported lagging at most
// scanInterval after Grace has passed.

// scanInterval bounds how late the end of a context is noticed. Each scan
// visits every tracked goroutine; at 100,000 idle ones the scans cost 3-4%
// of a core (BenchmarkIdle in package spawn).
const scanInterval = 250 * time.Millisecond

func init() { track.Go = goTracked }

// goroutine is one tracked goroutine. The fields from next on are guarded
// by its shard's mutex; the ones above them never change after spawn.
type goroutine struct {
	ctx   Context
	done  <-chan struct{} // ctx.Done(), nil if ctx can never be done
	fn    func(Context)
	site  uintptr // return pc of the spawning call
	opts  *track.Options
	tr    *tracking // the Monitor and scope ctx carries, nil if none
	shard *shard

	startNext atomic.Pointer[goroutine] // link in toStart, until a runner takes it

	next, prev *goroutine
	endedAt    int64  // UnixNano when ctx was seen done; 0 until then
	lagID      uint64 // nonzero once lagging: the Event.ID of its events
}

type shard struct {
	m       *Monitor
	mu      sync.Mutex
	head    *goroutine
	spawned uint64
	live    int
	lagging int
	_       [64]byte // keep shards on separate cache lines
}

func (g *goroutine) grace() time.Duration {
	if g.opts != nil && g.opts.Grace > 0 {
		return g.opts.Grace
	}
	return g.shard.m.cfg.Grace
}

// goTracked is spawn.Go's body. Cost: one record allocation, one ctx.Value
// lookup for the Monitor and scope, a shard lock/unlock on start and on
// exit, and a compare-and-swap pair to hand the record to its goroutine.
func goTracked(ctx Context, fn func(Context), site uintptr, opts *track.Options) {
	tr := trackingOf(ctx)
	m := tr.monitor()
	if m.closed.Load() {
		go runUntracked(ctx, fn, opts)
		return
	}
	g := &goroutine{ctx: ctx, done: ctx.Done(), fn: fn, site: site, opts: opts, tr: tr}
	s := &m.shards[rand.Uint32N(uint32(len(m.shards)))]
	g.shard = s
	s.mu.Lock()
	g.next = s.head
	if s.head != nil {
		s.head.prev = g
	}
	s.head = g
	s.spawned++
	s.live++
	s.mu.Unlock()
	if !m.loopStarted.Load() {
		m.startLoop()
	}
	// Hand g over through a stack instead of `go g.run()`: a go statement
	// with no arguments allocates no closure. Every push is followed by one
	// runner, so each runner finds a record; which one it takes does not
	// matter. A record is pushed once, so the stack has no ABA problem.
	for {
		top := toStart.Load()
		g.startNext.Store(top)
		if toStart.CompareAndSwap(top, g) {
			break
		}
	}
	go runNext()
}

var toStart atomic.Pointer[goroutine]

func runNext() {
	for {
		g := toStart.Load()
		if toStart.CompareAndSwap(g, g.startNext.Load()) {
			g.startNext.Store(nil) // retain nothing pushed before g
			g.run()
			return
		}
	}
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

func (g *goroutine) run() {
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
	g.fn(g.ctx)
	returned = true
}

// recoverPanic records and recovers a panic, for spawn.WithRecover.
func (g *goroutine) recoverPanic() {
	v := recover()
	if v == nil {
		return
	}
	g.shard.m.recordPanic(g, v, false)
	if g.opts.OnPanic != nil {
		g.opts.OnPanic(v)
	}
}

// abnormalExit runs when fn panicked or called runtime.Goexit. A panic is
// recorded without being recovered, so that it crashes the program with the
// same value and stack as under a go statement; recover cannot be used to
// tell the two apart, so the stack is looked at instead.
func (g *goroutine) abnormalExit() {
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(2, pcs)])
	for {
		f, more := frames.Next()
		switch f.Function {
		case "runtime.gopanic":
			g.shard.m.recordPanic(g, nil, true)
			return
		case "runtime.Goexit":
			return
		}
		if !more {
			return
		}
	}
}

// exit unlinks g and, if it was lagging, records how late it returned.
func (g *goroutine) exit() {
	s := g.shard
	s.mu.Lock()
	if g.prev != nil {
		g.prev.next = g.next
	} else {
		s.head = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	}
	s.live--
	lagID, endedAt := g.lagID, g.endedAt
	if lagID != 0 {
		s.lagging--
	}
	s.mu.Unlock()
	if lagID != 0 {
		s.m.recordLateExit(g, lagID, time.Duration(time.Now().UnixNano()-endedAt))
	}
}

// name is the goroutine's name: the WithName option, else the function's
// name as a goroutine dump shows it.
func (g *goroutine) name() string {
	name, fn := g.nameSource()
	if name == "" {
		name = funcName(fn)
	}
	return name
}

// nameSource returns the goroutine's explicit name, or "" and the function
// whose name it goes by.
func (g *goroutine) nameSource() (string, any) {
	if g.opts != nil {
		if g.opts.Name != "" {
			return g.opts.Name, nil
		}
		if g.opts.Func != nil {
			return "", g.opts.Func
		}
	}
	return "", g.fn
}

func funcName(fn any) string {
	f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer())
	if f == nil {
		return "(unknown)"
	}
	// Method values show as T.m-fm; a dump shows the method.
	return strings.TrimSuffix(f.Name(), "-fm")
}

func (g *goroutine) scopeName() string {
	if g.tr == nil {
		return ""
	}
	return g.tr.scope
}

// scan visits every record once: it notes contexts that have ended, marks
// goroutines past their grace as lagging, and returns the earliest deadline
// of a goroutine whose context ended but whose grace has not run out, or 0.
func (m *Monitor) scan(now int64) (next int64) {
	var lagged []*goroutine
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for g := s.head; g != nil; g = g.next {
			if g.lagID != 0 {
				continue
			}
			if g.endedAt == 0 {
				if g.done == nil {
					continue
				}
				select {
				case <-g.done:
					g.endedAt = now
				default:
					continue
				}
			}
			deadline := g.endedAt + int64(g.grace())
			if now < deadline {
				if next == 0 || deadline < next {
					next = deadline
				}
				continue
			}
			m.lastLagID++
			g.lagID = m.lastLagID
			s.lagging++
			lagged = append(lagged, g)
		}
		s.mu.Unlock()
	}
	if len(lagged) > 0 {
		m.recordLagging(lagged, now)
	}
	return next
}
