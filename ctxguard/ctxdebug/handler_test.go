package ctxdebug_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxdebug"
	"github.com/ctxguard/ctxguard/internal/leakcheck"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// The goroutines of the tests block in these; the tests find the lines by
// the comments.
func blockA(release <-chan struct{}) {
	<-release // block A
}

func blockB(release <-chan struct{}) {
	select { // block B
	case <-release:
	case <-time.After(time.Hour):
	}
}

// thisFile is the stable path of this file, as sites name it.
const thisFile = "github.com/ctxguard/ctxguard/ctxguard/ctxdebug/handler_test.go"

// lineOf returns the line of this file that contains marker.
func lineOf(t *testing.T, marker string) int {
	t.Helper()
	b, err := os.ReadFile("handler_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, marker) && !strings.Contains(l, "lineOf") {
			return i + 1
		}
	}
	t.Fatalf("no line of handler_test.go has %q", marker)
	return 0
}

// twoRoutes is a server with two leaky routes, tracked by its own
// Monitor, and the debug page of that Monitor, both on loopback.
type twoRoutes struct {
	m       *ctxguard.Monitor
	release chan struct{}
	app     *httptest.Server
	page    *httptest.Server
}

// newTwoRoutes serves the page (with opts) and the routes, and sends 3
// requests to GET /a and 2 to GET /b: each leaves a goroutine blocked,
// the first ones on block A with their request's cause, the others on
// block B with a cause of the handler's. Cleanup releases them.
func newTwoRoutes(t *testing.T, opts ...ctxdebug.Option) *twoRoutes {
	t.Helper()
	f := &twoRoutes{
		m:       ctxguard.New(ctxguard.Config{Grace: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}),
		release: make(chan struct{}),
	}
	f.page = httptest.NewServer(ctxdebug.Handler(f.m, opts...)) // before the lags, to see their events
	mux := http.NewServeMux()
	mux.HandleFunc("GET /a", func(w http.ResponseWriter, r *http.Request) {
		spawn.Go(r.Context(), func(ctxguard.Context) { blockA(f.release) }, spawn.WithName("worker-a"))
	})
	mux.HandleFunc("GET /b", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := ctxguard.WithCancelCause(r.Context())
		cancel(errors.New("upstream gave up"))
		spawn.Go(ctx, func(ctxguard.Context) { blockB(f.release) }, spawn.WithName("worker-b"))
	})
	f.app = httptest.NewServer(httpguard.Handler(mux, httpguard.WithMonitor(f.m)))
	t.Cleanup(func() {
		close(f.release)
		waitFor(t, "the goroutines to return", func() bool { return f.m.Snapshot().Live == 0 })
		f.app.Close()
		f.page.Close()
		f.m.Close()
	})
	for _, path := range []string{"/a", "/a", "/a", "/b", "/b"} {
		if code := get(t, f.app.URL+path).code; code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
	}
	return f
}

// settled waits until the page shows every lagging goroutine with its
// blocking location, cause and context end, and their Blocked events,
// and returns it.
func (f *twoRoutes) settled(t *testing.T) ctxdebug.Page {
	t.Helper()
	var p ctxdebug.Page
	waitFor(t, "the page to show the five lagging goroutines, settled", func() bool {
		p = getJSON(t, f.page.URL+"/?format=json")
		blocked := 0 // Blocked events come just after the capture counts
		for _, e := range p.Events {
			if e.Kind == "Blocked" {
				blocked += e.Count
			}
		}
		if p.Totals.Lagging != 5 || blocked != 5 {
			return false
		}
		for _, e := range p.Goroutines {
			causes := 0
			for _, c := range e.Causes {
				causes += c.Count
			}
			if e.Lagging > 0 && (e.NotCaptured > 0 || e.OldestEnded == nil || causes != e.Lagging) {
				return false
			}
		}
		return true
	})
	return p
}

