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
	var lagged, toPark []*goroutine
	var dones []<-chan struct{}
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		fresh := s.young
		s.young = nil
		s.mu.Unlock()

		// Poll each young record's context, off the lock: a run of
		// records sharing a context costs one poll.
		var open, closed <-chan struct{}
		endedNow := make([]bool, len(fresh))
		for j, e := range fresh {
			switch {
			case e.done == nil || e.done == open:
			case e.done == closed:
				endedNow[j] = true
			default:
				select {
				case <-e.done:
					closed, endedNow[j] = e.done, true
				default:
					open = e.done
				}
			}
		}
		for lo := 0; lo < len(fresh); lo += scanBatch {
			hi := min(lo+scanBatch, len(fresh))
			s.mu.Lock()
			for j, e := range fresh[lo:hi] {
				g := e.g
				switch {
				case g.state != young:
					// returned, or ended by its watch meanwhile
				case endedNow[lo+j]:
					g.state, g.endedAt = ended, now
					s.ended = append(s.ended, g)
				case e.done == nil:
					g.state = parked // its context never ends: nothing to watch
				default:
					toPark = append(toPark, g) // parked off the lock
					dones = append(dones, e.done)
				}
			}
			s.mu.Unlock()
		}

		// The records whose context has ended: past grace, they lag.
		s.mu.Lock()
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
			m.lastLagID++
			g.state, g.lagID = lagging, m.lastLagID
			s.lagging++
			lagged = append(lagged, g)
		}
		clear(s.ended[len(keep):])
		s.ended = keep
		// Give back memory once most of a burst has exited (or started).
		s.shrink()
		if c := cap(s.pending); c > 1024 && len(s.pending) < c/4 {
			s.pending = slices.Clone(s.pending)
		}
		if c := cap(s.ended); c > 1024 && len(s.ended) < c/4 {
			s.ended = slices.Clone(s.ended)
		}
		s.pruneLocked()
		s.mu.Unlock()
	}
	for i, g := range toPark {
		m.park(g, dones[i])
	}
	if len(lagged) > 0 {
		m.recordLagging(lagged, now)
	}
	return next
}

// addSaturating is a+b for b >= 0, at most math.MaxInt64: a grace of
// hundreds of years means never, not a deadline in the past.
func addSaturating(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
