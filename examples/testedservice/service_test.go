package testedservice

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxguardtest"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// goleak: once tracked work has ended, ctxguard leaves no goroutine of its
// own behind, so goleak.VerifyNone passes with no option. The Default
// Monitor's goroutine returns once nothing is tracked, and starts again
// on demand.

func TestGoleakAfterSpawnGo(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	spawn.Go(ctx, func(ctx context.Context) { <-ctx.Done(); close(done) })
	cancel()
	<-done
}

func TestGoleakAfterAGroup(t *testing.T) {
	defer goleak.VerifyNone(t)
	g, ctx := spawn.WithContext(context.Background())
	for range 10 {
		g.Go(func() error { return ctx.Err() })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestGoleakAfterConstructors(t *testing.T) {
	defer goleak.VerifyNone(t)
	for range 1000 { // some tracked: one in 128
		ctx, cancel := ctxguard.WithTimeout(context.Background(), time.Hour)
		_ = ctx
		cancel()
	}
}

func TestGoleakAfterHTTPRequests(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := httptest.NewServer(httpguard.Handler(&Lookup{Backends: []func(context.Context) (string, error){
		Slow(time.Millisecond), Slow(2 * time.Millisecond),
	}}))
	client := srv.Client()
	for range 5 {
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	client.CloseIdleConnections()
	srv.Close()
}

// ctxguardtest: the test's own context and Monitor, the middleware pointed
// at it, and requests that end with the test. A backend that ignored its
// context would fail this test, with the line where it is blocked.
func TestLookupStopsWithItsRequest(t *testing.T) {
	t.Parallel()
	ctx := ctxguardtest.Context(t, ctxguardtest.WithWait(10*time.Second)) // returns as soon as they stop
	h := &Lookup{
		Backends: []func(context.Context) (string, error){Slow(time.Hour), Slow(time.Hour)},
		Refresh:  func(ctx context.Context) { <-ctx.Done() },
	}
	srv := httptest.NewUnstartedServer(httpguard.Handler(h, httpguard.WithMonitor(ctxguard.MonitorFrom(ctx))))
	srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.Start()
	t.Cleanup(srv.Close)

	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	client := &http.Client{Timeout: 50 * time.Millisecond} // the client gives up: the handler must too
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("a request to hour-long backends returned")
	}
}

// ctxguardtest.StopsOnCancel: one backend at a time.
func TestSlowStopsOnCancel(t *testing.T) {
	t.Parallel()
	ctxguardtest.StopsOnCancel(t, func(ctx context.Context) { Slow(time.Hour)(ctx) }, 10*time.Second)
}

// testing/synctest: inside a bubble, the service runs on the bubble's fake
// clock with the Default Monitor (which leaves the bubble's goroutines
// alone), and a Monitor made in the bubble tracks them.
func TestLookupInABubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := httptest.NewRecorder()
		h := &Lookup{Backends: []func(context.Context) (string, error){Slow(time.Minute), Slow(2 * time.Minute)}}
		httpguard.Handler(h).ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
		if w.Body.String() != "[ok ok]\n" {
			t.Errorf("body %q after two fake minutes", w.Body.String())
		}
	})
}

// A Monitor with work left, here a record held back by ReportInterval
// (a site that dropped cancel funcs twice), runs its goroutine until the
// work is done: goleak names it, unless told to ignore ctxguard's own.
func TestGoleakIgnoresAMonitorWithWorkLeft(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{CancelSampleRate: 1, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	ctx := ctxguard.WithMonitor(context.Background(), m)
	for i := uint64(1); i <= 2; i++ {
		dropCancel(ctx)
		for m.Snapshot().DroppedCancels < i {
			runtime.GC()
			time.Sleep(time.Millisecond)
		}
	}
	if err := goleak.Find(); err == nil || !strings.Contains(err.Error(), "(*Monitor).loop") {
		t.Fatalf("goleak.Find = %v, want the Monitor's loop", err)
	}
	var ignore []goleak.Option
	for _, f := range ctxguard.BackgroundFunctions() {
		ignore = append(ignore, goleak.IgnoreAnyFunction(f))
	}
	goleak.VerifyNone(t, ignore...)
}

//go:noinline
func dropCancel(ctx context.Context) {
	_, _ = ctxguard.WithCancel(ctx) //ctxvet:ignore lostcancel the drop this test needs
}
