package ctxotel

import (
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
	if len(e.open) >= e.maxOpen {
		e.dropped.Add(1)
		return
	}
	e.open[ev.ID] = e.startRoot(lagName, ev.Context, start, attrs)
}

// lateExit ends the span of a lagging goroutine that returned. The Monitor
// delivers it after the goroutine's LagStart; there is no span if that
// came before Export or found the bound reached.
func (e *Exporter) lateExit(ev ctxguard.Event) {
	span, ok := e.open[ev.ID]
	if !ok {
		return
	}
	delete(e.open, ev.ID)
	span.SetAttributes(seconds(keyDelay, ev.Delay()))
	span.End(trace.WithTimestamp(ev.Time))
}

// blocked adds where a lagging goroutine is blocked to its open span.
func (e *Exporter) blocked(ev ctxguard.Event) {
	span, ok := e.open[ev.ID]
	if !ok || ev.BlockedAt == nil {
		return
	}
	span.SetAttributes(blockedAttrs(*ev.BlockedAt)...)
}
