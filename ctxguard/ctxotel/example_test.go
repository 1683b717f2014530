package ctxotel_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxotel"
	"github.com/ctxguard/ctxguard/spawn"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A goroutine that ignores the end of its request becomes a span, linked to
// the request's span, from the moment the request's context ended until the
// goroutine returned.
func Example() {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()

	exp := ctxotel.Export(m, ctxotel.WithTracerProvider(tp))
	defer exp.Stop()

	ctx, request := tp.Tracer("example").Start(ctxguard.WithMonitor(context.Background(), m), "GET /report")
	ctx, cancel := context.WithCancel(ctx)
	release := make(chan struct{})
	// The goroutine never looks at ctx, and the client goes away.
	spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("report-writer"))
	cancel()

	for m.Snapshot().Lagging == 0 {
		time.Sleep(time.Millisecond)
	}
	close(release) // the goroutine returns, late
	for len(spans.GetSpans()) == 0 {
		time.Sleep(time.Millisecond)
	}
	request.End()

	s := spans.GetSpans()[0]
	attrs := map[string]string{}
	for _, kv := range s.Attributes {
		attrs[string(kv.Key)] = kv.Value.Emit()
	}
	fmt.Println(s.Name, "for", attrs["ctxguard.goroutine.name"])
	fmt.Println("cause:", attrs["ctxguard.cause"])
	fmt.Println("linked to the request:", s.Links[0].SpanContext.Equal(request.SpanContext()))
	fmt.Println("lasted past the grace:", s.EndTime.Sub(s.StartTime) >= 10*time.Millisecond)
	// Output:
	// ctxguard.lagging for report-writer
	// cause: context canceled
	// linked to the request: true
	// lasted past the grace: true
}
