// Package httpguard is net/http middleware that attributes what ctxguard
// finds to the route a request came in on.
//
// Installed around a handler, usually a whole [http.ServeMux]:
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /items/{id}", getItem)
//	http.ListenAndServe(addr, httpguard.Handler(mux))
//
// or, for a ServeMux, with httpguard's [ServeMux] in its place, which wraps
// each handler as it is registered and so routes each request once:
//
//	mux := httpguard.NewServeMux()
//	mux.HandleFunc("GET /items/{id}", getItem)
//	http.ListenAndServe(addr, mux)
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
// Cost per request: one context that is also the handler's tracked
// record, and a shallow copy of the request (r.WithContext), 2
// allocations. Around a ServeMux, Handler also asks the mux for the route
// before serving; a request to a pattern without wildcards is then served
// with the handler the mux named, but one to a pattern with wildcards, or
// one an outer ServeMux has routed already, goes back through the mux,
// which routes it a second time, since only the mux can set its path
// values without allocating a map for them. Counted with valgrind's
// cachegrind (go run ./bench/cmd/compare) on the wildcard route
// GET /items/{id}, where the bare mux takes about 2,300 instructions,
// httpguard's ServeMux adds about 1,600 (so does Handler inside each
// route, mux.Handle(pattern, httpguard.Handler(h)), counted once) and
// Handler around the mux about 3,500: some 1,400 more for the second
// routing and 1,000 for a third allocation, the path values of the first,
// and the collector's work on it. Timed in four full runs of the
// comparison, that was 0.65% to 1.09% (0.76%, 0.65%, 0.71%, 1.09%), and
// 1.0% to 1.5% (0.9% to 1.0% in earlier runs), of a whole loopback
// HTTP/1.1 request to the bare mux (32 to 38 µs; BenchmarkMiddleware has
// the same cases). On a route without wildcards
// Handler around the mux adds about 2,000 instructions to the bare mux's
// 1,500.
//
// Why the route is looked up before serving rather than read from
// r.Pattern, which ServeMux sets on the request it passes down: the
// handler's record is listed before the mux routes, with the route and the
// handler that names it (so that it is counted live and, if it lags,
// reported under them), and the mux sets Pattern only on its way into the
// handler, with no point in between where middleware runs. Read later, by
// the Monitor's goroutine, Pattern would be a data race with that write.
// Inside a route, where the mux has already set it, r.Pattern is what is
// read; on httpguard's ServeMux, the pattern the handler was registered
// under.
package httpguard
