package httpguard_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
)

// The incident: a route whose handler ignores its context, hit by requests
// that time out after 50 ms, one every 50 ms. With a lagging limit of 5 it
// stops piling up: it turns requests away until its stuck work returns,
// while another route is served throughout, and the health endpoint says
// so.
func TestLaggingLimitStopsThePileUp(t *testing.T) {
	const (
		grace    = 100 * time.Millisecond
		limit    = 5
		requests = 60
		every    = 50 * time.Millisecond
	)
	var logs bytes.Buffer
	var logsMu sync.Mutex
	m := ctxguard.New(ctxguard.Config{Grace: grace, ReportInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&logsMu, &logs}, nil))})
	defer m.Close()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stuck", func(w http.ResponseWriter, r *http.Request) { <-release })
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv := httptest.NewServer(httpguard.Handler(mux, httpguard.WithMonitor(m), httpguard.WithLaggingLimit(limit)))
	defer srv.Close()
	health := httptest.NewServer(httpguard.HealthHandler(m, limit))
	defer health.Close()

	impatient := &http.Client{Timeout: every}
	var seen503, okServed int
	for i := range requests {
		resp, err := impatient.Get(srv.URL + "/stuck")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			if resp.StatusCode != http.StatusServiceUnavailable || retry < 1 || len(body) == 0 {
				t.Fatalf("request %d: %s, Retry-After %q, body %q; want 503 with Retry-After", i, resp.Status, resp.Header.Get("Retry-After"), body)
			}
			seen503++ // a 503 slower than the client's timeout is not seen here
		}
		resp, err = http.Get(srv.URL + "/ok")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("request %d to the healthy route: %v %v", i, err, resp)
		}
		resp.Body.Close()
		okServed++
		time.Sleep(every / 2) // the two requests took the other half
	}
	s := m.Snapshot()
	sc := scope(s, "GET /stuck")
	shed := int(sc.Shed)
	// A request is admitted until the count reaches the limit: those that
	// came in within a grace and a scan of the first lag add to it (about
	// limit + (grace+250ms)/every; at most the 20 that 40 shed leave, so
	// that a late scan on a busy machine is no failure).
	const bound = requests - 40
	t.Logf("lagging %d (bound %d), %d of %d turned away (%d seen by the client), %d healthy requests served",
		s.Lagging, bound, shed, requests, seen503, okServed)
	if s.Lagging > bound || shed < 40 {
		t.Errorf("lagging %d, %d turned away; want at most %d lagging and at least 40 turned away", s.Lagging, shed, bound)
	}
	if seen503 > shed || !sc.Shedding {
		t.Errorf("scope GET /stuck: %+v, the client saw %d turned away; want at least those shed, and shedding", sc, seen503)
	}

	var h struct {
		Status  string
		Lagging int
		Scopes  []struct {
			Scope    string
			Lagging  int
			Shedding bool
		}
	}
	code := getJSON(t, health.URL, &h)
	if code != http.StatusServiceUnavailable || h.Status != "failing" || len(h.Scopes) == 0 || h.Scopes[0].Scope != "GET /stuck" || !h.Scopes[0].Shedding {
		t.Errorf("health while piled up: %d %+v, want 503 failing with GET /stuck first", code, h)
	}

	close(release)
	waitFor(t, "the stuck work returns", func() bool { return m.Snapshot().Lagging == 0 })
	if code := getJSON(t, health.URL, &h); code != http.StatusOK || h.Status != "ok" {
		t.Errorf("health after release: %d %+v, want 200 ok", code, h)
	}
	resp, err := http.Get(srv.URL + "/stuck")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the stuck route after release: %v %v, want it served", err, resp)
	}
	resp.Body.Close()
	if sc := scope(m.Snapshot(), "GET /stuck"); sc.Shedding {
		t.Errorf("scope still shedding after it recovered: %+v", sc)
	}
	// Logged at once, ReportInterval (an hour) notwithstanding: when the
	// route started turning requests away, and when it stopped.
	for _, want := range []string{
		`msg="ctxguard: route turning requests away: too many of its goroutines still running after their requests ended" scope="GET /stuck"`,
		`msg="ctxguard: route taking requests again" scope="GET /stuck" shed=` + strconv.Itoa(shed),
	} {
		waitFor(t, "the record "+want, func() bool {
			logsMu.Lock()
			defer logsMu.Unlock()
			return strings.Contains(logs.String(), want)
		})
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Routes beyond the Monitor's MaxSites share one count, and one limit.
func TestRoutesBeyondMaxSitesAreLimitedAsOne(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{Grace: 20 * time.Millisecond, MaxSites: 1, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	release := make(chan struct{})
	mux := http.NewServeMux()
	for _, p := range []string{"GET /a", "GET /b", "GET /c"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { <-release })
	}
	srv := httptest.NewServer(httpguard.Handler(mux, httpguard.WithMonitor(m), httpguard.WithLaggingLimit(2)))
	defer srv.Close()
	defer close(release)
	client := &http.Client{Timeout: 20 * time.Millisecond}
	patient := &http.Client{Timeout: time.Minute}  // for answers that must come, however busy the machine
	for _, p := range []string{"/a", "/b", "/c"} { // /a has a count of its own; /b and /c share one
		if _, err := client.Get(srv.URL + p); err == nil {
			t.Fatalf("%s answered", p)
		}
	}
	waitFor(t, "all three lag", func() bool { return m.Snapshot().Lagging == 3 })
	for _, c := range []struct {
		path string
		code int
	}{{"/a", 0}, {"/b", http.StatusServiceUnavailable}, {"/c", http.StatusServiceUnavailable}} {
		get := patient.Get
		if c.code == 0 {
			get = client.Get // admitted, it never answers
		}
		resp, err := get(srv.URL + c.path)
		switch {
		case c.code == 0 && err == nil:
			t.Errorf("%s: %s, want it admitted (and stuck)", c.path, resp.Status)
		case c.code != 0 && (err != nil || resp.StatusCode != c.code):
			t.Errorf("%s: %v %v, want %d", c.path, err, resp, c.code)
		}
		if err == nil {
			resp.Body.Close()
		}
	}
}

func scope(s ctxguard.Snapshot, name string) ctxguard.ScopeStats {
	for _, sc := range s.Scopes {
		if sc.Scope == name {
			return sc
		}
	}
	return ctxguard.ScopeStats{}
}

func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

func TestLaggingLimitMisuse(t *testing.T) {
	for name, f := range map[string]func(){
		"WithLaggingLimit(0)":  func() { httpguard.WithLaggingLimit(0) },
		"WithLaggingLimit(-1)": func() { httpguard.WithLaggingLimit(-1) },
		"HealthHandler(m, 0)":  func() { httpguard.HealthHandler(nil, 0) },
	} {
		func() {
			defer func() {
				if v, _ := recover().(string); len(v) < 11 || v[:11] != "httpguard: " {
					t.Errorf("%s panicked with %q, want an httpguard message", name, v)
				}
			}()
			f()
		}()
	}
}

// Retry-After is the handler's grace in whole seconds, rounded up: a
// client told to come back sooner finds the route still turning requests
// away. (mcpguard rounds up too.)
func TestRetryAfterRoundsTheGraceUp(t *testing.T) {
	const grace = 1300 * time.Millisecond
	m := ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	release := make(chan struct{})
	srv := httptest.NewServer(httpguard.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }),
		httpguard.WithMonitor(m), httpguard.WithGrace(grace), httpguard.WithLaggingLimit(1)))
	defer srv.Close()
	defer close(release)
	if _, err := (&http.Client{Timeout: 20 * time.Millisecond}).Get(srv.URL); err == nil {
		t.Fatal("the stuck handler answered")
	}
	waitFor(t, "the handler lags", func() bool { return m.Snapshot().Lagging == 1 })
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Retry-After"); resp.StatusCode != http.StatusServiceUnavailable || got != "2" {
		t.Errorf("%s, Retry-After %q; want 503 with Retry-After 2 for a grace of %v", resp.Status, got, grace)
	}
}
