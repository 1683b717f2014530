package httpguard_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/cputime"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// BenchmarkMiddleware measures a ServeMux with one route, bare and wrapped:
// "loopback" is a whole HTTP/1.1 request over 127.0.0.1 with a keep-alive
// client; "in-process" calls ServeHTTP directly, so the difference between
// its two figures is what the middleware adds to each request. The goal is
// in-process(guarded) - in-process(bare) < 1% of loopback(bare).
// "in-process-static" requests a route without wildcards, which the
// middleware serves without handing the request back to the mux (see
// direct.go).
// "guarded-per-route" installs the middleware inside the route instead of
// around the ServeMux, which spares the second route lookup, and so does
// "servemux", httpguard's ServeMux;
// "guarded-with-limit" adds WithLaggingLimit, whose check is one atomic
// load per request.
func BenchmarkMiddleware(b *testing.B) {
	m := ctxguard.New(ctxguard.Config{})
	defer m.Close()
	newMux := func() *http.ServeMux {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, r.PathValue("id"))
		})
		mux.HandleFunc("GET /items/all", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "all")
		})
		return mux
	}
	perRoute := http.NewServeMux() // the middleware inside the route: no second routing
	perRoute.Handle("GET /items/{id}", httpguard.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.PathValue("id"))
	}), httpguard.WithMonitor(m)))
	servemux := httpguard.NewServeMux(httpguard.WithMonitor(m)) // each handler wrapped as it is registered
	servemux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.PathValue("id"))
	})
	handlers := []struct {
		name string
		h    http.Handler
	}{
		{"bare", newMux()},
		{"guarded", httpguard.Handler(newMux(), httpguard.WithMonitor(m))},
		{"guarded-with-limit", httpguard.Handler(newMux(), httpguard.WithMonitor(m), httpguard.WithLaggingLimit(100))},
		{"guarded-per-route", perRoute},
		{"servemux", servemux},
	}
	for _, h := range handlers {
		b.Run("loopback/"+h.name, func(b *testing.B) {
			srv := httptest.NewServer(h.h)
			defer srv.Close()
			client := srv.Client()
			url := srv.URL + "/items/42"
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	for _, h := range handlers {
		b.Run("in-process/"+h.name, func(b *testing.B) {
			inProcess(b, h.h, "/items/42")
		})
	}
	for _, h := range handlers[:2] {
		b.Run("in-process-static/"+h.name, func(b *testing.B) {
			inProcess(b, h.h, "/items/all")
		})
	}
}

// inProcess serves GET target with h directly, b.N times.
func inProcess(b *testing.B, h http.Handler, target string) {
	req := httptest.NewRequest("GET", target, nil)
	w := discardWriter{make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w discardWriter) WriteHeader(int)             {}

// BenchmarkFlightRecorder is a whole loopback request through the
// middleware (BenchmarkMiddleware's loopback/guarded) under a Monitor
// without and with Config.TraceDir: "on" runs the flight recorder, which
// traces the client, the server and the network poller alike. cpu-ns/op
// is the whole process's CPU time per request, client and tracer
// included. Compare the two in runs that alternate, on and off:
//
//	go test -c -o httpguard.test ./middleware/httpguard
//	./httpguard.test -test.run '^$' -test.bench 'FlightRecorder/^off$'
//	./httpguard.test -test.run '^$' -test.bench 'FlightRecorder/^on$'
func BenchmarkFlightRecorder(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[on], func(b *testing.B) {
			cfg := ctxguard.Config{}
			if on {
				cfg.TraceDir = b.TempDir()
			}
			m := ctxguard.New(cfg)
			defer m.Close()
			if on && !m.TraceStatus().Recording {
				b.Fatalf("the flight recorder does not run: %v", m.TraceStatus().Err)
			}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, r.PathValue("id"))
			})
			srv := httptest.NewServer(httpguard.Handler(mux, httpguard.WithMonitor(m)))
			defer srv.Close()
			client := srv.Client()
			url := srv.URL + "/items/42"
			b.ReportAllocs()
			cpu := cputime.Report(b)
			for b.Loop() {
				resp, err := client.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			cpu()
		})
	}
}

// BenchmarkHealthHandler measures one health check with 1,000 scopes that
// have lagging goroutines or turned requests away (ctxguard.Snapshot's
// Scopes): the worst case the handler lists from.
func BenchmarkHealthHandler(b *testing.B) {
	m := ctxguard.New(ctxguard.Config{Grace: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	release := make(chan struct{})
	defer close(release)
	for i := range 1000 {
		ctx, cancel := context.WithCancel(ctxguard.WithScope(ctxguard.WithMonitor(context.Background(), m), "GET /r"+strconv.Itoa(i)))
		spawn.Go(ctx, func(context.Context) { <-release })
		cancel()
	}
	for m.Snapshot().Lagging < 1000 {
		time.Sleep(10 * time.Millisecond)
	}
	h := httpguard.HealthHandler(m, 2000)
	req := httptest.NewRequest("GET", "/healthz", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
