// Package ctxdebug serves a live page of the goroutines that outlived their
// context: how many lag now, by route (scope), name and spawn site, since
// when and why, and where they are blocked; the dropped cancel funcs by
// site; the recent events; and a chart of live and lagging goroutines over
// the last minutes. It is to ctxguard what /debug/pprof is to the runtime,
// but it lists only the goroutines that should have stopped.
//
// The lagging goroutines are listed by route (scope), name and spawn site,
// worst first, each with its count, how long ago the oldest one's context
// ended, the cause, and where they are blocked (each location expands to
// its frames); then the dropped cancel funcs by site, the recent events
// (LagStart, LateExit, DroppedCancel, Panic, Blocked), and the chart, drawn
// on the server as SVG. go run ./examples/leakdemo -serve (from a checkout
// of the repository) mounts it and prints its URL; docs/debugpage.png
// there is a picture of that page.
//
// Goroutines the Monitor's leak check proved can never return (see
// ctxguard.LeakProfileAvailable) are marked so, apart from lagging ones,
// which may yet return; the page says when this Go release has no leak
// profile. With the Monitor's Config.WatchUntracked, it also lists the
// groups of untracked goroutines piling up at one place.
//
// Nothing is registered on import. Mount [Handler] where you like, such as
// under /debug/ctxguard/ next to /debug/pprof/:
//
//	mux.Handle("/debug/ctxguard/", http.StripPrefix("/debug/ctxguard", ctxdebug.Handler(m)))
//
// or at a path of your own, as it is (the page's links are relative to the
// URL it is served at, so any path works):
//
//	mux.Handle("GET /admin/leaks", ctxdebug.Handler(nil)) // nil: ctxguard.Default
//
// The same data is served as JSON at ?format=json (see [Page] for its
// fields). ?scope= and ?name= filter the goroutines and events listed, and
// ?refresh=5 reloads the page every five seconds.
//
// # Safety
//
// By default only clients on loopback addresses get the page, and not
// through a proxy (a request from loopback with a Forwarded,
// X-Forwarded-For or X-Real-IP header came through one on the same host),
// and only for a Host that names loopback (localhost or a loopback
// address: a web page that points its own name at 127.0.0.1, DNS
// rebinding, cannot read it); others get 403 Forbidden ([WithAuth] decides
// otherwise). Responses carry
// X-Content-Type-Options: nosniff and are not cached; the HTML page has no
// script, loads nothing from elsewhere, and its Content-Security-Policy
// allows nothing but its own style sheet. Every string from the program
// (names, scopes, sites, causes, panic values) is escaped by html/template.
// The page is bounded whatever the program does: at most [DefaultMaxSites]
// entries and dropped-cancel sites ([WithMaxSites]), eight blocking
// locations per entry and 32 frames per location, [DefaultMaxEvents]
// recent events ([WithMaxEvents]), and a chart of [ChartWindow].
//
// # Cost
//
// The handler starts no goroutine, so goleak-style checks pass once the
// Monitor has no work left. It observes the Monitor's events
// ([ctxguard.Monitor.Observe]) on the Monitor's observer goroutine, which
// runs only while events wait, and keeps a bounded record of them; it
// takes a sample of the totals when the page is served and when events
// arrive, at most once a second and not again within 100 times the last
// Snapshot's duration. Serving the page costs one ctxguard.Monitor.Snapshot
// plus the rendering of a page of bounded size.
// BenchmarkPage serves it with 100,000 live goroutines in 100 entries, 1,000
// of them lagging with their stacks captured: the HTML page (150 KB) took
// 11 to 22 ms a request, the JSON (200 KB) 3.5 to 6.5 ms, over several runs
// on 2 shared cores. The Snapshot takes 0.3 ms of that; the rest is the
// template's reflection and the garbage collection its allocations cause
// (with 100,000 goroutine stacks to scan).
package ctxdebug
