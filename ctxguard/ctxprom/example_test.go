package ctxprom_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxprom"
	"github.com/ctxguard/ctxguard/spawn"
)

// The setup: register a collector for the Default Monitor and serve the
// registry.
func ExampleNewCollector() {
	reg := prometheus.NewRegistry()
	reg.MustRegister(ctxprom.NewCollector(nil))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	_ = http.ListenAndServe("localhost:9090", mux)
}

// A request's goroutine that ignores the cancellation of its context shows
// on /metrics as lagging, under its name and the request's route; not as
// leaked, since the channel it waits on can still be closed.
func ExampleNewCollector_lagging() {
	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(ctxprom.NewCollector(m))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	ctx := ctxguard.WithScope(ctxguard.WithMonitor(context.Background(), m), "GET /report")
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	defer close(done)
	spawn.Go(ctx, func(context.Context) { <-done }, spawn.WithName("render"))
	cancel() // the client hung up; render goes on
	for s := m.Snapshot(); len(s.Goroutines) == 0 || s.Goroutines[0].Lagged == 0; s = m.Snapshot() {
		time.Sleep(time.Millisecond) // until render lags
	}

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "ctxguard_goroutines_") {
			fmt.Println(lines.Text())
		}
	}
	// Output:
	// ctxguard_goroutines_lagged_total{name="render",scope="GET /report"} 1
	// ctxguard_goroutines_lagging{name="render",scope="GET /report"} 1
	// ctxguard_goroutines_leaked{name="render",scope="GET /report"} 0
	// ctxguard_goroutines_live{name="render",scope="GET /report"} 1
	// ctxguard_goroutines_spawned_total 1
}
