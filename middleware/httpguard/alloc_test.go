package httpguard_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
)

// Allocation budget per request, wrapping a ServeMux: the request copy
// that carries the new context, that context (which is also the handler's
// record) and the path values of the mux's second routing, three
// allocations more than the bare mux, with or without a lagging limit; on
// httpguard's ServeMux, which routes once, two. The race detector
// allocates on its own: run without -race.
func TestMiddlewareAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m := ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	newMux := func() *http.ServeMux {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.PathValue("id")) })
		return mux
	}
	req := httptest.NewRequest("GET", "/items/42", nil)
	w := discardWriter{make(http.Header)}
	allocs := func(h http.Handler) float64 { return testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, req) }) }
	bare := allocs(newMux())
	gmux := httpguard.NewServeMux(httpguard.WithMonitor(m))
	gmux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.PathValue("id")) })
	for _, c := range []struct {
		name string
		h    http.Handler
		more float64
	}{
		{"guarded", httpguard.Handler(newMux(), httpguard.WithMonitor(m)), 3},
		{"with limit", httpguard.Handler(newMux(), httpguard.WithMonitor(m), httpguard.WithLaggingLimit(100)), 3},
		{"ServeMux", gmux, 2},
	} {
		got := allocs(c.h)
		t.Logf("%s: %.0f allocations, bare %.0f", c.name, got, bare)
		if got > bare+c.more {
			t.Errorf("%s: %.0f allocations per request, the bare mux %.0f: want at most %.0f more", c.name, got, bare, c.more)
		}
	}
}
