package main

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	// The one-line switch: ctxguard's constructors are package context's,
	// and also notice cancel funcs dropped without being called.
	context "github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// app is the demo server's state.
type app struct {
	base       context.Context // lives as long as the server
	release    chan struct{}   // ends the slow workers' "work"
	once       sync.Once
	lateWrites atomic.Int64 // results computed after their client left
}

func (a *app) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", a.slow)
	mux.HandleFunc("GET /drop", a.drop)
	mux.HandleFunc("GET /good", a.good)
	return mux
}

// slow is the classic bad handler: it waits for a result or for the client
// to leave, but its worker never looks at the request context, so every
// timed-out request leaves a goroutine behind.
func (a *app) slow(w http.ResponseWriter, r *http.Request) {
	result := make(chan string, 1)
	spawn.Go(r.Context(), func(ctx context.Context) {
		select { //ctxvet:ignore selectdone the leak this demo shows; stands for time.Sleep(10 * time.Second), no case for ctx.Done()
		case <-a.release:
		case <-time.After(time.Minute):
		}
		a.lateWrites.Add(1) // would write to a ResponseWriter long gone
		result <- "done"
	})
	select {
	case v := <-result:
		fmt.Fprintln(w, v)
	case <-r.Context().Done():
	}
}

// drop derives a context with a timeout from the server's long-lived
// context and drops its cancel func: the timer and the child stay
// registered until the timeout fires.
func (a *app) drop(w http.ResponseWriter, r *http.Request) {
	ctx, _ := context.WithTimeout(a.base, time.Hour) //ctxvet:ignore lostcancel the leak, on purpose
	lookup(ctx, r.URL.Query().Get("id"))
	fmt.Fprintln(w, "ok")
}

func lookup(ctx context.Context, id string) string { return id }

// good does the same slow work as slow, correctly: the worker stops when
// the request ends.
func (a *app) good(w http.ResponseWriter, r *http.Request) {
	result := make(chan string, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	spawn.Go(r.Context(), func(ctx context.Context) {
		defer wg.Done()
		select {
		case <-time.After(time.Minute):
			result <- "done"
		case <-ctx.Done():
		}
	})
	select {
	case v := <-result:
		fmt.Fprintln(w, v)
	case <-r.Context().Done():
	}
	wg.Wait()
}
