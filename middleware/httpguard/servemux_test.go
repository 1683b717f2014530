package httpguard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/leakcheck"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// On httpguard's ServeMux, over loopback: the requests its handlers serve
// are tracked under their patterns, and so are the goroutines they spawn,
// which lag under them; requests the mux answers itself are not tracked.
func TestServeMuxTracksWhatItsHandlersServe(t *testing.T) {
	defer leakcheck.Check(t)()
	m := newMonitor(t)
	release := make(chan struct{})
	mux := httpguard.NewServeMux(httpguard.WithMonitor(m))
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		spawn.Go(r.Context(), func(context.Context) { <-release }, spawn.WithName("render"))
	})
	mux.HandleFunc("/static", func(http.ResponseWriter, *http.Request) {})
	srv := httptest.NewServer(mux)
	client := srv.Client()
	for _, c := range []struct {
		method, target string
		status         int
	}{
		{"GET", "/items/1", 200},
		{"GET", "/items/2", 200},
		{"GET", "/items/3", 200},
		{"POST", "/static", 200},
		{"DELETE", "/items/1", 405}, // answered by the mux: not tracked
		{"GET", "/nowhere", 404},    // likewise
		{"GET", "/items/4/", 404},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.target, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.target, resp.StatusCode, c.status)
		}
	}
	waitFor(t, "3 lagging", func() bool { return m.Snapshot().Lagging == 3 })
	s := m.Snapshot()
	if s.Spawned != 4+3 { // four requests served by handlers, three goroutines
		t.Errorf("Spawned %d, want 7", s.Spawned)
	}
	for k, g := range byScope(s) {
		want := 0
		if k == "GET /items/{id} | render" {
			want = 3
		}
		if g.Lagging != want {
			t.Errorf("%s: Lagging %d, want %d", k, g.Lagging, want)
		}
		if scope, _, _ := strings.Cut(k, " | "); scope != "GET /items/{id}" && scope != "/static" {
			t.Errorf("scope %q: want a registered pattern", scope)
		}
	}
	close(release)
	waitFor(t, "everything returns", func() bool { return m.Snapshot().Live == 0 })
	client.CloseIdleConnections()
	srv.Close()
	m.Close()
}

// Registering on httpguard's ServeMux fails as on http.ServeMux.
func TestServeMuxRegistrationPanics(t *testing.T) {
	ok := func(http.ResponseWriter, *http.Request) {}
	for _, c := range []struct {
		name     string
		register func(*httpguard.ServeMux)
		want     string
	}{
		{"nil handler", func(m *httpguard.ServeMux) { m.Handle("/x", nil) }, "nil handler"},
		{"nil func", func(m *httpguard.ServeMux) { m.HandleFunc("/x", nil) }, "nil handler"},
		{"bad pattern", func(m *httpguard.ServeMux) { m.HandleFunc("GET", ok) }, "parsing"},
		{"conflict", func(m *httpguard.ServeMux) { m.HandleFunc("/x", ok); m.Handle("/x", http.HandlerFunc(ok)) }, "conflicts"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if got := fmt.Sprint(recover()); !strings.Contains(got, c.want) {
					t.Errorf("panic %q, want one saying %q", got, c.want)
				}
			}()
			c.register(httpguard.NewServeMux())
		})
	}
}

// A conflict's panic names the lines of the program that registered the
// two patterns, as http.ServeMux's does, not the line in httpguard that
// registered them with the mux.
func TestServeMuxConflictNamesTheProgramsLines(t *testing.T) {
	ok := func(http.ResponseWriter, *http.Request) {}
	_, file, _, _ := runtime.Caller(0)
	for _, second := range []struct {
		line     int
		register func(*httpguard.ServeMux)
	}{
		{line(), func(mux *httpguard.ServeMux) { mux.HandleFunc("/y/{a}/(z)", ok) }},
		{line(), func(mux *httpguard.ServeMux) { mux.Handle("/y/{a}/(z)", http.HandlerFunc(ok)) }},
	} {
		mux := httpguard.NewServeMux()
		mux.HandleFunc("/x", ok)
		mux.HandleFunc("/y/{b}/(z)", ok) // a parenthesis in a pattern must not end its line's text
		first := line() - 1
		func() {
			defer func() {
				got := fmt.Sprint(recover())
				want := fmt.Sprintf("pattern \"/y/{a}/(z)\" (registered at %s:%d) conflicts with pattern \"/y/{b}/(z)\" (registered at %s:%d)",
					file, second.line, file, first)
				if !strings.HasPrefix(got, want) {
					t.Errorf("panic %q\nwant it to start %q", got, want)
				}
			}()
			second.register(mux)
		}()
	}
}

