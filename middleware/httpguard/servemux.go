package httpguard

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
)

// ServeMux is an [http.ServeMux] that tracks each request as [Handler]
// does, wrapping every handler when it is registered instead of the whole
// mux: the mux routes each request once, and the handler it picks names
// the route with the pattern it was registered under. Where the program
// makes its mux with http.NewServeMux, httpguard.NewServeMux takes its
// place; code that takes a *http.ServeMux must take a *httpguard.ServeMux
// (or an interface with Handle and HandleFunc) instead.
//
// Wrapping a whole ServeMux, Handler must ask the mux for the route before
// the request is served, and for a pattern with wildcards hand the request
// back to the mux, which routes it again; a ServeMux routes once, for about
// half the instructions Handler adds (the package documentation has the
// figures).
//
// What differs from Handler(mux): requests the mux answers itself (not
// found, method not allowed, its redirects, and "*" requests) run no
// handler of the program and are not tracked, while Handler counts them
// under the method. Patterns, path values and Request.Pattern are the
// http.ServeMux's own, and so are registration panics, with the lines
// that registered the patterns of a conflict given as the program's
// rather than this package's.
//
// The zero value is a ServeMux without options. A ServeMux must not be
// copied after first use.
type ServeMux struct {
	mux http.ServeMux
	cfg config

	mu    sync.Mutex
	lines map[string]string // pattern: the line that registered it
}

// NewServeMux returns an empty ServeMux whose handlers are tracked with
// opts.
func NewServeMux(opts ...Option) *ServeMux {
	return &ServeMux{cfg: newConfig(opts)}
}

// Handle registers h for pattern, as http.ServeMux.Handle does, tracked:
// the route is pattern, unless WithRouteFunc names it or h is a
// *http.ServeMux, whose own pattern then names it (as with Handler). A
// handler httpguard tracks already (another ServeMux, a Handler) is
// registered as it is, and tracks its requests with its own options. It
// panics where http.ServeMux.Handle does, on a nil h too.
func (m *ServeMux) Handle(pattern string, h http.Handler) {
	m.handle(pattern, h)
}

// HandleFunc registers f for pattern, as Handle does.
func (m *ServeMux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	if f == nil {
		m.handle(pattern, nil)
		return
	}
	m.handle(pattern, http.HandlerFunc(f))
}

// handle registers h, wrapped, for pattern; called by Handle and
// HandleFunc, whose caller registered it.
func (m *ServeMux) handle(pattern string, h http.Handler) {
	_, file, line, _ := runtime.Caller(2)
	here := fmt.Sprintf("%s:%d", file, line)
	switch h.(type) {
	case nil, *ServeMux, *handler:
	default:
		g := newHandler(h, m.cfg)
		g.pattern = pattern
		h = g
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	defer func() {
		if v := recover(); v != nil {
			panic(m.relocated(v, pattern, here))
		}
	}()
	m.mux.Handle(pattern, h)
	if m.lines == nil {
		m.lines = make(map[string]string)
	}
	m.lines[pattern] = here
}

// relocated returns the panic value v of registering pattern at here,
// with the line the mux gives for each pattern it names (the line in this
// file that called it) replaced by the program's. m.mu is held.
func (m *ServeMux) relocated(v any, pattern, here string) any {
	err, ok := v.(error)
	if !ok {
		return v // the Go 1.21 mux's messages name no lines
	}
	_, file, _, _ := runtime.Caller(0)
	msg := err.Error()
	ours := "(registered at " + file + ":"
	if !strings.Contains(msg, ours) {
		return err
	}
	relocate := func(pattern, line string) {
		from := fmt.Sprintf("pattern %q %s", pattern, ours)
		if i := strings.Index(msg, from); i >= 0 {
			end := i + len(from) + strings.IndexByte(msg[i+len(from):], ')') + 1
			msg = msg[:i] + fmt.Sprintf("pattern %q (registered at %s)", pattern, line) + msg[end:]
		}
	}
	relocate(pattern, here)
	for p, line := range m.lines {
		relocate(p, line)
	}
	return errors.New(msg)
}

// Handler returns the handler to use for r and its pattern, as
// http.ServeMux.Handler does; a registered handler comes back wrapped.
func (m *ServeMux) Handler(r *http.Request) (h http.Handler, pattern string) {
	return m.mux.Handler(r)
}

// ServeHTTP routes r as http.ServeMux.ServeHTTP does.
func (m *ServeMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mux.ServeHTTP(w, r)
}
