package ctxdebug_test

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxdebug"
	"github.com/ctxguard/ctxguard/internal/childproc"
	"github.com/ctxguard/ctxguard/spawn"
)

// A proven leak of goroutines whose context never ends is listed before
// healthy entries with more live goroutines: the bound of MaxSites must
// not hide it while the totals count it. In a process of its own: what
// is proven leaked never ends.
func TestLeakedEntryIsNotOmitted(t *testing.T) {
	if !ctxguard.LeakProfileAvailable() {
		t.Skip("no goroutine leak profile on", "this Go release")
	}
	if !childproc.Run(t) {
		return
	}
	m := ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	srv := httptest.NewServer(ctxdebug.Handler(m, ctxdebug.WithMaxSites(1)))
	defer srv.Close()
	root := ctxguard.WithMonitor(ctxguard.Background(), m)
	release := make(chan struct{})
	defer close(release)
	for range 2 {
		spawn.Go(root, func(ctxguard.Context) { <-release }, spawn.WithName("healthy"))
	}
	spawn.Go(root, func(ctxguard.Context) { <-make(chan struct{}) }, spawn.WithName("leaky"))
	waitFor(t, "the leak to be proven", func() bool {
		if err := m.CheckLeaks(); err != nil {
			t.Fatal(err)
		}
		return m.Snapshot().Leaked == 1
	})
	p := getJSON(t, srv.URL+"?format=json")
	if p.Totals.Leaked != 1 {
		t.Fatalf("totals leaked %d, want 1", p.Totals.Leaked)
	}
	if len(p.Goroutines) != 1 || p.Goroutines[0].Name != "leaky" || p.Goroutines[0].Leaked != 1 {
		t.Errorf("entries %+v (%d omitted), want the leaky one listed", p.Goroutines, p.GoroutinesOmitted)
	}
}

// A page in the browser of someone on the same host, at a name the page's
// author controls that resolves to 127.0.0.1 (DNS rebinding), connects
// from loopback: FromLoopback must not take it for a loopback client's,
// or that page can read the JSON. A loopback client names the server by a
// loopback address or localhost.
func TestRebindingIsNotLoopback(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	srv := httptest.NewServer(ctxdebug.Handler(m))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		host string
		code int
	}{
		{"127.0.0.1:" + port, 200},
		{"localhost:" + port, 200},
		{"[::1]:" + port, 200},
		{"rebind.attacker.example:" + port, 403},
	} {
		req, err := http.NewRequest("GET", srv.URL+"/?format=json", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = tt.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("from 127.0.0.1 with Host %s: %d, want %d", tt.host, resp.StatusCode, tt.code)
		}
	}
}
