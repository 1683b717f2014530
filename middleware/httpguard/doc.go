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
// Cost per request: a route lookup when wrapping a ServeMux, one context
// that is also the handler's tracked record, and a shallow copy of the
// request (r.WithContext): about 230 ns and 3 allocations around a
// ServeMux, 170 ns installed inside each route (mux.Handle(pattern,
// httpguard.Handler(h))), against some 24 µs for a whole loopback HTTP/1.1
// request to the bare mux (BenchmarkMiddleware). A request whose pattern
// has no wildcards is then served with the handler that lookup found; one
// with wildcards, or one an outer ServeMux has routed already, goes back
// through the mux, which routes it a second time, since only the mux can
// set its path values without allocating a map for them. Counted with valgrind's cachegrind (go run
// ./bench/cmd/compare), ServeHTTP around a one-route mux takes about 5,900
// instructions against 2,310 for the bare mux on a wildcard route (about
// 1,400 of those added are the second lookup, 1,000 the three allocations
// and the collector's work on them), and about 3,400 against 1,510 on a
// route without wildcards.
//
// Why the route is looked up before serving rather than read from
// r.Pattern, which ServeMux sets on the request it passes down: the
// handler's record is listed before the mux routes, with the route and the
// handler that names it (so that it is counted live and, if it lags,
// reported under them), and the mux sets Pattern only on its way into the
// handler, with no point in between where middleware runs. Read later, by
// the Monitor's goroutine, Pattern would be a data race with that write.
// Inside a route, where the mux has already set it, r.Pattern is what is
// read.
package httpguard
