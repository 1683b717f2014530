package ctxotel

import (
	"context"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func newBenchExporter(b *testing.B, opts ...Option) *Exporter {
	m := ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)})
	b.Cleanup(func() { m.Close() })
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	e := Export(m, append([]Option{WithTracerProvider(tp)}, opts...)...)
	b.Cleanup(e.Stop)
	return e
}

func lagEvents(id uint64) (start, exit ctxguard.Event) {
	ended := time.Now()
	ev := ctxguard.Event{
		ID: id, Name: "stuck", Scope: "GET /slow", Context: context.Background(),
		Site:  ctxguard.Site{Function: "example.com/app.handler", File: "/src/app/handler.go", Line: 42},
		Ended: ended, Grace: 5 * time.Second, Cause: context.Canceled,
	}
	start, exit = ev, ev
	start.Kind, start.Time = ctxguard.EventLagStart, ended.Add(5*time.Second)
	exit.Kind, exit.Time = ctxguard.EventLateExit, ended.Add(7*time.Second)
	return start, exit
}

// BenchmarkLaggingSpan is the work of one lagging goroutine: its LagStart
// and LateExit events, turned into one span by the SDK, exported to a
// no-op exporter.
func BenchmarkLaggingSpan(b *testing.B) {
	e := newBenchExporter(b)
	b.ReportAllocs()
	var id uint64
	for b.Loop() {
		id++
		start, exit := lagEvents(id)
		e.handle(start)
		e.handle(exit)
	}
}

// BenchmarkOpenSpanMemory reports the heap held per open span of a lagging
// goroutine, with the SDK's default span limits.
func BenchmarkOpenSpanMemory(b *testing.B) {
	const n = 10_000
	var perSpan float64
	for b.Loop() {
		e := newBenchExporter(b)
		starts := make([]ctxguard.Event, n)
		for i := range starts {
			starts[i], _ = lagEvents(uint64(i + 1))
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, ev := range starts {
			e.handle(ev)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if len(e.open) != n {
			b.Fatalf("%d spans open, want %d", len(e.open), n)
		}
		perSpan = float64(after.HeapAlloc-before.HeapAlloc) / n
		e.Stop()
	}
	b.ReportMetric(perSpan, "B/open-span")
}
