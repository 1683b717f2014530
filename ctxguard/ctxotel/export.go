package ctxotel

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName names the tracer, as the instrumentation scope of every
// span this package makes.
const instrumentationName = "github.com/ctxguard/ctxguard/ctxguard/ctxotel"

// An Exporter makes spans from the events of one Monitor, from [Export]
// until [Exporter.Stop]. It is safe for concurrent use.
//
// Its memory is one open span per lagging goroutine, at most
// [WithMaxOpenSpans] of them.
type Exporter struct {
	tracer    trace.Tracer
	maxOpen   int
	unobserve func()
	stopOnce  sync.Once
	dropped   atomic.Uint64

	// mu is held while one event is turned into spans: events come from
	// the Monitor's goroutine and, for crashing panics, from the panicking
	// goroutine, and Stop must not race with either.
	mu      sync.Mutex
	stopped bool
	open    map[uint64]trace.Span // spans of lagging goroutines, by Event.ID
}

// Export makes spans from the events of m, nil meaning [ctxguard.Default],
// until Stop is called on the returned Exporter:
//
//   - a goroutine that starts lagging gets a span "ctxguard.lagging" from the
//     moment its context ended until it returns;
//   - a dropped cancel func gets a zero-length span "ctxguard.dropped_cancel";
//   - a tracked goroutine that panics gets a zero-length span "ctxguard.panic".
//
// Each span is the root of a trace of its own, linked to the span that was
// current in the goroutine's context (for a dropped cancel, in its
// context), and that span, if it is still recording, also gets an event of
// the same name and attributes. The package documentation lists the
// attributes.
//
// Export registers one observer with [ctxguard.Monitor.Observe]: spans are
// made on the Monitor's background goroutine, only when events happen.
// Goroutines that were already lagging when Export was called get no span.
func Export(m *ctxguard.Monitor, opts ...Option) *Exporter {
	cfg := newConfig(opts)
	if m == nil {
		m = ctxguard.Default()
	}
	e := &Exporter{
		tracer:  cfg.provider.Tracer(instrumentationName),
		maxOpen: cfg.maxOpen,
		open:    make(map[uint64]trace.Span),
	}
	e.unobserve = m.Observe(e.handle)
	return e
}

// Stop stops exporting: no span is started or ended after it returns. The
// spans of goroutines still lagging are ended at the time of the call, with
// the attribute ctxguard.goroutine.still_running = true and no
// ctxguard.delay. Stop is idempotent and safe to call concurrently; every
// call returns once the spans are ended.
func (e *Exporter) Stop() {
	e.stopOnce.Do(func() {
		e.unobserve()
		e.mu.Lock()
		defer e.mu.Unlock()
		e.stopped = true
		now := time.Now()
		for id, span := range e.open {
			span.SetAttributes(keyStillRunning.Bool(true))
			span.End(trace.WithTimestamp(now))
			delete(e.open, id)
		}
	})
}

// Dropped returns how many lagging goroutines got no span because
// [WithMaxOpenSpans] spans were open when they started lagging. The event
// on their context's span is still added.
func (e *Exporter) Dropped() uint64 { return e.dropped.Load() }

// handle is the observer. Kinds added to ctxguard later are ignored.
func (e *Exporter) handle(ev ctxguard.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return // an event already on its way when Stop was called
	}
	switch ev.Kind {
	case ctxguard.EventLagStart:
		e.lagStart(ev)
	case ctxguard.EventLateExit:
		e.lateExit(ev)
	case ctxguard.EventDroppedCancel:
		e.droppedCancel(ev)
	case ctxguard.EventPanic:
		e.panicked(ev)
	case ctxguard.EventBlocked:
		e.blocked(ev)
	}
}

// startRoot starts a span that begins a trace of its own, linked to the
// span current in origin. The span describes something that happened after
// (or outside) the work of origin's span, so it does not join that trace;
// as a root it is also sampled on its own, so a lagging goroutine is
// recorded even when its request was not sampled.
//
// The parent context is Background, not origin: with origin, the SDK would
// count the span as a child of origin's span despite WithNewRoot.
func (e *Exporter) startRoot(name string, origin context.Context, at time.Time, attrs []attribute.KeyValue) trace.Span {
	opts := []trace.SpanStartOption{
		trace.WithNewRoot(),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithTimestamp(at),
		trace.WithAttributes(attrs...),
	}
	if link := trace.LinkFromContext(origin); link.SpanContext.IsValid() {
		opts = append(opts, trace.WithLinks(link))
	}
	_, span := e.tracer.Start(context.Background(), name, opts...) //ctxvet:ignore brokenchain a new root span, linked to origin, that must not end with it
	return span
}

// addToOrigin adds an event to the span current in origin, if it is still
// recording.
func addToOrigin(origin context.Context, name string, at time.Time, attrs []attribute.KeyValue) {
	if span := trace.SpanFromContext(origin); span.IsRecording() {
		span.AddEvent(name, trace.WithTimestamp(at), trace.WithAttributes(attrs...))
	}
}