func TestJSONShowsLaggingByRoute(t *testing.T) {
	f := newTwoRoutes(t)
	p := f.settled(t)
	lineA, lineB := lineOf(t, "// block A"), lineOf(t, "// block B")

	type row struct {
		scope, name   string
		live, lagging int
		cause         string
		blocked       string
	}
	var got []row
	for _, e := range p.Goroutines {
		if e.Lagging == 0 {
			continue
		}
		if len(e.Causes) != 1 || len(e.BlockedAt) != 1 {
			t.Fatalf("entry %s %s: causes %v, blocked at %v; want one of each", e.Scope, e.Name, e.Causes, e.BlockedAt)
		}
		b := e.BlockedAt[0]
		got = append(got, row{e.Scope, e.Name, e.Live, e.Lagging, e.Causes[0].Cause,
			fmt.Sprintf("%d %s (%s)", b.Count, b.Site, b.Reason)})
		if e.Site.File != thisFile {
			t.Errorf("%s spawned at %v, want in %s", e.Name, e.Site, thisFile)
		}
		if e.LaggingForSeconds <= 0 || e.OldestEnded.After(p.Time) {
			t.Errorf("%s: oldest ended %v, lagging for %vs, as of %v", e.Name, e.OldestEnded, e.LaggingForSeconds, p.Time)
		}
		if len(b.Frames) == 0 || b.Frames[0] != b.Site {
			t.Errorf("%s: frames %v do not start at the blocking site %v", e.Name, b.Frames, b.Site)
		}
	}
	want := []row{ // worst first
		{"GET /a", "worker-a", 3, 3, "context canceled", fmt.Sprintf("3 %s:%d (chan receive)", thisFile, lineA)},
		{"GET /b", "worker-b", 2, 2, "upstream gave up", fmt.Sprintf("2 %s:%d (select)", thisFile, lineB)},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("lagging entries:\n got %v\nwant %v", got, want)
	}
	if p.Totals.Live != 5 || p.Totals.Lagged != 5 || p.Totals.Spawned != 10 { // 5 handlers, 5 workers
		t.Errorf("totals %+v, want 5 live, 5 lagged, 10 spawned", p.Totals)
	}
	kinds := map[string]int{}
	for _, e := range p.Events {
		kinds[e.Kind] += e.Count
	}
	if kinds["LagStart"] != 5 || kinds["Blocked"] != 5 {
		t.Errorf("events by kind %v, want 5 LagStart and 5 Blocked", kinds)
	}
	if len(p.Samples) == 0 || p.Samples[len(p.Samples)-1].Lagging != 5 {
		t.Errorf("samples %v, want the last one with 5 lagging", p.Samples)
	}
}

func TestHTMLShowsLaggingByRoute(t *testing.T) {
	f := newTwoRoutes(t)
	f.settled(t)
	lineA, lineB := lineOf(t, "// block A"), lineOf(t, "// block B")
	r := get(t, f.page.URL+"/")
	if r.code != 200 || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("GET /: %d, Content-Type %q", r.code, r.header.Get("Content-Type"))
	}
	rows := tableRows(t, r.body, "lagging")
	if len(rows) != 2 {
		t.Fatalf("table of lagging goroutines has %d rows, want 2:\n%q", len(rows), rows)
	}
	for i, want := range []struct {
		count, scope, name, cause, blocked string
	}{
		{"3", "GET /a", "worker-a", "context canceled", fmt.Sprintf("3 %s:%d chan receive", thisFile, lineA)},
		{"2", "GET /b", "worker-b", "upstream gave up", fmt.Sprintf("2 %s:%d select", thisFile, lineB)},
	} {
		row := rows[i]
		if len(row) != 6 {
			t.Fatalf("row %d has %d cells, want 6: %q", i, len(row), row)
		}
		if c := strings.Fields(row[0]); c[0] != want.count {
			t.Errorf("row %d: lagging %q, want %s", i, row[0], want.count)
		}
		if row[1] != want.scope {
			t.Errorf("row %d: scope %q, want %q", i, row[1], want.scope)
		}
		if !strings.HasPrefix(row[2], want.name+" spawned at "+thisFile+":") {
			t.Errorf("row %d: goroutine %q, want %s spawned in this file", i, row[2], want.name)
		}
		if !regexp.MustCompile(`^[\d.hmsµ]+ ago the oldest$`).MatchString(row[3]) {
			t.Errorf("row %d: context ended %q, want how long ago", i, row[3])
		}
		if row[4] != want.cause {
			t.Errorf("row %d: cause %q, want %q", i, row[4], want.cause)
		}
		if !strings.HasPrefix(row[5], want.blocked+" ") { // then the frames
			t.Errorf("row %d: blocked at %q, want it to start with %q", i, row[5], want.blocked)
		}
	}
	if n := strings.Count(r.body, `<svg class="chart"`); n != 2 {
		t.Errorf("%d charts, want 2", n)
	}
	if !strings.Contains(r.body, `<path class="lagging" d="M`) {
		t.Error("the lagging chart has no line")
	}
	for _, id := range []string{"total-lagging", "total-live"} {
		if !regexp.MustCompile(`id="` + id + `"><b>5</b>`).MatchString(r.body) {
			t.Errorf("the page does not show 5 in %s", id)
		}
	}
}

