// Package httpguard is net/http middleware that attributes what ctxguard
// finds to the route a request came in on.
//
// Installed around a handler, usually a whole [http.ServeMux]:
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /items/{id}", getItem)
//	http.ListenAndServe(addr, httpguard.Handler(mux))
//
// each request's context carries its route as the ctxguard scope, so
// goroutines started with spawn.Go(r.Context(), ...) are reported with it;
// and the handler itself is tracked against the request context, so a
// handler still running Grace after its request ended (the client went
// away, a deadline passed, the server shut down) is lagging too, under its
// route. Routes are bounded label values: a ServeMux pattern, a name from
// [WithRouteFunc], or the request method, never the raw path.
//
// The response is not touched: the ResponseWriter is passed through as it
// is, so http.Flusher, http.Hijacker, http.ResponseController, status and
// headers behave as without the middleware, and panics (http.ErrAbortHandler
// included) propagate unchanged.
//
// Cost per request: a route lookup when wrapping a ServeMux (the mux routes
// twice: once to name the route, once to serve), a context value and a
// shallow copy of the request (r.WithContext), and one tracked record; see
// BenchmarkMiddleware for the figures against a loopback request.
package httpguard
