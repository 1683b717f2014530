package httpguard

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
)

func ok(http.ResponseWriter, *http.Request) {}

// A wrapped ServeMux gives every request a route from the patterns it has
// registered, or the method: never a string the client chose, whatever
// path of ServeMux the request takes.
func TestRoutesNeverComeFromTheClient(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/items/{id}/", ok)
	mux.HandleFunc("/tree/", ok)
	mux.HandleFunc("POST /orders", ok)
	mux.HandleFunc("example.com/hosted", ok)
	mux.Handle("/old", http.RedirectHandler("/new", http.StatusMovedPermanently))
	g := newHandler(mux, newConfig(nil))
	for _, c := range []struct {
		name, method, target, host, want string
	}{
		{"registered pattern", "GET", "/items/7/", "", "/items/{id}/"},
		{"trailing-slash redirect", "GET", "/tree", "", "GET"},
		{"trailing-slash redirect, wildcard", "GET", "/items/7", "", "GET"},
		{"cleaned-path redirect", "GET", "/tree/../tree/x", "", "GET"},
		{"CONNECT trailing-slash redirect", "CONNECT", "/items/123456", "", "CONNECT"},
		{"CONNECT to a subtree", "CONNECT", "/tree/x", "", "/tree/"},
		{"not found", "GET", "/nowhere", "", "GET"},
		{"method not allowed", "DELETE", "/orders", "", "DELETE"},
		{"host pattern", "GET", "/hosted", "example.com", "example.com/hosted"},
		{"host pattern, other host", "GET", "/hosted", "evil.example", "GET"},
		{"a redirect route", "GET", "/old", "", "GET"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, c.target, nil)
			if c.method == "CONNECT" {
				r.URL.Path = c.target // as the server parses "CONNECT /path HTTP/1.1"
			}
			if c.host != "" {
				r.Host = c.host
			}
			if got, _, _ := g.route(r); got != c.want {
				t.Errorf("%s %s (host %q): route %q, want %q", c.method, c.target, c.host, got, c.want)
			}
		})
	}
}

// Over real connections, CONNECT requests to paths the mux redirects get
// the redirect, and the route stays the method. Each request has a
// connection of its own: from Go 1.27 the server closes a connection after
// any CONNECT response, a refused one too (Go 1.26 kept it open after a
// redirect).
func TestConnectRedirectsOverLoopback(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/items/{id}/", ok)
	var (
		mu     sync.Mutex
		routes []string
	)
	g := newHandler(mux, newConfig(nil))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, _, _ := g.route(r)
		mu.Lock()
		routes = append(routes, route)
		mu.Unlock()
		g.ServeHTTP(w, r)
	}))
	defer srv.Close()
	for i := range 20 {
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "CONNECT /items/%d HTTP/1.1\r\nHost: %s\r\n\r\n", i, srv.Listener.Addr())
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != http.StatusTemporaryRedirect {
			t.Fatalf("CONNECT /items/%d: %s, want a redirect", i, resp.Status)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range routes {
		if r != "CONNECT" {
			t.Fatalf("routes %q, want CONNECT for each", routes)
		}
	}
	if len(routes) != 20 {
		t.Errorf("%d requests routed, want 20", len(routes))
	}
}

// entryOf gives a HandlerFunc's site as reflect sees the func, one past its
// entry.
func TestEntryOfHandlerFunc(t *testing.T) {
	for name, f := range map[string]http.HandlerFunc{
		"func":    ok,
		"closure": func(w http.ResponseWriter, r *http.Request) { ok(w, r) },
	} {
		if got, want := entryOf(f), reflect.ValueOf(f).Pointer()+1; got != want {
			t.Errorf("%s: entryOf %#x, want %#x", name, got, want)
		}
	}
}