func TestFilters(t *testing.T) {
	f := newTwoRoutes(t)
	f.settled(t)
	for _, tt := range []struct {
		query string
		want  []string // scopes of the lagging entries
	}{
		{"", []string{"GET /a", "GET /b"}},
		{"scope=GET+%2Fb", []string{"GET /b"}},
		{"scope=GET", []string{"GET /a", "GET /b"}},
		{"name=worker-a", []string{"GET /a"}},
		{"scope=GET+%2Fb&name=worker-a", nil},
	} {
		p := getJSON(t, f.page.URL+"/?format=json&"+tt.query)
		var got []string
		for _, e := range p.Goroutines {
			if e.Lagging > 0 {
				got = append(got, e.Scope)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("?%s: lagging scopes %q, want %q", tt.query, got, tt.want)
		}
		for _, e := range p.Events {
			if !strings.Contains(e.Scope, p.Filter.Scope) || !strings.Contains(e.Name, p.Filter.Name) {
				t.Errorf("?%s: event %+v passed the filter %+v", tt.query, e, p.Filter)
			}
		}
		if p.Totals.Lagging != 5 {
			t.Errorf("?%s: totals %d lagging, want 5 (totals are unfiltered)", tt.query, p.Totals.Lagging)
		}
	}
	// The HTML table follows the same filter, and the page links to it.
	r := get(t, f.page.URL+"/?scope=GET+%2Fb")
	if rows := tableRows(t, r.body, "lagging"); len(rows) != 1 || rows[0][1] != "GET /b" {
		t.Errorf("?scope=GET /b: rows %q", rows)
	}
	if body := html.UnescapeString(get(t, f.page.URL+"/").body); !strings.Contains(body, `href="?scope=GET+%2Fa"`) {
		t.Error("the page does not link to its filter by scope")
	}
}

func TestRefresh(t *testing.T) {
	f := newTwoRoutes(t)
	if r := get(t, f.page.URL+"/?refresh=5"); !strings.Contains(r.body, `<meta http-equiv="refresh" content="5">`) {
		t.Error("?refresh=5 does not reload the page")
	}
	if r := get(t, f.page.URL+"/"); strings.Contains(r.body, `http-equiv="refresh"`) {
		t.Error("the page reloads without ?refresh")
	}
}

func TestBadRequests(t *testing.T) {
	f := newTwoRoutes(t)
	for _, tt := range []struct {
		method, query string
		code          int
	}{
		{"GET", "refresh=0", 400},
		{"GET", "refresh=3601", 400},
		{"GET", "refresh=soon", 400},
		{"GET", "format=xml", 400},
		{"POST", "", 405},
		{"HEAD", "", 200},
		{"GET", "format=html&refresh=", 200},
	} {
		req, err := http.NewRequest(tt.method, f.page.URL+"/?"+tt.query, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.code {
			t.Errorf("%s ?%s: %d, want %d", tt.method, tt.query, resp.StatusCode, tt.code)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s ?%s: no X-Content-Type-Options: nosniff", tt.method, tt.query)
		}
	}
}

// Every string that comes from the program is escaped: scopes, names,
// causes, panic values, and the filter as typed.
func TestEscaping(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	page := httptest.NewServer(ctxdebug.Handler(m))
	defer page.Close()
	release := make(chan struct{})
	defer close(release)

	ctx := ctxguard.WithScope(ctxguard.WithMonitor(ctxguard.Background(), m), "<script>alert(1)</script>")
	ctx, cancel := ctxguard.WithCancelCause(ctx)
	cancel(errors.New(`"><script>alert(2)</script>`))
	spawn.Go(ctx, func(ctxguard.Context) { blockA(release) }, spawn.WithName(`<img src=x onerror="alert(3)">`))
	spawn.Go(ctx, func(ctxguard.Context) { panic("<script>alert(4)</script>") },
		spawn.WithName("panicky"), spawn.WithRecover(func(any) {}))
	waitFor(t, "the lag and the panic to be seen", func() bool {
		p := getJSON(t, page.URL+"?format=json")
		kinds := map[string]bool{}
		for _, e := range p.Events {
			kinds[e.Kind] = true
		}
		return p.Totals.Lagging == 1 && kinds["Blocked"] && kinds["Panic"]
	})

	for _, query := range []string{"", `?name=%22%3E%3Cscript%3Ealert(5)%3C/script%3E`, "?scope=%3Cscript%3E"} {
		body := get(t, page.URL+query).body
		if strings.Contains(body, "<script") || strings.Contains(body, "<img") {
			t.Errorf("GET %s: the page has a script or img element:\n%s", query, body)
		}
	}
	body := strings.ReplaceAll(get(t, page.URL+"?scope=%3Cscript%3E").body, "<wbr>", "") // break opportunities in paths
	for _, want := range []string{
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;",
		"&lt;img src=x onerror=&#34;alert(3)&#34;&gt;",
		"panic: &lt;script&gt;alert(4)&lt;/script&gt;",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	r := get(t, page.URL+"?format=json")
	if strings.Contains(r.body, "<script") {
		t.Error("the JSON has an unescaped <script")
	}
	if r.header.Get("Content-Type") != "application/json" {
		t.Errorf("JSON served as %q", r.header.Get("Content-Type"))
	}
}

func TestAccess(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	byDefault := ctxdebug.Handler(m)
	withToken := ctxdebug.Handler(m, ctxdebug.WithAuth(func(r *http.Request) bool {
		return r.Header.Get("X-Debug-Token") == "let-me-in"
	}))
	for _, tt := range []struct {
		name       string
		h          http.Handler
		remoteAddr string
		token      string
		code       int
		header     string // a header the request carries, "Name: value"
		host       string // the request's Host, if not localhost:6060; "-" for none
	}{
		{"IPv4 loopback", byDefault, "127.0.0.1:5555", "", 200, "", ""},
		{"other IPv4 loopback", byDefault, "127.9.8.7:5555", "", 200, "", ""},
		{"IPv6 loopback", byDefault, "[::1]:5555", "", 200, "", ""},
		{"IPv4-mapped loopback", byDefault, "[::ffff:127.0.0.1]:5555", "", 200, "", ""},
		{"remote", byDefault, "192.0.2.1:5555", "", 403, "", ""},
		{"private network", byDefault, "10.0.0.8:5555", "", 403, "", ""},
		{"remote IPv6", byDefault, "[2001:db8::1]:5555", "", 403, "", ""},
		{"unix socket", byDefault, "@", "", 403, "", ""},
		{"no address", byDefault, "", "", 403, "", ""},
		{"remote with the token", withToken, "192.0.2.1:5555", "let-me-in", 200, "", ""},
		{"remote without the token", withToken, "192.0.2.1:5555", "", 403, "", ""},
		{"loopback without the token", withToken, "127.0.0.1:5555", "", 403, "", ""}, // WithAuth decides alone
		{"loopback through a proxy (Forwarded)", byDefault, "127.0.0.1:5555", "", 403, "Forwarded: for=192.0.2.60", ""},
		{"loopback through a proxy (X-Forwarded-For)", byDefault, "127.0.0.1:5555", "", 403, "X-Forwarded-For: 192.0.2.60", ""},
		{"loopback through a proxy (X-Real-IP)", byDefault, "[::1]:5555", "", 403, "X-Real-IP: 192.0.2.60", ""},
		{"through a proxy with the token", withToken, "127.0.0.1:5555", "let-me-in", 200, "X-Forwarded-For: 192.0.2.60", ""},
		{"loopback, Host a loopback address", byDefault, "127.0.0.1:5555", "", 200, "", "127.0.0.1:6060"},
		{"loopback, Host an IPv6 loopback address", byDefault, "[::1]:5555", "", 200, "", "[::1]:6060"},
		{"loopback, Host without a port", byDefault, "127.0.0.1:5555", "", 200, "", "127.0.0.1"},
		{"loopback, Host LOCALHOST.", byDefault, "127.0.0.1:5555", "", 200, "", "LOCALHOST.:6060"},
		{"loopback, Host a name under localhost", byDefault, "127.0.0.1:5555", "", 200, "", "app.localhost:6060"},
		{"loopback, no Host (HTTP/1.0)", byDefault, "127.0.0.1:5555", "", 200, "", "-"},
		{"loopback, Host a rebound name", byDefault, "127.0.0.1:5555", "", 403, "", "rebind.example:6060"},
		{"loopback, Host starting with localhost.", byDefault, "127.0.0.1:5555", "", 403, "", "localhost.example:6060"},
		{"loopback, Host ending in localhost", byDefault, "127.0.0.1:5555", "", 403, "", "notlocalhost:6060"},
		{"loopback, Host a remote address", byDefault, "127.0.0.1:5555", "", 403, "", "192.0.2.1:6060"},
		{"a rebound name with the token", withToken, "127.0.0.1:5555", "let-me-in", 200, "", "rebind.example:6060"},
	} {
		req := httptest.NewRequest("GET", "/debug/ctxguard/", nil)
		req.RemoteAddr = tt.remoteAddr
		switch tt.host {
		case "":
			req.Host = "localhost:6060"
		case "-":
			req.Host = ""
		default:
			req.Host = tt.host
		}
		if name, value, ok := strings.Cut(tt.header, ": "); ok {
			req.Header.Set(name, value)
		}
		if tt.token != "" {
			req.Header.Set("X-Debug-Token", tt.token)
		}
		rec := httptest.NewRecorder()
		tt.h.ServeHTTP(rec, req)
		if rec.Code != tt.code {
			t.Errorf("%s (%q, Host %q): %d, want %d", tt.name, tt.remoteAddr, req.Host, rec.Code, tt.code)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no X-Content-Type-Options: nosniff", tt.name)
		}
		if tt.code == 403 && strings.Contains(rec.Body.String(), "ctxguard") && strings.Contains(rec.Body.String(), "<table") {
			t.Errorf("%s: 403 with the page", tt.name)
		}
	}

	// And over real connections: loopback gets the page, but not through a
	// reverse proxy on the same host, which would serve it to everyone.
	srv := httptest.NewServer(byDefault)
	defer srv.Close()
	r := get(t, srv.URL+"/")
	if r.code != 200 || !strings.Contains(r.body, "<h1>ctxguard") {
		t.Errorf("over loopback: %d\n%s", r.code, r.body)
	}
	backend, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(backend))
	defer proxy.Close()
	if r := get(t, proxy.URL+"/"); r.code != 403 {
		t.Errorf("through a reverse proxy on loopback: %d, want 403", r.code)
	}
	// The policy allows the page's own style sheet, by its hash, and
	// nothing else.
	css := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(r.body)
	if css == nil {
		t.Fatal("the page has no style sheet")
	}
	sum := sha256.Sum256([]byte(css[1]))
	want := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; img-src data:; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	if csp := r.header.Get("Content-Security-Policy"); csp != want {
		t.Errorf("Content-Security-Policy %q, want %q", csp, want)
	}
}

// With nil, the page shows ctxguard.Default as of each request.
func TestNilIsDefault(t *testing.T) {
	old := ctxguard.Default()
	defer ctxguard.SetDefault(old)
	srv := httptest.NewServer(ctxdebug.Handler(nil))
	defer srv.Close()

	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	ctxguard.SetDefault(m)
	get(t, srv.URL) // the handler now observes m
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := ctxguard.WithCancel(ctxguard.WithScope(ctxguard.Background(), "nightly"))
	cancel()
	spawn.Go(ctx, func(ctxguard.Context) { blockA(release) }, spawn.WithName("job"))
	waitFor(t, "the page to show the Default Monitor's lag with its cause", func() bool {
		p := getJSON(t, srv.URL+"?format=json")
		return len(p.Goroutines) > 0 && p.Goroutines[0].Scope == "nightly" && p.Goroutines[0].Lagging == 1 &&
			len(p.Goroutines[0].Causes) == 1 && p.Goroutines[0].Causes[0].Cause == "context canceled"
	})
}

// Whatever the program does, the page stays bounded: here 10,000 entries
// (distinct names), all lagging, a Blocked and a LagStart event each.
func TestSizeIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 goroutines")
	}
	const n = 10_000
	m := ctxguard.New(ctxguard.Config{Grace: time.Millisecond, MaxSites: 2 * n, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	page := httptest.NewServer(ctxdebug.Handler(m))
	defer page.Close()
	release := make(chan struct{})
	ctx, cancel := ctxguard.WithCancel(ctxguard.WithScope(ctxguard.WithMonitor(ctxguard.Background(), m), "batch"))
	for i := range n {
		spawn.Go(ctx, func(ctxguard.Context) { blockA(release) }, spawn.WithName(fmt.Sprintf("worker-%05d", i)))
	}
	cancel() // all at once, so that one stack capture finds them all
	defer func() {
		close(release)
		waitFor(t, "the goroutines to return", func() bool { return m.Snapshot().Live == 0 })
	}()
	var p ctxdebug.Page
	waitFor(t, "all of them to lag, captured", func() bool {
		s := m.Snapshot()
		if s.Lagging != n {
			return false
		}
		for _, g := range s.Goroutines {
			if len(g.BlockedAt) == 0 {
				return false
			}
		}
		p = getJSON(t, page.URL+"?format=json")
		return p.Totals.Lagging == n
	})
	if len(p.Goroutines) != ctxdebug.DefaultMaxSites || p.GoroutinesOmitted != n-ctxdebug.DefaultMaxSites ||
		p.OmittedLagging != n-ctxdebug.DefaultMaxSites || p.OmittedLive != n-ctxdebug.DefaultMaxSites {
		t.Errorf("JSON lists %d entries, %d omitted (%d lagging, %d live); want %d and %d",
			len(p.Goroutines), p.GoroutinesOmitted, p.OmittedLagging, p.OmittedLive, ctxdebug.DefaultMaxSites, n-ctxdebug.DefaultMaxSites)
	}
	if len(p.Events) > ctxdebug.DefaultMaxEvents {
		t.Errorf("%d events kept, want at most %d", len(p.Events), ctxdebug.DefaultMaxEvents)
	}
	r := get(t, page.URL)
	if rows := tableRows(t, r.body, "lagging"); len(rows) != ctxdebug.DefaultMaxSites {
		t.Errorf("the HTML lists %d lagging entries, want %d", len(rows), ctxdebug.DefaultMaxSites)
	}
	if !strings.Contains(r.body, "9,900 more entries (9,900 lagging, 9,900 live goroutines)") {
		t.Error("the HTML does not say how many entries it left out")
	}
	const maxBytes = 512 << 10
	if len(r.body) > maxBytes {
		t.Errorf("the HTML page takes %d bytes, want at most %d", len(r.body), maxBytes)
	}
	t.Logf("HTML %d bytes", len(r.body))
}

func TestDroppedCancelSitesAreBounded(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{CancelSampleRate: 1, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	page := httptest.NewServer(ctxdebug.Handler(m, ctxdebug.WithMaxSites(1)))
	defer page.Close()
	root := ctxguard.WithMonitor(ctxguard.Background(), m)
	for range 3 {
		_, _ = ctxguard.WithCancel(root) //ctxvet:ignore lostcancel dropped on purpose, as this test counts
	}
	_, _ = ctxguard.WithTimeout(root, time.Hour) //ctxvet:ignore lostcancel dropped on purpose, as this test counts
	var p ctxdebug.Page
	waitFor(t, "the four drops to be counted", func() bool {
		runtime.GC() // drops are found when the garbage collector frees them
		p = getJSON(t, page.URL+"?format=json")
		return p.Totals.DroppedCancels == 4
	})
	if len(p.DroppedCancelSites) != 1 || p.DroppedCancelSites[0].Count != 3 || p.DroppedCancelSitesOmitted != 1 {
		t.Errorf("dropped cancel sites %+v, %d omitted; want the site of 3 drops and 1 omitted", p.DroppedCancelSites, p.DroppedCancelSitesOmitted)
	}
	if rows := tableRows(t, get(t, page.URL).body, "dropped"); len(rows) != 1 || rows[0][0] != "3" || !strings.HasPrefix(rows[0][1], thisFile+":") {
		t.Errorf("HTML rows of dropped cancels %q", rows)
	}
}

// The handler starts no goroutine of its own: once the Monitor has no
// work left, none of it remains.
func TestNoGoroutineLeft(t *testing.T) {
	defer leakcheck.Check(t)()
	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	page := httptest.NewServer(ctxdebug.Handler(m))
	release := make(chan struct{})
	ctx, cancel := ctxguard.WithCancel(ctxguard.WithMonitor(ctxguard.Background(), m))
	cancel()
	spawn.Go(ctx, func(ctxguard.Context) { blockA(release) })
	waitFor(t, "the lag to be seen", func() bool {
		p := getJSON(t, page.URL+"?format=json")
		return len(p.Goroutines) == 1 && len(p.Goroutines[0].BlockedAt) == 1 && p.Goroutines[0].OldestEnded != nil
	})
	close(release)
	waitFor(t, "its late exit to be seen", func() bool {
		for _, e := range getJSON(t, page.URL+"?format=json").Events {
			if e.Kind == "LateExit" {
				return true
			}
		}
		return false
	})
	get(t, page.URL)
	page.Close()
	http.DefaultClient.CloseIdleConnections()
	// The Monitor is left open: its goroutines return when it has no work.
}

type response struct {
	code   int
	header http.Header
	body   string
}

func get(t *testing.T, url string) response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func getJSON(t *testing.T, url string) ctxdebug.Page {
	t.Helper()
	r := get(t, url)
	if r.code != 200 {
		t.Fatalf("GET %s: %d\n%s", url, r.code, r.body)
	}
	var p ctxdebug.Page
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatalf("GET %s: %v\n%s", url, err, r.body)
	}
	return p
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline: capturing the stacks of 10,000 lagging goroutines took up to
// 26 s under the race detector on 2 busy cores.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	tagRE   = regexp.MustCompile(`<[^>]*>`)
	spaceRE = regexp.MustCompile(`\s+`)
)

// tableRows returns the text of each cell of each body row of the table
// with id, tags stripped, entities decoded and spaces collapsed.
func tableRows(t *testing.T, body, id string) [][]string {
	t.Helper()
	start := strings.Index(body, `<table id="`+id+`">`)
	if start < 0 {
		t.Fatalf("no table %s in the page", id)
	}
	table := body[start:]
	table = table[:strings.Index(table, "</table>")]
	table = table[strings.Index(table, "<tbody>"):]
	var rows [][]string
	for _, tr := range strings.Split(table, "<tr")[1:] {
		var cells []string
		for _, td := range strings.Split(tr, "<td")[1:] {
			td = strings.ReplaceAll(td[strings.Index(td, ">")+1:], "<wbr>", "")
			text := html.UnescapeString(tagRE.ReplaceAllString(td, " "))
			cells = append(cells, strings.TrimSpace(spaceRE.ReplaceAllString(text, " ")))
		}
		rows = append(rows, cells)
	}
	return rows
}

// A page mounted after the lag began says when the contexts ended and why,
// from the Monitor, although it observed no LagStart event.
func TestPageMountedAfterTheLag(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{Grace: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	ctx, cancel := ctxguard.WithCancelCause(ctxguard.WithScope(ctxguard.WithMonitor(ctxguard.Background(), m), "late"))
	release := make(chan struct{})
	for range 3 {
		spawn.Go(ctx, func(ctxguard.Context) { <-release }, spawn.WithName("stuck"))
	}
	before := time.Now()
	cancel(errors.New("client went away"))
	defer func() {
		close(release)
		waitFor(t, "the goroutines to return", func() bool { return m.Snapshot().Live == 0 })
	}()
	waitFor(t, "the goroutines to lag", func() bool { return m.Snapshot().Lagging == 3 })

	srv := httptest.NewServer(ctxdebug.Handler(m)) // mounted now
	defer srv.Close()
	p := getJSON(t, srv.URL+"?format=json")
	var e *ctxdebug.Entry
	for i := range p.Goroutines {
		if p.Goroutines[i].Name == "stuck" {
			e = &p.Goroutines[i]
		}
	}
	if e == nil {
		t.Fatalf("no entry stuck in %+v", p.Goroutines)
	}
	if len(e.Causes) != 1 || e.Causes[0] != (ctxdebug.CauseCount{Cause: "client went away", Count: 3}) {
		t.Errorf("causes %+v, want client went away x3", e.Causes)
	}
	if e.OldestEnded == nil || e.OldestEnded.Before(before.Add(-time.Second)) || e.OldestEnded.After(p.Time) || e.LaggingForSeconds <= 0 {
		t.Errorf("oldest ended %v, lagging for %vs; want about %v", e.OldestEnded, e.LaggingForSeconds, before)
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
