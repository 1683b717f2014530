package httpguard

import (
	"net/http"
	"net/url"
	"strings"
)

// Serving the mux's handler directly.
//
// To name a request's route before it is served, the middleware asks the
// ServeMux it wraps which handler and pattern the request gets
// (ServeMux.Handler). Handing the request back to the mux would then route
// it a second time: path cleaning, escaping and the routing tree, about
// 1,400 instructions a request. For a pattern without wildcards the
// middleware serves the handler it was given instead, and sets on the
// request what the mux's ServeHTTP would have: Request.Pattern (there are
// no path values).
//
// A request an outer ServeMux has routed already (its Pattern is set) is
// left to the mux: that mux also set the path values it matched, which
// the request's copy keeps and only the inner mux's routing replaces.
//
// A pattern with wildcards is left to the mux: its path values can only be
// set from outside net/http with Request.SetPathValue, which allocates a
// map for them and costs more than the second lookup saves. So is what the
// mux treats specially: redirects, "*" requests, unmatched requests, and
// every request under GODEBUG=httpmuxgo121=1, whose mux sets no Pattern.
// TestServedAsTheMuxServes checks, over loopback on both Go releases, that
// handlers see the same Pattern and path values either way.

// servesDirectly reports whether the middleware can serve r with the
// handler its ServeMux gave for pattern ("" for none, or a redirect),
// rather than through the mux.
func servesDirectly(r *http.Request, pattern string) bool {
	return muxSetsPattern && pattern != "" && r.Pattern == "" && strings.IndexByte(pattern, '{') < 0 &&
		r.RequestURI != "*"
}

// muxSetsPattern is false under GODEBUG=httpmuxgo121=1, whose ServeMux
// knows no wildcards and sets no Request.Pattern: a pattern with a
// wildcard then matches only itself.
var muxSetsPattern = func() bool {
	mux := http.NewServeMux()
	mux.HandleFunc("/{x}", func(http.ResponseWriter, *http.Request) {})
	_, pattern := mux.Handler(&http.Request{Method: "GET", URL: &url.URL{Path: "/a"}, Host: "a"})
	return pattern == "/{x}"
}()
