package ctxotel_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxotel"
	"github.com/ctxguard/ctxguard/spawn"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// A Monitor's counts as OpenTelemetry metrics. The ManualReader stands for
// what an application would configure: a periodic reader with an OTLP
// exporter.
func ExampleRegisterMetrics() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()

	reg, err := ctxotel.RegisterMetrics(m, ctxotel.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()

	ctx := ctxguard.WithScope(ctxguard.WithMonitor(context.Background(), m), "GET /report")
	ctx, cancel := context.WithCancel(ctx)
	release := make(chan struct{})
	defer close(release)
	// The goroutine never looks at ctx, and the client goes away.
	spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("report-writer"))
	cancel()
	for m.Snapshot().Lagging == 0 {
		time.Sleep(time.Millisecond)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		log.Fatal(err)
	}
	for _, metric := range rm.ScopeMetrics[0].Metrics {
		if metric.Name != "ctxguard.goroutines.lagging" {
			continue
		}
		for _, dp := range metric.Data.(metricdata.Sum[int64]).DataPoints {
			name, _ := dp.Attributes.Value("ctxguard.name")
			scope, _ := dp.Attributes.Value("ctxguard.scope")
			fmt.Printf("%s{%s, %s} = %d %s\n", metric.Name, name.AsString(), scope.AsString(), dp.Value, metric.Unit)
		}
	}
	// Output:
	// ctxguard.goroutines.lagging{report-writer, GET /report} = 1 {goroutine}
}
