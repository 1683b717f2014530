package httpguard_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/leakcheck"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
	"github.com/ctxguard/ctxguard/spawn"
)

const grace = 50 * time.Millisecond

func newMonitor(t *testing.T) *ctxguard.Monitor {
	t.Helper()
	m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slog.New(slog.DiscardHandler), ReportInterval: time.Hour})
	t.Cleanup(func() { m.Close() })
	return m
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// byScope sums a Snapshot's goroutine entries per scope and name.
func byScope(s ctxguard.Snapshot) map[string]ctxguard.GoroutineStats {
	out := make(map[string]ctxguard.GoroutineStats)
	for _, g := range s.Goroutines {
		k := g.Scope + " | " + g.Name
		c := out[k]
		c.Name, c.Scope, c.Site = g.Name, g.Scope, g.Site
		c.Live += g.Live
		c.Lagging += g.Lagging
		c.Lagged += g.Lagged
		out[k] = c
	}
	return out
}

// The handlers of the incident. Each is a named function, so that the
// reports name it the way a goroutine dump would.
type incident struct {
	release chan struct{}
	started atomic.Int32 // handlers that have begun
	mu      sync.Mutex
	late    []string // what the slow goroutines wrote once released
}

// slow is the classic bad handler: its worker ignores the request context
// and finishes (and would write) long after the client gave up.
func (in *incident) slow(w http.ResponseWriter, r *http.Request) {
	in.started.Add(1)
	result := make(chan string, 1)
	spawn.Go(r.Context(), in.slowWorker)
	select {
	case v := <-result:
		fmt.Fprint(w, v)
	case <-r.Context().Done():
	}
}

func (in *incident) slowWorker(ctx context.Context) {
	<-in.release // stands for time.Sleep(10 * time.Second)
	in.mu.Lock()
	in.late = append(in.late, "late write")
	in.mu.Unlock()
}

// stuck ignores its own cancelled context.
func (in *incident) stuck(w http.ResponseWriter, r *http.Request) {
	in.started.Add(1)
	<-in.release
}

// good stops when its request does, and so does its worker.
func (in *incident) good(w http.ResponseWriter, r *http.Request) {
	in.started.Add(1)
	done := make(chan struct{})
	spawn.Go(r.Context(), func(ctx context.Context) {
		defer close(done)
		<-ctx.Done()
	})
	<-r.Context().Done()
	<-done
}

