package ctxdebug_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxdebug"
	"github.com/ctxguard/ctxguard/spawn"
)

// BenchmarkPage serves the page with 100,000 live goroutines in 100
// entries (10 scopes, 10 names), 1,000 of them lagging in 10 entries with
// their stacks captured: what an incident looks like. The snapshot case is
// the Monitor.Snapshot each request takes, for comparison.
func BenchmarkPage(b *testing.B) {
	const (
		live    = 100_000
		scopes  = 10
		names   = 10
		lagging = 1_000
	)
	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	h := ctxdebug.Handler(m)
	release := make(chan struct{})
	root := ctxguard.WithMonitor(ctxguard.Background(), m)
	ended, cancel := ctxguard.WithCancel(root)
	for i := range live {
		ctx := root
		if i < lagging {
			ctx = ended
		}
		ctx = ctxguard.WithScope(ctx, fmt.Sprintf("GET /route%d", i%scopes))
		spawn.Go(ctx, func(ctxguard.Context) { <-release }, spawn.WithName(fmt.Sprintf("worker%d", i/scopes%names)))
	}
	cancel()
	defer func() {
		close(release)
		for m.Snapshot().Live > 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for !settled(m.Snapshot(), lagging) {
		if time.Now().After(deadline) {
			b.Fatal("the lagging goroutines were not all captured within 2 minutes")
		}
		time.Sleep(10 * time.Millisecond)
	}

	serve := func(b *testing.B, query string) {
		req := httptest.NewRequest("GET", "/debug/ctxguard/"+query, nil)
		req.RemoteAddr, req.Host = "127.0.0.1:1234", "localhost"
		b.ReportAllocs()
		size := 0
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%d: %s", rec.Code, rec.Body)
			}
			size = rec.Body.Len()
		}
		b.ReportMetric(float64(size), "bytes/page")
	}
	b.Run("html", func(b *testing.B) { serve(b, "") })
	b.Run("json", func(b *testing.B) { serve(b, "?format=json") })
	b.Run("snapshot", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m.Snapshot()
		}
	})
}

// settled reports whether s has lagging goroutines lagging, each with its
// blocking location.
func settled(s ctxguard.Snapshot, lagging int) bool {
	if s.Lagging != lagging {
		return false
	}
	for _, g := range s.Goroutines {
		captured := g.BlockedAtOmitted
		for _, b := range g.BlockedAt {
			captured += b.Count
		}
		if captured != g.Lagging {
			return false
		}
	}
	return true
}
