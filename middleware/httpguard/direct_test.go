package httpguard_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
)

// A handler behind httpguard sees the same Request.Pattern and path values
// as behind the bare ServeMux, over loopback: around the mux, whether the
// middleware serves the mux's handler itself (a pattern it matched) or
// hands the request to the mux (redirects, unmatched requests); and
// registered on httpguard's ServeMux.
func TestServedAsTheMuxServes(t *testing.T) {
	patterns := map[string][]string{ // pattern: its wildcards
		"GET /items/{id}":                {"id"},
		"/users/{user}/posts/{post}":     {"user", "post"},
		"/files/{path...}":               {"path"},
		"/a/{x}/b/{rest...}":             {"x", "rest"},
		"POST /orders/{$}":               nil,
		"/tree/":                         nil,
		"/exact":                         nil,
		"/dir/{name}/":                   {"name"},
		"127.0.0.1/hosted/{h}":           {"h"},
		"GET 127.0.0.1/hosted/{h}/again": {"h"},
	}
	register := func(mux interface {
		HandleFunc(string, func(http.ResponseWriter, *http.Request))
	}) {
		for p, names := range patterns {
			mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
				var b strings.Builder
				fmt.Fprintf(&b, "pattern %q", r.Pattern)
				for _, n := range append(names, "absent") {
					fmt.Fprintf(&b, " %s=%q", n, r.PathValue(n))
				}
				io.WriteString(w, b.String())
			})
		}
	}
	m := ctxguard.New(ctxguard.Config{})
	defer m.Close()
	mux := http.NewServeMux()
	register(mux)
	gmux := httpguard.NewServeMux(httpguard.WithMonitor(m))
	register(gmux)
	bare := httptest.NewServer(mux)
	defer bare.Close()
	guarded := map[string]*httptest.Server{
		"Handler(mux)": httptest.NewServer(httpguard.Handler(mux, httpguard.WithMonitor(m))),
		"ServeMux":     httptest.NewServer(gmux),
	}
	for _, srv := range guarded {
		defer srv.Close()
	}
	for _, c := range []struct{ method, target, host string }{
		{"GET", "/items/42", ""},
		{"HEAD", "/items/42", ""},
		{"GET", "/items/a%2Fb", ""},
		{"GET", "/items/%E2%9C%93", ""},
		{"GET", "/items/42?q=1", ""},
		{"GET", "/items/", ""},
		{"GET", "/users/7/posts/9", ""},
		{"GET", "/users/a%20b/posts/%2F", ""},
		{"GET", "/files/a/b/c.txt", ""},
		{"GET", "/files/a%2Fb/c%20d", ""},
		{"GET", "/files/", ""},
		{"GET", "/files", ""},
		{"GET", "/a/1/b/2/3/4", ""},
		{"GET", "/a/1/b/", ""},
		{"POST", "/orders/", ""},
		{"POST", "/orders/7", ""},
		{"GET", "/orders/", ""},
		{"GET", "/tree/x/y", ""},
		{"GET", "/tree", ""},
		{"GET", "/exact", ""},
		{"GET", "/exact/", ""},
		{"GET", "/dir/n/", ""},
		{"GET", "/dir/n", ""},
		{"GET", "/dir/n/more", ""},
		{"GET", "/x/../items/5", ""},
		{"GET", "/hosted/9", "127.0.0.1"},
		{"GET", "/hosted/9/again", "127.0.0.1"},
		{"GET", "/hosted/9", "localhost"},
		{"GET", "/nowhere", ""},
	} {
		want := answer(t, c.method, bare.URL+c.target, c.host)
		for name, srv := range guarded {
			if got := answer(t, c.method, srv.URL+c.target, c.host); got != want {
				t.Errorf("%s %s (host %q):\n%s: %s\nbare: %s", c.method, c.target, c.host, name, got, want)
			}
		}
	}
}

// Under an outer ServeMux, which has set the request's Pattern and path
// values already, a handler behind httpguard sees what it sees behind the
// bare inner mux: the inner route's Pattern and path values only.
func TestServedAsTheMuxServesUnderAnOuterMux(t *testing.T) {
	inner := http.NewServeMux()
	for _, p := range []string{"/t/acme/items", "/t/{tenant}/x/{id}"} {
		inner.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "pattern %q tenant=%q id=%q", r.Pattern, r.PathValue("tenant"), r.PathValue("id"))
		})
	}
	m := ctxguard.New(ctxguard.Config{})
	defer m.Close()
	outer := func(h http.Handler) *httptest.Server {
		mux := http.NewServeMux()
		mux.Handle("/t/{tenant}/", h)
		return httptest.NewServer(mux)
	}
	bare := outer(inner)
	defer bare.Close()
	guarded := outer(httpguard.Handler(inner, httpguard.WithMonitor(m)))
	defer guarded.Close()
	for _, target := range []string{"/t/acme/items", "/t/acme/x/7", "/t/other/x/8", "/t/acme/nowhere"} {
		want := answer(t, "GET", bare.URL+target, "")
		if got := answer(t, "GET", guarded.URL+target, ""); got != want {
			t.Errorf("%s:\nguarded: %s\nbare:    %s", target, got, want)
		}
	}
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// answer returns what a client sees of method url, sent with Host host if
// it is not "": the status, the Location header and the body.
func answer(t *testing.T, method, url, host string) string {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
}
