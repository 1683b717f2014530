// Package ctxotel exports what a ctxguard Monitor observes as OpenTelemetry
// spans: goroutines still running after their context ended, cancel funcs
// dropped uncalled, and panics of tracked goroutines. It exports [Export],
// the [Exporter] it returns, and the options [WithTracerProvider] and
// [WithMaxOpenSpans].
//
// Setup is three lines:
//
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(otlpExporter)) // the application's SDK
//	exp := ctxotel.Export(nil, ctxotel.WithTracerProvider(tp))          // nil: ctxguard.Default()
//	defer exp.Stop()
//
// Without WithTracerProvider the global one (otel.GetTracerProvider) is
// used. The package uses only the OpenTelemetry API; the application
// chooses the SDK and exporters.
//
// # Spans
//
// Every span is of kind internal and the root of a trace of its own, with
// one link to the span that was current in the context concerned (none if
// there was none): the goroutine's context, or for a dropped cancel func
// the context it belonged to. If that span is still recording, it also gets
// an event with the span's name, time and attributes.
//
//	span                     start – end                                  when
//	ctxguard.lagging         context ended – goroutine returned           a spawned goroutine lags
//	ctxguard.dropped_cancel  found by the garbage collector, zero length  a cancel func is dropped
//	ctxguard.panic           the panic, zero length, status Error         a spawned goroutine panics
//
// Attributes (durations are float64 seconds, the unit of the OpenTelemetry
// semantic conventions; empty values are left out; files are package path
// and base name, as in ctxguard.Site):
//
//	ctxguard.goroutine.name           string   lagging, panic: spawn.WithName, else the function's name
//	ctxguard.scope                    string   all: the scope of the context (ctxguard.WithScope)
//	code.function.name                string   all: where the goroutine was spawned or the cancel func created
//	code.file.path, code.line.number  string, int
//	ctxguard.cause                    string   lagging, panic: context.Cause of the goroutine's context
//	ctxguard.grace                    float64  lagging: how long the goroutine had to return
//	ctxguard.delay                    float64  lagging, at the end: how long after its context ended it returned
//	ctxguard.goroutine.still_running  bool     lagging: true on spans ended by Exporter.Stop
//	ctxguard.blocked_at               string   lagging, once its stack is captured: where it is blocked ("pkg/file.go:42")
//	ctxguard.wait_reason              string   lagging, with blocked_at: "chan receive", "select", "sleep", ...
//	code.stacktrace                   string   lagging, with blocked_at: its frames, from the blocking one down to the spawned function
//	ctxguard.waiting_for              []string lagging, with blocked_at, when it waits in spawn.Group.Wait: the lagging goroutines it waits for
//	ctxguard.panic.recovered          bool     panic: recovered by spawn.WithRecover
//
// A recovered panic also gets an "exception" event with exception.type and,
// for a string or error value, exception.message.
//
// # Cost
//
// Nothing on the hot path: spawn.Go and the context constructors do not
// know this package exists. An Exporter is one observer of the Monitor
// ([ctxguard.Monitor.Observe]); the Monitor builds events only while it is
// observed and only when something happens, and the Exporter turns each
// into a span on the Monitor's background goroutine. While nothing lags,
// nothing is dropped and nothing panics, it does no work at all. A lagging
// goroutine costs about 3 µs and 17 allocations for its span with the SDK
// (BenchmarkLaggingSpan), and about 800 bytes while the span is open,
// bounded by [WithMaxOpenSpans]. Spans are exported by the TracerProvider's
// span processors on the Monitor's goroutine: give it a batching one
// (sdktrace.WithBatcher), since a synchronous one would hold up the
// Monitor's scans with every export.
package ctxotel
