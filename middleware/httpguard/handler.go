package httpguard

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/cowmap"
	"github.com/ctxguard/ctxguard/internal/track"
)

// Handler returns h with each request scoped to its route and tracked
// against its context (see the package documentation).
//
// The route is, in order: the name WithRouteFunc gives, if any; the
// request's ServeMux pattern (r.Pattern), when the middleware sits inside a
// ServeMux route; the pattern h would serve the request with, when h is a
// *http.ServeMux and that handler is not a redirect; otherwise the request
// method, "OTHER" for a method outside the standard ones. A route never
// comes from the request's path: unmatched requests (404, 405) and
// redirects get the method.
//
// A request is tracked once, by the first of httpguard's handlers it
// reaches: one nested under another, directly or through handlers that
// pass the request's context on unchanged (http.StripPrefix does), serves
// it untracked. Through a handler that derives a new context
// (http.TimeoutHandler), both track it. It panics if h is nil, or is
// already httpguard's (a Handler, or a ServeMux, which tracks its routes
// itself).
func Handler(h http.Handler, opts ...Option) http.Handler {
	checkNext("Handler called with", h)
	return newHandler(h, newConfig(opts))
}

// Middleware returns Handler in the form routers take:
// router.Use(httpguard.Middleware()).
func Middleware(opts ...Option) func(http.Handler) http.Handler {
	cfg := newConfig(opts)
	return func(h http.Handler) http.Handler {
		checkNext("Middleware applied to", h)
		return newHandler(h, cfg)
	}
}

// checkNext panics if h cannot be wrapped: nil, or httpguard's already,
// whose options would be silently overridden.
func checkNext(what string, h http.Handler) {
	switch h.(type) {
	case nil:
		panic("httpguard: " + what + " a nil http.Handler")
	case *handler:
		panic("httpguard: " + what + " a handler httpguard already tracks")
	case *ServeMux:
		panic("httpguard: " + what + " an httpguard.ServeMux, which tracks its routes itself: pass the options to NewServeMux")
	}
}

func newHandler(h http.Handler, cfg config) *handler {
	g := &handler{next: h, cfg: cfg}
	g.mux, _ = h.(*http.ServeMux)
	if g.mux == nil && h != nil {
		g.entry = entryOf(h)
	}
	return g
}

type handler struct {
	next    http.Handler
	mux     *http.ServeMux // next, if it is one
	pattern string         // the pattern a ServeMux registered it under, if any
	cfg     config
	sites   cowmap.Map[uintptr, *site] // by site pc
	// When next is not a ServeMux it serves every request: entry is its
	// site pc, worked out once, and only its site, once built, so that a
	// request needs no lookup by pc.
	entry uintptr
	only  atomic.Pointer[site]
}

// A site is what serving requests with one handler function or type
// needs, built on its first request: its tracking options, and the scope
// of the route and Monitor of that request, which the next requests to
// that handler reuse when theirs are the same (one handler per route, the
// usual case), instead of looking the scope up by name.
type site struct {
	opts  track.Options
	route string
	mon   *ctxguard.Monitor // the Monitor scope counts in
	scope track.Scope
}

// site returns the site of requests served by h, whose site pc is pc; a
// new one names route's scope in mon.
func (g *handler) site(pc uintptr, h http.Handler, route string, mon *ctxguard.Monitor) *site {
	if s, ok := g.sites.Load(pc); ok {
		return s
	}
	opts := track.Options{Func: h, Grace: g.cfg.grace}
	if _, ok := h.(http.HandlerFunc); ok {
		// Named by its code pointer, the entry pc is one past: read once
		// here instead of through reflect on every request.
		opts = track.Options{FuncPC: pc - 1, Grace: g.cfg.grace}
	}
	s, _ := g.sites.LoadOrStore(pc, &site{opts: opts, route: route, mon: mon, scope: track.ScopeOf(nil, mon, route)}, 0)
	return s
}

