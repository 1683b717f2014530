package ctxotel

import (
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"go.opentelemetry.io/otel/trace"
)

// lagStart opens the span of a goroutine that started lagging. Its start
// is when the goroutine's context ended, so the span's duration is the
// goroutine's delay.
func (e *Exporter) lagStart(ev ctxguard.Event) {
	attrs := lagAttrs(ev)
	addToOrigin(ev.Context, lagName, ev.Time, attrs)
	start := ev.Ended
	if start.IsZero() {
		start = ev.Time
	}
	if exited, ok := e.early.take(ev.ID); ok {
		span := e.startRoot(lagName, ev.Context, start, attrs)
		span.SetAttributes(seconds(keyDelay, exited.Sub(start)))
		span.End(trace.WithTimestamp(exited))
		return
	}
	if len(e.open) >= e.maxOpen {
		e.dropped.Add(1)
		return
	}
	e.open[ev.ID] = e.startRoot(lagName, ev.Context, start, attrs)
}

// lateExit ends the span of a lagging goroutine that returned.
func (e *Exporter) lateExit(ev ctxguard.Event) {
	span, ok := e.open[ev.ID]
	if !ok {
		e.early.add(ev.ID, ev.Time)
		return
	}
	delete(e.open, ev.ID)
	span.SetAttributes(seconds(keyDelay, ev.Delay()))
	span.End(trace.WithTimestamp(ev.Time))
}

// maxEarlyExits bounds earlyExits.
const maxEarlyExits = 1024

// earlyExits remembers when recent goroutines returned whose LateExit came
// without a span open for it. The Monitor queues a LagStart after it marks
// a batch of goroutines lagging, so a goroutine that returns in between has
// its LateExit delivered first; its LagStart, a moment later, then makes
// the whole span at once. LateExits of goroutines that got no span
// (dropped at the bound, or lagging before Export) are remembered too, and
// forgotten oldest first.
type earlyExits struct {
	at   map[uint64]time.Time
	ring []uint64 // the IDs in at, oldest at next once full
	next int
}

func (x *earlyExits) add(id uint64, t time.Time) {
	if x.at == nil {
		x.at = make(map[uint64]time.Time)
	}
	if len(x.ring) < maxEarlyExits {
		x.ring = append(x.ring, id)
	} else {
		delete(x.at, x.ring[x.next])
		x.ring[x.next] = id
		x.next = (x.next + 1) % maxEarlyExits
	}
	x.at[id] = t
}

func (x *earlyExits) take(id uint64) (time.Time, bool) {
	t, ok := x.at[id]
	if ok {
		delete(x.at, id)
	}
	return t, ok
}
