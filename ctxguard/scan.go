package ctxguard

import (
	"math"
	"slices"
	"time"
)

// The scan: how the loop finds contexts that have ended and goroutines past
// their grace. It runs every scanInterval while the loop runs, and looks
// only at what may have changed: the records registered since the last
// scan, whose contexts it polls once (those still live are parked, see
// watch.go), and the records whose context has ended but whose grace has
// not run out. A scan costs in proportion to recent spawns and recent
// context ends, not to the goroutines that are simply running.

// scanInterval bounds how late the end of a young record's context is
// noticed, and so how late past its grace a goroutine is reported lagging.
const scanInterval = 250 * time.Millisecond

// scanBatch bounds the records handled per hold of a shard's lock, so that
// spawns are never held up for long, even after a burst.
const scanBatch = 512

// scan looks at every shard's young and ended records, marks those past
// their grace as lagging, and returns the earliest deadline of a record
// whose context has ended but whose grace has not run out, or 0.
func (m *Monitor) scan(now int64) (next int64) {
	var lagged []*goroutine
	var toPark parkList
	for i := range m.shards {
		s := &m.shards[i]
		s.scanYoung(now, &toPark)
		s.mu.Lock()
		var deadline int64
		lagged, deadline = s.scanEndedLocked(now, lagged)
		if deadline != 0 && (next == 0 || deadline < next) {
			next = deadline
		}
		s.shrinkLocked()
		s.mu.Unlock()
	}
	for i, g := range toPark.records {
		m.park(g, toPark.ctxs[i], toPark.dones[i])
	}
	if len(lagged) > 0 {
		m.recordLagging(lagged, now)
	}
	return next
}

// A parkList is the records a scan found with a live context, to park
// off the shard locks, with their contexts (read under the lock: a record
// that returns lets go of its own, see exit) and their Done channels.
type parkList struct {
	records []*goroutine
	ctxs    []Context
	dones   []<-chan struct{}
}

// scanYoung takes the records registered before this scan began and still
// running (a record that returns leaves the list), a batch per hold of the
// lock. Each context is polled (a run of records sharing one costs one
// poll): those ended are listed as ended, those that can never end are
// listed for leak checks, the others go to toPark.
func (s *shard) scanYoung(now int64, toPark *parkList) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++ // records registered from now on have the new epoch
	var open, closed <-chan struct{}
	for j, batch := 0, 0; j < len(s.young); {
		e := s.young[j]
		if e.epoch == s.epoch { // registered after this scan began: the next one
			j++
			continue
		}
		// Older epochs too: while the lock was let go below, a record
		// behind j may have returned and removeYoung moved an unscanned
		// one into its place; the next scan takes it.
		s.removeYoung(e.g)
		g := e.g
		switch {
		case e.done == nil:
			s.addForever(g) // its context never ends: nothing to watch
		case e.done == open:
			toPark.add(g, e.done)
		case e.done == closed:
			s.endLocked(g, now)
		default:
			select {
			case <-e.done:
				closed = e.done
				s.endLocked(g, now)
			default:
				open = e.done
				toPark.add(g, e.done)
			}
		}
		if batch++; batch == scanBatch { // let spawns in
			batch = 0
			s.mu.Unlock()
			s.mu.Lock()
		}
	}
}

func (l *parkList) add(g *goroutine, done <-chan struct{}) {
	l.records, l.ctxs, l.dones = append(l.records, g), append(l.ctxs, g.ctx), append(l.dones, done)
}

// endLocked lists g, whose context was seen ended at now, as ended. The
// caller holds s.mu.
func (s *shard) endLocked(g *goroutine, now int64) {
	g.state, g.endedAt = ended, now
	s.ended = append(s.ended, g)
}

// scanEndedLocked appends to lagged the records whose context has ended
// and whose grace has run out, marking them lagging, and returns the
// earliest deadline of those whose grace has not (0 if none). Records
// that returned leave the list. The caller holds s.mu.
func (s *shard) scanEndedLocked(now int64, lagged []*goroutine) ([]*goroutine, int64) {
	var next int64
	keep := s.ended[:0]
	for _, g := range s.ended {
		if g.state != ended {
			continue // returned
		}
		deadline := addSaturating(g.endedAt, int64(g.grace()))
		if now < deadline {
			keep = append(keep, g)
			if next == 0 || deadline < next {
				next = deadline
			}
			continue
		}
		g.state = lagging
		s.lagging++
		lagged = append(lagged, g)
	}
	clear(s.ended[len(keep):])
	s.ended = keep
	return lagged, next
}

// shrinkLocked gives back the memory of the shard's lists once most of a
// burst has exited (or started). The caller holds s.mu.
func (s *shard) shrinkLocked() {
	if c := cap(s.young); c > 1024 && len(s.young) < c/4 {
		s.young = slices.Clone(s.young)
	}
	if c := cap(s.forever); c > 1024 && len(s.forever) < c/4 {
		s.forever = slices.Clone(s.forever)
	}
	if c := cap(s.ended); c > 1024 && len(s.ended) < c/4 {
		s.ended = slices.Clone(s.ended)
	}
	s.pruneLocked()
}

// addSaturating is a+b for b >= 0, at most math.MaxInt64: a grace of
// hundreds of years means never, not a deadline in the past.
func addSaturating(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
