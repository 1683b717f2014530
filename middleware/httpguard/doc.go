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
// Or, for a ServeMux, in its place: [NewServeMux] wraps each handler as
// it is registered, so the mux routes each request once.
//
//	mux := httpguard.NewServeMux()
//	mux.HandleFunc("GET /items/{id}", getItem)
//	http.ListenAndServe(addr, mux)
//
// Cost per request: one context that is also the handler's tracked record,
// and a shallow copy of the request (r.WithContext), 2 allocations; around
// a ServeMux, also a route lookup before serving. Counted with valgrind's
// cachegrind (go run ./bench/cmd/compare) on a wildcard route, ServeHTTP
// takes about 1,600 instructions more than the bare mux on httpguard's
// ServeMux (or with Handler inside each route, mux.Handle(pattern,
// httpguard.Handler(h))), and about 3,400 more with Handler around the mux
// (5,700 against 2,300), of which some 1,400 are the second routing and
// 1,000 a third allocation and the collector's work on it; timed, that is
// about 0.5% and 1.0% of a whole loopback HTTP/1.1 request to the bare mux
// (some 30 µs, BenchmarkMiddleware). Around the mux, a request whose
// pattern has no wildcards is served with the handler the lookup found
// (3,400 instructions against 1,510); one with wildcards, or one an outer
// ServeMux has routed already, goes back through the mux, which routes it a
// second time, since only the mux can set its path values without
// allocating a map for them.
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