// siteOf returns the site pc and site of a request served by h, whose
// route is route in mon.
func (g *handler) siteOf(h http.Handler, route string, mon *ctxguard.Monitor) (uintptr, *site) {
	if g.mux != nil {
		pc := entryOf(h)
		return pc, g.site(pc, h, route, mon)
	}
	s := g.only.Load()
	if s == nil {
		s = g.site(g.entry, h, route, mon)
		g.only.Store(s)
	}
	return g.entry, s
}

// scopeOf returns the scope of route in mon for a request served at s.
func (s *site) scopeOf(route string, mon *ctxguard.Monitor) track.Scope {
	if route == s.route && mon == s.mon {
		return s.scope
	}
	return track.ScopeOf(nil, mon, route)
}

func (g *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if track.Entered(r.Context()) {
		g.next.ServeHTTP(w, r) // tracked by the httpguard handler it came through
		return
	}
	route, pattern, served := g.route(r)
	mon := g.cfg.monitor
	if mon == nil {
		mon = track.MonitorOf(r.Context()).(*ctxguard.Monitor)
	}
	pc, s := g.siteOf(served, route, mon)
	scope := s.scopeOf(route, mon)
	if limit := g.cfg.limit; limit > 0 {
		if scope.Lagging() >= int64(limit) {
			shed(w, scope.Shed(limit, g.cfg.grace), limit)
			return
		}
		scope.Admitted(limit)
	}
	ctx, region := track.EnterScope(r.Context(), scope, pc, &s.opts)
	returned := false
	defer track.Finish(region, &returned) // a panic is counted, then goes on to net/http
	next, r := g.next, r.WithContext(ctx)
	if servesDirectly(r, pattern) {
		next = served
		r.Pattern = pattern
	}
	region.Run(serve, next, w, r)
	returned = true
}

// serve is how ServeHTTP calls the next handler through its region.
func serve(h, w, r any) (any, error) {
	h.(http.Handler).ServeHTTP(w.(http.ResponseWriter), r.(*http.Request))
	return nil, nil
}

// route names r's route and returns the handler that will serve it, as far
// as the middleware can tell, with the pattern its ServeMux serves it with
// ("" if the middleware does not wrap a ServeMux, or the mux redirects).
func (g *handler) route(r *http.Request) (route, pattern string, served http.Handler) {
	served = g.next
	if g.mux != nil {
		served, pattern = g.mux.Handler(r)
		if isRedirect(served) {
			pattern = "" // for some redirects, a path the client chose
		}
		if g.cfg.routeFunc == nil && pattern != "" {
			return pattern, pattern, served
		}
	}
	switch {
	case g.cfg.routeFunc != nil:
		return g.cfg.routeFunc(r), pattern, served
	case g.pattern != "":
		return g.pattern, pattern, served
	case r.Pattern != "":
		return r.Pattern, pattern, served
	}
	return methodRoute(r.Method), pattern, served
}

// redirectType is the type of the handlers ServeMux redirects with.
var redirectType = reflect.TypeOf(http.RedirectHandler("/", http.StatusMovedPermanently))

// isRedirect reports whether h is a redirect handler. For some redirects
// (a CONNECT request to /tree when /tree/ is registered, and every redirect
// under GODEBUG=httpmuxgo121=1) ServeMux.Handler returns the path it
// redirects to as the pattern: a string the client chose, which must never
// become a scope, whose label values would then be unbounded. Every
// redirect, the mux's or one a route registers, gets the method route.
func isRedirect(h http.Handler) bool {
	return reflect.TypeOf(h) == redirectType
}