// The incident: clients that give up, as curl --max-time would; every
// goroutine that outlives its request is found, under its route. The
// clients give up once every handler has begun (a request abandoned before
// the server reads it runs no handler, and a fixed client timeout cannot
// promise that it was read).
func TestTimedOutRequestsAreAttributedToTheirRoutes(t *testing.T) {
	defer leakcheck.Check(t)()
	m := newMonitor(t)
	in := &incident{release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", in.slow)
	mux.HandleFunc("GET /stuck", in.stuck)
	mux.HandleFunc("GET /good", in.good)
	srv := httptest.NewServer(httpguard.Handler(mux, httpguard.WithMonitor(m)))
	client := srv.Client()

	const n = 20 // per route, concurrently
	giveUp, clientsGiveUp := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, path := range []string{"/slow", "/stuck", "/good"} {
		for range n {
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(giveUp, "GET", srv.URL+path, nil)
				resp, err := client.Do(req)
				if err == nil {
					resp.Body.Close()
					t.Errorf("GET %s answered %s, want the client to give up", path, resp.Status)
				}
			})
		}
	}
	waitFor(t, "every handler to begin", func() bool { return in.started.Load() == 3*n })
	clientsGiveUp()
	wg.Wait()

	waitFor(t, "2n lagging", func() bool { return m.Snapshot().Lagging == 2*n })
	time.Sleep(4 * grace) // nothing else starts lagging later
	s := m.Snapshot()
	got := byScope(s)
	want := map[string]int{
		"GET /slow | github.com/ctxguard/ctxguard/middleware/httpguard_test.(*incident).slowWorker": n,
		"GET /stuck | github.com/ctxguard/ctxguard/middleware/httpguard_test.(*incident).stuck":     n,
	}
	for k, g := range got {
		if g.Lagging != want[k] || g.Lagged != uint64(want[k]) {
			t.Errorf("%s: Lagging %d, Lagged %d; want %d", k, g.Lagging, g.Lagged, want[k])
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("no entry %q in %v", k, got)
		}
	}
	if s.Lagging != 2*n || s.Lagged != 2*n {
		t.Errorf("Lagging %d, Lagged %d; want %d", s.Lagging, s.Lagged, 2*n)
	}
	// The stuck handler is reported as itself (a method value has no
	// source position of its own).
	if st := got["GET /stuck | github.com/ctxguard/ctxguard/middleware/httpguard_test.(*incident).stuck"]; st.Site.Function != "github.com/ctxguard/ctxguard/middleware/httpguard_test.(*incident).stuck" {
		t.Errorf("stuck handler site = %+v", st.Site)
	}

	close(in.release)
	waitFor(t, "everything returns", func() bool { return m.Snapshot().Live == 0 })
	if s := m.Snapshot(); s.Lagging != 0 || s.Lagged != 2*n {
		t.Errorf("after release: Lagging %d, Lagged %d; want 0, %d", s.Lagging, s.Lagged, 2*n)
	}
	if len(in.late) != n {
		t.Errorf("%d late writes, want %d", len(in.late), n)
	}
	client.CloseIdleConnections()
	srv.Close()
	m.Close()
}

// Routes: WithRouteFunc for other routers, the ServeMux pattern when the
// middleware sits inside a route, the method otherwise; never the path. On
// httpguard's ServeMux, the pattern a handler was registered under, or the
// pattern of a ServeMux registered on it.
func TestRouteNames(t *testing.T) {
	var got string
	probe := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ctxguard.ScopeFrom(r.Context()) })
	inner := http.NewServeMux()
	inner.Handle("GET /inside/{id}", httpguard.Handler(probe))
	inner.Handle("/", probe)
	plain := http.NewServeMux() // the middleware only outside
	plain.Handle("GET /items/{id}", probe)
	plain.Handle("/", probe)
	var zero httpguard.ServeMux // the zero value, without options
	zero.Handle("GET /items/{id}", probe)
	named := httpguard.NewServeMux(httpguard.WithRouteFunc(func(r *http.Request) string { return "items" }))
	named.Handle("GET /items/{id}", probe)
	sub := http.NewServeMux()
	sub.Handle("GET /api/v1/{x}", probe)
	zero.Handle("/api/", sub)
	router := func(opts ...httpguard.Option) http.Handler { // stands for a router other than ServeMux
		return httpguard.Middleware(opts...)(probe)
	}
	for _, c := range []struct {
		name, method, target, want string
		h                          http.Handler
	}{
		{"pattern inside a route", "GET", "/inside/42", "GET /inside/{id}", inner},
		{"route func", "GET", "/anything/7", "items", router(httpguard.WithRouteFunc(func(r *http.Request) string { return "items" }))},
		{"method fallback", "POST", "/anything/7", "POST", router()},
		{"unknown method", "BREW", "/pot", "OTHER", router()},
		{"wrapped ServeMux", "GET", "/items/42", "GET /items/{id}", httpguard.Handler(plain)},
		{"wrapped ServeMux, catch-all", "GET", "/nowhere", "/", httpguard.Handler(plain)},
		{"wrapped ServeMux, route func first", "GET", "/items/42", "items", httpguard.Handler(plain, httpguard.WithRouteFunc(func(r *http.Request) string { return "items" }))},
		{"ServeMux", "GET", "/items/42", "GET /items/{id}", &zero},
		{"ServeMux, route func first", "GET", "/items/42", "items", named},
		{"ServeMux, a ServeMux registered on it", "GET", "/api/v1/7", "GET /api/v1/{x}", &zero},
	} {
		t.Run(c.name, func(t *testing.T) {
			got = ""
			c.h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(c.method, c.target, nil))
			if got != c.want {
				t.Errorf("scope = %q, want %q", got, c.want)
			}
		})
	}
}

