package ctxotel

import (
	"github.com/ctxguard/ctxguard/ctxguard"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Dropped cancels and panics happen at one moment, so they get zero-length
// spans: a span rather than only an event on the context's span, because
// that span has often ended by the time the garbage collector finds a
// dropped cancel func, and a span of its own can be searched for by name.

// droppedCancel records a cancel func collected uncalled while its context
// was live, at the time the collector found it.
func (e *Exporter) droppedCancel(ev ctxguard.Event) {
	attrs := droppedAttrs(ev)
	addToOrigin(ev.Context, droppedName, ev.Time, attrs)
	span := e.startRoot(droppedName, ev.Context, ev.Time, attrs)
	span.End(trace.WithTimestamp(ev.Time))
}

// panicked records a tracked goroutine's panic, with status Error and, for
// a recovered panic, an exception event. A panic that crashes the program
// is delivered on the panicking goroutine just before the crash: its span
// reaches the backend only if the TracerProvider exports synchronously.
func (e *Exporter) panicked(ev ctxguard.Event) {
	attrs := panicAttrs(ev)
	addToOrigin(ev.Context, panicName, ev.Time, attrs)
	span := e.startRoot(panicName, ev.Context, ev.Time, attrs)
	if ev.Value != nil {
		span.AddEvent(exceptionEvent, trace.WithTimestamp(ev.Time), trace.WithAttributes(exceptionAttrs(ev.Value)...))
	}
	span.SetStatus(codes.Error, "panic")
	span.End(trace.WithTimestamp(ev.Time))
}
