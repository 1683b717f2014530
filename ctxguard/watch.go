package ctxguard

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// Parking: how the Monitor learns that a long-lived goroutine's context has
// ended without polling it.
//
// A record is polled once, by the first scan after its spawn: most
// goroutines have returned by then and cost nothing more. One whose context
// is still live is parked: the Monitor registers one context.AfterFunc per
// distinct context (per Done channel) among parked records, and scans
// never look at them again, so idle goroutines cost no periodic work
// however many there are. When the context ends, the AfterFunc marks its
// records ended, with the time it ran (so grace is counted from the end
// itself, not from the next scan), for the next scan to time. When the last
// parked record of a context returns first, its AfterFunc is stopped.
//
// An AfterFunc costs 384 bytes per context (context's own child
// registration: its afterFuncCtx, the stop func and the children map a
// context makes for its first child), and asking for the Done channel 112
// more if nothing else had (BenchmarkWatchParts in bench); a context shared
// by many goroutines, such as a request's or a server's, pays it once.
// Those 496 bytes alone are more than the 256 bytes per goroutine the idle
// goal allows for a goroutine with a context of its own: only polling
// (the Done channel and a list entry) fits in it, and polling costs CPU
// in proportion to the live contexts at every scan (1.74% of a core at
// 100,000, measured when the registry polled) or, polled less often, a
// detection later than Grace plus one scan. See bench/RESULTS.md.

// A watch is one context's AfterFunc and the parked records it ends.
// Guarded by its watchShard's mutex; a record's watch field is guarded by
// the record's shard, and its watchIdx by the watch's.
type watch struct {
	done    <-chan struct{}
	records []*goroutine // parked, each at its watchIdx
	stop    func() bool  // the AfterFunc's, once registered
	over    bool         // fired, or stopped: the watch is out of its map
}

// watchShard holds the watches of some contexts. Watches are spread over
// as many of them as the Monitor has registry shards, by Done channel.
type watchShard struct {
	mu      sync.Mutex
	watches map[<-chan struct{}]*watch
	// 64 bytes in all: the 16 bytes of one shard's fields and the next
	// one's are 64 apart, so never on one 64-byte cache line, however the
	// array is aligned (TestWatchShardSize).
	_ [48]byte
}

func (m *Monitor) watchShardOf(done <-chan struct{}) *watchShard {
	return &m.watchShards[maphash.Comparable(watchSeed, done)&uint64(len(m.watchShards)-1)]
}

var watchSeed = maphash.MakeSeed()

// park hands g, whose context, ctx, had not ended by its first scan, to
// its context's watch, registering an AfterFunc for a context it has not
// seen. It runs on the loop, off every shard lock; g may be returning
// meanwhile, and its context ending.
func (m *Monitor) park(g *goroutine, ctx Context, done <-chan struct{}) {
	ws := m.watchShardOf(done)
	ws.mu.Lock()
	w := ws.watches[done]
	fresh := w == nil
	if fresh {
		w = &watch{done: done}
		if ws.watches == nil {
			ws.watches = make(map[<-chan struct{}]*watch)
		}
		ws.watches[done] = w
	}
	g.watchIdx = int32(len(w.records))
	w.records = append(w.records, g)
	ws.mu.Unlock()

	if fresh {
		stop := m.afterFunc(ctx, func() { m.contextEnded(w) })
		ws.mu.Lock()
		if w.over && len(w.records) == 0 && stop != nil {
			ws.mu.Unlock()
			stop() // its records returned before the registration
		} else {
			w.stop = stop
			ws.mu.Unlock()
		}
	}

	s := &m.shards[g.shard]
	s.mu.Lock()
	state := g.state
	if state == young {
		g.state, g.watch = parked, w
	}
	s.mu.Unlock()
	if state == exited {
		m.unwatch(g, w) // returned while being parked
	}
}

// afterFunc is context.AfterFunc(ctx, f), contained: a context whose
// methods panic is not watched (nil stop); it is then only seen ended if a
// scan polls it again, which does not happen, so it never lags.
func (m *Monitor) afterFunc(ctx Context, f func()) (stop func() bool) {
	m.contained(func() { stop = context.AfterFunc(ctx, f) })
	return stop
}

// contextEnded runs when a watched context ends: its records are ended as
// of now, and the loop counts their grace from now.
func (m *Monitor) contextEnded(w *watch) {
	now := time.Now().UnixNano()
	ws := m.watchShardOf(w.done)
	ws.mu.Lock()
	records := w.records
	w.records, w.over = nil, true
	if ws.watches[w.done] == w {
		delete(ws.watches, w.done)
	}
	ws.mu.Unlock()
	for _, g := range records {
		s := &m.shards[g.shard]
		s.mu.Lock()
		if g.state == parked || g.state == young { // young: being parked
			g.state, g.endedAt, g.watch = ended, now, nil
			s.ended = append(s.ended, g)
		}
		s.mu.Unlock()
	}
	// No wake: the loop's next scan, at most scanInterval away, finds
	// them in the shards' ended lists and wakes itself when their grace
	// runs out.
}

// unwatch takes g, which has returned, off its watch w, and stops w's
// AfterFunc if g was its last record.
func (m *Monitor) unwatch(g *goroutine, w *watch) {
	ws := m.watchShardOf(w.done)
	ws.mu.Lock()
	if w.over {
		ws.mu.Unlock()
		return // the context ended: contextEnded has the records
	}
	last := len(w.records) - 1
	moved := w.records[last]
	w.records[g.watchIdx] = moved
	moved.watchIdx = g.watchIdx
	w.records[last] = nil
	w.records = w.records[:last]
	var stop func() bool
	if len(w.records) == 0 {
		w.over = true
		delete(ws.watches, w.done)
		stop = w.stop
	}
	ws.mu.Unlock()
	if stop != nil {
		stop()
	}
}