// The middleware remembers, per handler, the scope of the route and
// Monitor it first served; requests to another route of the same handler,
// or under another Monitor, still get theirs.
func TestOneHandlerOnTwoRoutesUnderTwoMonitors(t *testing.T) {
	monitors := [2]*ctxguard.Monitor{newMonitor(t), newMonitor(t)}
	var mu sync.Mutex
	var scopes []string
	probe := func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		scopes = append(scopes, ctxguard.ScopeFrom(r.Context()))
		mu.Unlock()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /a/{id}", probe)
	mux.HandleFunc("GET /b", probe)
	guarded := httpguard.Handler(mux)
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := monitors[n.Add(1)%2] // the second request's Monitor is the first's other
		guarded.ServeHTTP(w, r.WithContext(ctxguard.WithMonitor(r.Context(), m)))
	}))
	defer srv.Close()
	targets := []string{"/a/1", "/b", "/b", "/a/2", "/a/3", "/b", "/a/4"}
	var want []string
	for _, target := range targets {
		resp, err := srv.Client().Get(srv.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want = append(want, map[bool]string{true: "GET /a/{id}", false: "GET /b"}[strings.HasPrefix(target, "/a/")])
	}
	if fmt.Sprint(scopes) != fmt.Sprint(want) {
		t.Errorf("scopes %q, want %q", scopes, want)
	}
	// Requests 1, 3, 5 and 7 went to monitors[1], 2, 4 and 6 to monitors[0].
	for i, wantSpawned := range []uint64{3, 4} {
		if got := monitors[i].Snapshot().Spawned; got != wantSpawned {
			t.Errorf("monitor %d tracked %d requests, want %d", i, got, wantSpawned)
		}
	}
}

// What the client sees is the same with and without the middleware:
// status, headers, body, flushes, hijacking and aborts.
func TestResponsesAreUnchanged(t *testing.T) {
	newMux := func() *http.ServeMux {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /teapot", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Kind", "teapot")
			w.WriteHeader(http.StatusTeapot)
			fmt.Fprint(w, "short and stout")
		})
		mux.HandleFunc("GET /flush", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "part one;")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush: %v", err)
			}
			fmt.Fprint(w, "part two")
		})
		mux.HandleFunc("GET /hijack", func(w http.ResponseWriter, r *http.Request) {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			defer conn.Close()
			buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
			buf.Flush()
		})
		mux.HandleFunc("GET /abort", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "partial")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		})
		return mux
	}
	m := newMonitor(t)
	bare := httptest.NewServer(newMux())
	defer bare.Close()
	guarded := httptest.NewServer(httpguard.Handler(newMux(), httpguard.WithMonitor(m)))
	defer guarded.Close()
	// A silent logger for the servers' "http: panic serving" lines is not
	// needed: ErrAbortHandler is not logged.
	get := func(base, path string) string {
		resp, err := http.Get(base + path)
		if err != nil {
			return "error: " + errorKind(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		s := fmt.Sprintf("%d %s %q chunked=%v", resp.StatusCode, resp.Header.Get("X-Kind"), body, len(resp.TransferEncoding) > 0)
		if err != nil {
			s += " read error: " + errorKind(err)
		}
		return s
	}
	for _, path := range []string{"/teapot", "/flush", "/hijack", "/abort", "/missing"} {
		if b, g := get(bare.URL, path), get(guarded.URL, path); b != g {
			t.Errorf("GET %s: bare %s, guarded %s", path, b, g)
		}
	}
	waitFor(t, "handlers end", func() bool { return m.Snapshot().Live == 0 })
	if s := m.Snapshot(); s.Spawned != 5 || s.Lagged != 0 || s.Panics != 1 {
		t.Errorf("Spawned %d, Lagged %d, Panics %d; want 5 tracked handlers, 0 lagged, 1 panic (/abort)", s.Spawned, s.Lagged, s.Panics)
	}
}

func errorKind(err error) string {
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected EOF"
	case errors.Is(err, io.EOF):
		return "EOF"
	}
	return "other"
}

func TestMisusePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"nil handler":    func() { httpguard.Handler(nil) },
		"nil middleware": func() { httpguard.Middleware()(nil) },
		"twice":          func() { httpguard.Handler(httpguard.Handler(http.NewServeMux())) },
		"twice, middleware": func() {
			httpguard.Middleware()(httpguard.Handler(http.NewServeMux()))
		},
		"around httpguard's ServeMux": func() { httpguard.Handler(httpguard.NewServeMux()) },
		"nil route func":              func() { httpguard.WithRouteFunc(nil) },
		"nil monitor":                 func() { httpguard.WithMonitor(nil) },
		"zero grace":                  func() { httpguard.WithGrace(0) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if v := recover(); v == nil || !strings.HasPrefix(fmt.Sprint(v), "httpguard: ") {
					t.Errorf("recovered %v, want a panic starting with httpguard: ", v)
				}
			}()
			f()
		})
	}
}

// With Config.ProfileLabels, a handler runs with the ctxguard labels, so
// goroutine profiles group requests by route.
func TestHandlersCarryProfileLabels(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{ProfileLabels: true, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	release := make(chan struct{})
	in := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /labelled", func(w http.ResponseWriter, r *http.Request) {
		in <- struct{}{}
		<-release
	})
	h := httpguard.Handler(mux, httpguard.WithMonitor(m))
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/labelled", nil))
	<-in
	var buf bytes.Buffer
	pprof.Lookup("goroutine").WriteTo(&buf, 1)
	close(release)
	want := `# labels: {"ctxguard.name":"github.com/ctxguard/ctxguard/middleware/httpguard_test.TestHandlersCarryProfileLabels.func1", "ctxguard.scope":"GET /labelled"}`
	if !strings.Contains(buf.String(), want) {
		t.Errorf("goroutine profile lacks %s:\n%s", want, buf.String())
	}
}

// A CONNECT proxy behind the middleware tunnels as it does without it: the
// handler hijacks the connection, answers 200, and bytes then flow both
// ways; the route is the method.
func TestConnectTunnelsThroughTheMiddleware(t *testing.T) {
	m := newMonitor(t)
	proxy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack: %v", err)
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 200 Connection established\r\n\r\n")
		buf.Flush()
		io.Copy(conn, buf) // echo, until the client closes its side
	})
	srv := httptest.NewServer(httpguard.Handler(proxy, httpguard.WithMonitor(m)))
	defer srv.Close()
	for i := range 3 {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "CONNECT backend.example:443 HTTP/1.1\r\nHost: backend.example:443\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodConnect})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("CONNECT: %s, want 200", resp.Status)
		}
		msg := fmt.Sprintf("through the tunnel %d", i)
		fmt.Fprint(conn, msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil {
			t.Fatalf("reading the echo: %v", err)
		}
		if string(got) != msg {
			t.Fatalf("echo %q, want %q", got, msg)
		}
		if n := liveIn(m.Snapshot(), "CONNECT"); n != 1 {
			t.Errorf("tunnel %d open: %d live handlers under CONNECT, want 1", i, n)
		}
		conn.(*net.TCPConn).CloseWrite()
		waitFor(t, "the tunnel's handler to return", func() bool { return m.Snapshot().Live == 0 })
	}
}

// liveIn is the number of live tracked goroutines of s under scope.
func liveIn(s ctxguard.Snapshot, scope string) int {
	n := 0
	for _, g := range s.Goroutines {
		if g.Scope == scope {
			n += g.Live
		}
	}
	return n
}
