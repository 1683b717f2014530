// Package ctxprom exports what a ctxguard Monitor observes as Prometheus
// metrics.
//
// [NewCollector] returns a prometheus.Collector for the application to
// register; importing the package registers nothing anywhere:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(ctxprom.NewCollector(nil)) // nil: ctxguard.Default()
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// # Metrics
//
// Goroutines tracked by package spawn, by goroutine name (spawn.WithName,
// else the function's name) and scope (ctxguard.WithScope, "" if none):
//
//	ctxguard_goroutines_live{name,scope}              gauge
//	ctxguard_goroutines_lagging{name,scope}           gauge
//	ctxguard_goroutines_lagged_total{name,scope}      counter
//	ctxguard_goroutines_leaked{name,scope}            gauge
//	ctxguard_goroutine_exit_delay_seconds{name,scope} histogram, 50ms to 1h
//	ctxguard_goroutine_panics_total{name,scope}       counter
//	ctxguard_goroutines_spawned_total                 counter
//
// Lagging and leaked say different things. A lagging goroutine is still
// running Config.Grace after its context ended: it may yet return (the
// exit-delay histogram counts those that did). A leaked one can never
// return: Go's goroutine leak profile proved it is blocked on a channel or
// lock nothing reachable can signal. The Monitor runs that profile on a Go
// release that has it (Go 1.27 and later, Go 1.26 built with
// GOEXPERIMENT=goroutineleakprofile; see ctxguard.LeakProfileAvailable)
// when there is something to prove, and the leaked gauge is the count of
// its last check, lagging goroutines or not (a goroutine whose context
// never ends can leak too). Without the profile it is always 0, and
//
//	ctxguard_leak_check_timestamp_seconds  gauge, when the last check ran
//
// is absent, which tells "none leaked" from "not checked".
//
// Goroutines ctxguard does not track, with Config.WatchUntracked: the
// groups of them that started with the same function and are blocked at
// the same place, as the Monitor last listed them (Snapshot.Untracked: at
// least Config.UntrackedMin goroutines, or some proven leaked):
//
//	ctxguard_goroutines_untracked{start,blocked_at}         gauge
//	ctxguard_goroutines_untracked_leaked{start,blocked_at}  gauge
//
// start is the function the goroutines started with, as a goroutine dump
// names it ("main.serve.func1"); blocked_at the "file:line" where they are
// blocked. Groups with one label pair (blocked at one line for two
// reasons) are summed. The untracked goroutines of groups beyond
// Config.MaxSites are counted under start "(other sites)", blocked_at ""
// (their leaked ones are not exported). Both families are absent until
// the Monitor has looked, so always without Config.WatchUntracked.
//
// Cancel funcs, tracked one in ctxguard_cancel_sample_rate (multiply the
// counters by it for estimates of all cancel funcs):
//
//	ctxguard_cancels_dropped_total{site}  counter, site is "file:line"
//	ctxguard_cancels_tracked_total        counter
//	ctxguard_cancel_sample_rate           gauge
//
// The Monitor's event delivery to observers (such as tracing exporters),
// its log records, and user code it contained:
//
//	ctxguard_events_dropped_total       counter
//	ctxguard_observer_panics_total      counter
//	ctxguard_log_records_dropped_total  counter
//	ctxguard_logger_panics_total        counter
//	ctxguard_context_panics_total       counter
//
// Requests turned away by middleware with a lagging limit:
//
//	ctxguard_requests_shed_total{scope}  counter
//
// # Label values
//
// Names, scopes and sites come from the program's code and route patterns,
// and they are bounded. The Monitor keeps at most Config.MaxSites entries
// and sums the rest into one named [ctxguard.OverflowName],
// "(other sites)": the site label takes at most MaxSites+1 values. Which
// goroutine names get their own Snapshot entry can change from one
// Snapshot to the next (live-only ones are ranked by how many are live),
// so the collector keeps its own series table: entries of one name and
// scope are summed over spawn sites into one series; the first
// [WithMaxSeries] (name, scope) pairs seen keep their own series for the
// collector's lifetime, and later ones are summed into name
// "(other sites)", scope "". A goroutine metric therefore has at most
// WithMaxSeries+1 series (default ctxguard.DefaultMaxSites+1), no count is
// lost in folding, and a series, once exported, stays (at zero when its
// goroutines are gone), so counters never go down.
//
// The untracked groups' labels name places in the program's code, so they
// are bounded by it, and per scrape by Config.MaxSites+1 series; a group
// is only listed once it holds Config.UntrackedMin goroutines (default
// 100) or leaked ones, so a program whose goroutines do not pile up
// exports few or none. A group's series disappears when the Monitor stops
// listing it: these are gauges of what is there now.
//
// # Cost
//
// Nothing is done for Prometheus while the program runs: the Monitor keeps
// its counts whether or not anything exports them. Each scrape takes one
// Monitor.Snapshot, a pass over the live tracked goroutines under their
// shard locks, and builds constant metrics from it: for 1,000 live
// goroutines under 10 names, 0.15 to 0.3 ms and about 1,000 allocations,
// half or more of the time in the Snapshot (BenchmarkCollect, 2 CPUs).
// Scrapes may run concurrently.
package ctxprom
