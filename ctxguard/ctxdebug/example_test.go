package ctxdebug_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxdebug"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// Mount the page under /debug/ctxguard/, next to /debug/pprof/. Here a
// route leaves a goroutine behind, and the page, read as JSON, says
// where it came from, why its context ended and where it is blocked.
func ExampleHandler() {
	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	release := make(chan struct{})
	defer close(release)

	mux := http.NewServeMux()
	mux.Handle("/debug/ctxguard/", http.StripPrefix("/debug/ctxguard", ctxdebug.Handler(m)))
	mux.HandleFunc("GET /reports/{id}", func(w http.ResponseWriter, r *http.Request) {
		spawn.Go(r.Context(), func(ctx context.Context) {
			<-release // never looks at ctx.Done()
		}, spawn.WithName("render-report"))
	})
	srv := httptest.NewServer(httpguard.Handler(mux, httpguard.WithMonitor(m))) // on loopback, which the page requires by default
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/reports/42")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	for {
		var page ctxdebug.Page
		resp, err := http.Get(srv.URL + "/debug/ctxguard/?format=json")
		if err != nil {
			panic(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			panic(err)
		}
		if len(page.Goroutines) > 0 {
			if g := page.Goroutines[0]; g.Lagging > 0 && len(g.BlockedAt) > 0 && len(g.Causes) > 0 {
				fmt.Printf("%s in %q: %d lagging\n", g.Name, g.Scope, g.Lagging)
				fmt.Printf("cause: %s\n", g.Causes[0].Cause)
				fmt.Printf("blocked in: %s\n", g.BlockedAt[0].Reason)
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output:
	// render-report in "GET /reports/{id}": 1 lagging
	// cause: context canceled
	// blocked in: chan receive
}

// Mounted at a path of your own, without a prefix to strip: the page's
// links are relative, so it works wherever it is served. WithAuth lets
// clients other than loopback ones in; here, those with a token.
func ExampleWithAuth() {
	mux := http.NewServeMux()
	mux.Handle("GET /admin/leaks", ctxdebug.Handler(nil, ctxdebug.WithAuth(func(r *http.Request) bool {
		return ctxdebug.FromLoopback(r) || r.Header.Get("X-Admin-Token") == "s3cret"
	})))

	for _, token := range []string{"", "s3cret"} {
		req := httptest.NewRequest("GET", "/admin/leaks", nil) // from 192.0.2.1, not loopback
		req.Header.Set("X-Admin-Token", token)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Printf("token %q: %d\n", token, rec.Code)
	}
	// Output:
	// token "": 403
	// token "s3cret": 200
}
