package httpguard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// HealthHandler returns a handler for load-balancer and Kubernetes
// readiness probes: 200 with {"status":"ok", ...} while m's goroutines
// lagging now are fewer than maxLagging and no route has been turning
// requests away (WithLaggingLimit) for longer than ctxguard.ShedTolerance;
// 503 with {"status":"failing", ...} otherwise. Both bodies give the
// lagging count and the worst scopes:
//
//	{"status":"failing","lagging":63,"max_lagging":50,
//	 "scopes":[{"scope":"GET /report","lagging":60,"shed":41,"shedding":true,"shedding_since":"2026-11-29T16:40:01Z"}]}
//
// Use it for readiness, not liveness: a pile-up of lagging work should
// take the instance out of rotation until the work returns, not restart it
// in a loop (a restart loses the evidence, and the next instance piles up
// the same way). With nil m it reports on ctxguard.Default() at each
// request. Cost: one Monitor.Health per request (the scopes, not the
// whole Snapshot). It panics if maxLagging is not positive.
func HealthHandler(m *ctxguard.Monitor, maxLagging int) http.Handler {
	if maxLagging <= 0 {
		panic(fmt.Sprintf("httpguard: HealthHandler needs a positive maxLagging, got %d", maxLagging))
	}
	return &healthHandler{m: m, max: maxLagging}
}

type healthHandler struct {
	m   *ctxguard.Monitor
	max int
}

// healthScopes bounds the scopes a health response lists.
const healthScopes = 10

// health is a health response body.
type health struct {
	Status     string        `json:"status"` // "ok" or "failing"
	Lagging    int           `json:"lagging"`
	MaxLagging int           `json:"max_lagging"`
	Scopes     []healthScope `json:"scopes"` // the worst, at most 10
}

type healthScope struct {
	Scope         string     `json:"scope"`
	Lagging       int        `json:"lagging"`
	Shed          uint64     `json:"shed"`
	Shedding      bool       `json:"shedding"`
	SheddingSince *time.Time `json:"shedding_since,omitempty"`
}

func (h *healthHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m := h.m
	if m == nil {
		m = ctxguard.Default()
	}
	hl := m.Health(h.max)
	body := health{Status: "ok", Lagging: hl.Lagging, MaxLagging: h.max, Scopes: []healthScope{}}
	code := http.StatusOK
	if !hl.Healthy {
		body.Status, code = "failing", http.StatusServiceUnavailable
	}
	for _, sc := range hl.Scopes[:min(len(hl.Scopes), healthScopes)] {
		hs := healthScope{Scope: sc.Scope, Lagging: sc.Lagging, Shed: sc.Shed, Shedding: sc.Shedding}
		if sc.Shedding {
			hs.SheddingSince = &sc.SheddingSince
		}
		body.Scopes = append(body.Scopes, hs)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(body)
}