// methodRoute is the fallback route: the method, from a bounded set.
func methodRoute(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// entries caches, per handler type, the pc reported as the site of its
// requests: the entry of its ServeHTTP method, or of the func for a
// HandlerFunc. Handler types are bounded by the program's code.
var entries cowmap.Map[reflect.Type, uintptr]

// entryOf returns h's site pc, one past the function entry, since sites
// are read as return addresses.
func entryOf(h http.Handler) uintptr {
	if f, ok := h.(http.HandlerFunc); ok {
		// reflect.ValueOf(f).Pointer(), read directly: a func value points
		// to a closure object whose first word is the code pointer.
		return **(**uintptr)(unsafe.Pointer(&f)) + 1
	}
	t := reflect.TypeOf(h)
	if pc, ok := entries.Load(t); ok {
		return pc
	}
	var pc uintptr
	if m, ok := t.MethodByName("ServeHTTP"); ok {
		pc = m.Func.Pointer() + 1
	}
	entries.LoadOrStore(t, pc, 0)
	return pc
}

// An Option changes how Handler tracks requests.
type Option interface {
	apply(*config)
}

type config struct {
	routeFunc func(*http.Request) string
	monitor   *ctxguard.Monitor
	grace     time.Duration
	limit     int // 0: none
}

func newConfig(opts []Option) config {
	var cfg config
	for _, o := range opts {
		o.apply(&cfg)
	}
	return cfg
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithRouteFunc names each request's route with f, for routers other than
// ServeMux. f runs before the request is served, on every request; its
// results label statistics and metrics, so they must come from a bounded
// set (a route template, never the raw path). It panics if f is nil.
func WithRouteFunc(f func(*http.Request) string) Option {
	if f == nil {
		panic("httpguard: WithRouteFunc called with a nil func")
	}
	return optionFunc(func(c *config) { c.routeFunc = f })
}

// WithMonitor tracks requests with m instead of the Monitor the request
// context carries (by default, none: ctxguard.Default). It panics if m is
// nil.
func WithMonitor(m *ctxguard.Monitor) Option {
	if m == nil {
		panic("httpguard: WithMonitor called with a nil *ctxguard.Monitor")
	}
	ctxguard.WithMonitor(context.Background(), m) // panics, saying so, if m was not made by New
	return optionFunc(func(c *config) { c.monitor = m })
}

// WithLaggingLimit turns requests away from a route whose lagging count
// has reached n: the route's request handlers still running Grace after
// their request ended, plus the goroutines they spawned (spawn.Go under
// the request's context) still running Grace after it ended. Such a route
// only piles up more work with every request; load shedders that release
// their permit when the handler returns cannot see it.
//
// A request turned away gets 503 Service Unavailable with a short
// plain-text body and a Retry-After header, without calling the handler:
// one second if the route's lagging count has fallen since it started
// turning requests away (its stuck work is returning), else the handler's
// grace (WithGrace, else the Monitor's Config.Grace) in whole seconds,
// rounded up, at least a second.
// Other routes are untouched. The route takes requests again as soon as
// its lagging count is below n. Requests turned away are counted per
// route (ctxguard.Snapshot.Scopes, ctxprom's
// ctxguard_requests_shed_total) and logged: at once when a route starts
// and stops turning requests away, at most once per ReportInterval (the
// episodes of a route that keeps starting and stopping in between are
// logged together when the interval is out), and the count of requests
// turned away at most once per ReportInterval. Routes beyond the
// Monitor's MaxSites share one count, and so one limit.
//
// Cost per request: two atomic loads. It panics if n is not positive.
func WithLaggingLimit(n int) Option {
	if n <= 0 {
		panic(fmt.Sprintf("httpguard: WithLaggingLimit needs a positive limit, got %d", n))
	}
	return optionFunc(func(c *config) { c.limit = n })
}

// WithGrace sets how long a handler may keep running after its request
// context ended before it is lagging, instead of the Monitor's
// Config.Grace. Goroutines it spawns keep their own grace. It panics if d
// is not positive.
func WithGrace(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("httpguard: WithGrace needs a positive duration, got %v", d))
	}
	return optionFunc(func(c *config) { c.grace = d })
}

// shed answers a request turned away by WithLaggingLimit.
func shed(w http.ResponseWriter, retryAfter time.Duration, limit int) {
	h := w.Header()
	// Rounded up: a client told to come back before the grace is out finds
	// the route still turning requests away.
	h.Set("Retry-After", strconv.Itoa(int((retryAfter+time.Second-1)/time.Second)))
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprintf(w, "503 service unavailable: %d or more requests to this route are still running after they ended; try again later\n", limit)
}
