package httpguard_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// Wrap the whole ServeMux: goroutines a request starts with spawn.Go, and
// the handler itself, are attributed to the route that served it.
func ExampleHandler() {
	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	release := make(chan struct{})
	defer close(release)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /reports/{id}", func(w http.ResponseWriter, r *http.Request) {
		spawn.Go(r.Context(), func(ctx context.Context) {
			<-release // never looks at ctx.Done()
		}, spawn.WithName("render-report"))
	})
	srv := httptest.NewServer(httpguard.Handler(mux, httpguard.WithMonitor(m)))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/reports/42") // the request ends with the response
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	for m.Snapshot().Lagging == 0 {
		time.Sleep(time.Millisecond)
	}
	for _, g := range m.Snapshot().Goroutines {
		if g.Lagging > 0 {
			fmt.Printf("%s in %q: %d lagging\n", g.Name, g.Scope, g.Lagging)
		}
	}
	// Output: render-report in "GET /reports/{id}": 1 lagging
}

// Register the routes on httpguard's ServeMux instead of wrapping an
// http.ServeMux: the same reports, and each request is routed once.
func ExampleNewServeMux() {
	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	started, release := make(chan struct{}), make(chan struct{})
	mux := httpguard.NewServeMux(httpguard.WithMonitor(m))
	mux.HandleFunc("GET /reports/{id}", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release // the handler itself ignores its request's end
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release) // before the server closes, which waits for the handler

	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }() // the client gives up once the handler runs
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/reports/42", nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		panic("the client should give up")
	}
	for m.Snapshot().Lagging == 0 {
		time.Sleep(time.Millisecond)
	}
	for _, g := range m.Snapshot().Goroutines {
		if g.Lagging > 0 {
			fmt.Printf("handler in %q: %d lagging\n", g.Scope, g.Lagging)
		}
	}
	// Output: handler in "GET /reports/{id}": 1 lagging
}

// The setup, for a server using the Default Monitor.
func ExampleHandler_setup() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", getItem)
	http.ListenAndServe("localhost:8080", httpguard.Handler(mux))
}

// The setup on httpguard's ServeMux, for a server using the Default
// Monitor.
func ExampleNewServeMux_setup() {
	mux := httpguard.NewServeMux()
	mux.HandleFunc("GET /items/{id}", getItem)
	http.ListenAndServe("localhost:8080", mux)
}

func getItem(w http.ResponseWriter, r *http.Request) {}

// A route whose requests keep running after they end stops taking new
// ones once limit of them lag: they get 503 with Retry-After, until the
// stuck work returns.
func ExampleWithLaggingLimit() {
	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	release := make(chan struct{})
	const limit = 1
	mux := http.NewServeMux()
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) {
		<-release // ignores r.Context()
	})
	h := httpguard.Handler(mux, httpguard.WithMonitor(m), httpguard.WithLaggingLimit(limit))
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer close(release) // before srv.Close, which waits for the handlers

	impatient := &http.Client{Timeout: 20 * time.Millisecond}
	impatient.Get(srv.URL + "/report") // times out; its handler lags
	for m.Snapshot().Lagging < limit {
		time.Sleep(time.Millisecond)
	}
	resp, err := http.Get(srv.URL + "/report") // turned away at once
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status, "Retry-After:", resp.Header.Get("Retry-After"))
	// Output: 503 Service Unavailable Retry-After: 1
}

// A readiness probe: 503 while 50 goroutines or more lag, or a route has
// been turning requests away for a while.
func ExampleHealthHandler() {
	mux := http.NewServeMux()
	mux.Handle("GET /readyz", httpguard.HealthHandler(nil, 50)) // nil: ctxguard.Default()
	_ = mux
}
