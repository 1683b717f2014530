// Package ctxotel exports what a ctxguard Monitor observes to
// OpenTelemetry: as spans, goroutines still running after their context
// ended, cancel funcs dropped uncalled, and panics of tracked goroutines
// ([Export], the [Exporter] it returns, [WithTracerProvider],
// [WithMaxOpenSpans]); as metrics, the Monitor's counts, the same set as
// package ctxprom's Prometheus collector ([RegisterMetrics],
// [WithMeterProvider], [WithMaxSeries]).
//
// Setup is three lines for each:
//
//	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(otlpExporter)) // the application's SDK
//	exp := ctxotel.Export(nil, ctxotel.WithTracerProvider(tp))          // nil: ctxguard.Default()
//	defer exp.Stop()
//
//	reg, err := ctxotel.RegisterMetrics(nil, ctxotel.WithMeterProvider(mp))
//	...
//	defer reg.Unregister()
//
// Without WithTracerProvider or WithMeterProvider the global provider
// (otel.GetTracerProvider, otel.GetMeterProvider) is used. The package uses
// only the OpenTelemetry API; the application chooses the SDK and
// exporters.
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
// # Metrics
//
// [RegisterMetrics] reports, under the instrumentation scope of this
// package (the Prometheus metric each mirrors in parentheses):
//
//	instrument                    kind              unit         attributes
//	ctxguard.goroutines.live      up-down counter   {goroutine}  name, scope  (ctxguard_goroutines_live)
//	ctxguard.goroutines.lagging   up-down counter   {goroutine}  name, scope  (ctxguard_goroutines_lagging)
//	ctxguard.goroutines.lagged    counter           {goroutine}  name, scope  (ctxguard_goroutines_lagged_total)
//	ctxguard.goroutines.leaked    up-down counter   {goroutine}  name, scope  (ctxguard_goroutines_leaked)
//	ctxguard.goroutines.untracked up-down counter   {goroutine}  untracked    (ctxguard_goroutines_untracked)
//	ctxguard.goroutines.untracked_leaked
//	                              up-down counter   {goroutine}  untracked    (ctxguard_goroutines_untracked_leaked)
//	ctxguard.leak_check.time      gauge             s                         (ctxguard_leak_check_timestamp_seconds)
//	ctxguard.goroutine.exit_delay histogram         s            name, scope  (ctxguard_goroutine_exit_delay_seconds)
//	ctxguard.goroutine.panics     counter           {goroutine}  name, scope  (ctxguard_goroutine_panics_total)
//	ctxguard.goroutines.spawned   counter           {goroutine}               (ctxguard_goroutines_spawned_total)
//	ctxguard.cancels.dropped      counter           {cancel}     code.*       (ctxguard_cancels_dropped_total)
//	ctxguard.cancels.tracked      counter           {cancel}                  (ctxguard_cancels_tracked_total)
//	ctxguard.cancel.sample_rate   gauge             1                         (ctxguard_cancel_sample_rate)
//	ctxguard.events.dropped       counter           {event}                   (ctxguard_events_dropped_total)
//	ctxguard.observer.panics      counter           {panic}                   (ctxguard_observer_panics_total)
//	ctxguard.log_records.dropped  counter           {record}                  (ctxguard_log_records_dropped_total)
//	ctxguard.logger.panics        counter           {panic}                   (ctxguard_logger_panics_total)
//	ctxguard.context.panics       counter           {panic}                   (ctxguard_context_panics_total)
//	ctxguard.requests.shed        counter           {request}    scope        (ctxguard_requests_shed_total)
//
// name and scope are the attributes ctxguard.name (spawn.WithName, else
// the function's name; the spans call it ctxguard.goroutine.name) and
// ctxguard.scope (ctxguard.WithScope; left out when empty). code.* are
// code.function.name, code.file.path and code.line.number, where the
// cancel funcs were created; distinct call sites on one line are summed.
// untracked are ctxguard.start, the function the goroutines of an
// untracked group started with ("main.serve.func1"), and
// ctxguard.blocked_at, the "file:line" where they are blocked, as on the
// spans; groups with one pair (blocked at one line for two reasons) are
// summed, and the goroutines of groups beyond Config.MaxSites are
// reported under ctxguard.start "(other sites)" alone (their leaked ones
// are not reported). The untracked instruments have data points only once
// the Monitor has looked (Config.WatchUntracked), one per group it lists
// (at least Config.UntrackedMin goroutines, or some proven leaked): at
// most Config.MaxSites+1, naming places in the program's code.
//
// Lagging and leaked say different things: a lagging goroutine is still
// running Config.Grace after its context ended and may yet return; a
// leaked one can never return, as Go's goroutine leak profile proved (it
// is blocked on a channel or lock nothing reachable can signal). The
// Monitor runs that profile, on a Go release that has it (see
// [ctxguard.LeakProfileAvailable]), when there is something to prove; the
// leaked counts are its last check's, lagging goroutines or not. Without
// the profile they are always 0, and ctxguard.leak_check.time, the Unix
// time of the last check, is not reported: that tells "none leaked" from
// "not checked".
//
// The exit-delay histogram's buckets are [ctxguard.ExitDelayBounds], 50ms
// to 1h. Counters are cumulative over the Monitor's life, as
// Snapshot's counts are.
//
// Attribute values are bounded as ctxprom's label values are. The Monitor
// keeps at most Config.MaxSites sites and sums the rest into
// [ctxguard.OverflowName], reported with code.function.name "(other
// sites)" and no file or line. Goroutine entries are summed over spawn
// sites into one data point per (name, scope); the first [WithMaxSeries]
// pairs seen keep their own data point for the registration's lifetime,
// later ones are summed into ctxguard.name "(other sites)", and a data
// point once reported is reported at every collection (at zero when its
// goroutines are gone), so counters never go down.
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
//
// Metrics cost nothing between collections but the histogram's recording,
// once per late exit on the Monitor's goroutine. Each collection takes one
// Monitor.Snapshot (a pass over the live tracked goroutines under their
// shard locks), as a Prometheus scrape of package ctxprom does.
package ctxotel