// line returns the line of the call to it.
func line() int {
	_, _, l, _ := runtime.Caller(1)
	return l
}

// Under GODEBUG=httpmuxgo121=1 the mux sets no Request.Pattern; a handler
// on httpguard's ServeMux still gets the pattern it was registered under.
// GODEBUG is read when the program starts: the test runs itself again.
func TestServeMuxRoutesUnderTheGo121Mux(t *testing.T) {
	if os.Getenv("HTTPGUARD_GO121_CHILD") == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestServeMuxRoutesUnderTheGo121Mux$", "-test.v")
		godebug := "httpmuxgo121=1"
		if d := os.Getenv("GODEBUG"); d != "" {
			godebug = d + "," + godebug
		}
		cmd.Env = append(os.Environ(), "HTTPGUARD_GO121_CHILD=1", "GODEBUG="+godebug)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS") {
			t.Fatalf("under httpmuxgo121=1: %v\n%s", err, out)
		}
		return
	}
	var got string
	mux := httpguard.NewServeMux()
	mux.HandleFunc("/tree/", func(w http.ResponseWriter, r *http.Request) {
		if r.Pattern != "" {
			t.Errorf("Pattern %q: the child does not run the Go 1.21 mux", r.Pattern)
		}
		got = ctxguard.ScopeFrom(r.Context())
	})
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/tree/x", nil))
	if got != "/tree/" {
		t.Errorf("scope %q, want /tree/", got)
	}
}

// A lagging limit on httpguard's ServeMux holds per registered pattern.
func TestServeMuxLaggingLimit(t *testing.T) {
	m := newMonitor(t)
	started, release := make(chan struct{}), make(chan struct{})
	mux := httpguard.NewServeMux(httpguard.WithMonitor(m), httpguard.WithLaggingLimit(1))
	mux.HandleFunc("GET /stuck", func(http.ResponseWriter, *http.Request) { close(started); <-release })
	mux.HandleFunc("GET /ok", func(http.ResponseWriter, *http.Request) {})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release) // before the server closes, which waits for the handler

	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }() // the client gives up once the handler runs
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/stuck", nil)
	if resp, err := srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("GET /stuck answered %s, want the client to give up", resp.Status)
	}
	waitFor(t, "the stuck handler to lag", func() bool { return m.Snapshot().Lagging == 1 })
	for target, want := range map[string]int{"/stuck": http.StatusServiceUnavailable, "/ok": http.StatusOK} {
		resp, err := srv.Client().Get(srv.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: status %d, want %d", target, resp.StatusCode, want)
		}
	}
}

// A request is tracked once, by the first of httpguard's handlers it
// reaches: an httpguard ServeMux registered on another tracks its own
// routes; one behind http.StripPrefix, and Handler inside a route of a
// wrapped http.ServeMux, leave the request to the handler outside them.
func TestNestedHandlersTrackARequestOnce(t *testing.T) {
	m := newMonitor(t)
	var scope string
	probe := func(w http.ResponseWriter, r *http.Request) { scope = ctxguard.ScopeFrom(r.Context()) }
	inner := httpguard.NewServeMux(httpguard.WithMonitor(m))
	inner.HandleFunc("GET /api/v1/{x}", probe)
	inner.HandleFunc("GET /v2/{x}", probe)
	outer := httpguard.NewServeMux(httpguard.WithMonitor(m))
	outer.Handle("/api/", inner)
	outer.Handle("/s/", http.StripPrefix("/s", inner))
	plain := http.NewServeMux()
	plain.Handle("GET /p/{x}", httpguard.Handler(http.HandlerFunc(probe), httpguard.WithMonitor(m)))
	wrapped := httpguard.Handler(plain, httpguard.WithMonitor(m))
	for _, c := range []struct {
		h             http.Handler
		target, scope string
	}{
		{outer, "/api/v1/7", "GET /api/v1/{x}"},
		{outer, "/s/v2/7", "/s/"},
		{wrapped, "/p/7", "GET /p/{x}"},
	} {
		before := m.Snapshot().Spawned
		scope = ""
		c.h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", c.target, nil))
		if scope != c.scope {
			t.Errorf("%s: scope %q, want %q", c.target, scope, c.scope)
		}
		if n := m.Snapshot().Spawned - before; n != 1 {
			t.Errorf("%s: tracked %d times, want once", c.target, n)
		}
	}
}
