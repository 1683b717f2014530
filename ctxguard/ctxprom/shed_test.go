package ctxprom_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxprom"
	"github.com/ctxguard/ctxguard/internal/track"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
)

// Requests turned away by a lagging limit are counted per route.
func TestShedRequestsAreCountedPerRoute(t *testing.T) {
	m, _ := newMonitor(t, 0)
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stuck", func(w http.ResponseWriter, r *http.Request) { <-release })
	srv := httptest.NewServer(httpguard.Handler(mux, httpguard.WithMonitor(m), httpguard.WithLaggingLimit(1)))
	defer srv.Close()
	defer close(release) // before Close, which waits for the handlers

	client := &http.Client{Timeout: grace}
	if _, err := client.Get(srv.URL + "/stuck"); err == nil {
		t.Fatal("the stuck route answered")
	}
	waitFor(t, m, "the handler lags", func(s ctxguard.Snapshot) bool { return s.Lagging == 1 })
	for range 3 {
		resp, err := http.Get(srv.URL + "/stuck") // turned away, however slow the machine
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("request: %v %v, want 503", err, resp)
		}
		resp.Body.Close()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(ctxprom.NewCollector(m))
	want := `
# HELP ctxguard_requests_shed_total Requests turned away by middleware with a lagging limit, by scope (route or RPC method).
# TYPE ctxguard_requests_shed_total counter
ctxguard_requests_shed_total{scope="GET /stuck"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ctxguard_requests_shed_total"); err != nil {
		t.Error(err)
	}
}

// Two scopes whose names differ only in invalid UTF-8 get one label value:
// their shed requests are one series, summed, as dropped cancel sites of
// one label are, and the scrape does not fail on a duplicate series.
func TestShedScopesOfOneLabelAreOneSeries(t *testing.T) {
	m, _ := newMonitor(t, 0)
	for _, scope := range []string{"GET /a\xff", "GET /a\xfe"} {
		track.ScopeOf(nil, m, scope).Shed(1, grace)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(ctxprom.NewCollector(m))
	want := `
# HELP ctxguard_requests_shed_total Requests turned away by middleware with a lagging limit, by scope (route or RPC method).
# TYPE ctxguard_requests_shed_total counter
` + "ctxguard_requests_shed_total{scope=\"GET /a\uFFFD\"} 2\n"
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "ctxguard_requests_shed_total"); err != nil {
		t.Error(err)
	}
}
