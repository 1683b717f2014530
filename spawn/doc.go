// Package spawn starts goroutines that are tracked against their context:
// a goroutine still running Grace after its context is done is reported as
// lagging, with its name, spawn site, scope and the context's cause.
//
//	spawn.Go(r.Context(), func(ctx context.Context) {
//		select {
//		case <-ctx.Done(): // returns when the request ends: never lagging
//		case v := <-work:
//			use(v)
//		}
//	})
//
// [Group] is a drop-in for golang.org/x/sync/errgroup whose goroutines are
// tracked the same way.
//
// # Cost
//
// The physical limit is a go statement. Beyond it, Go spends: one
// allocation of 112 bytes (the record that registers the goroutine: its
// context, its function until the goroutine starts, the key of its spawn
// site, scope and name, and the label set it runs with, see below); one
// ctx.Value lookup to find the Monitor and
// scope, and ctx.Done(); a random shard pick and an uncontended
// lock/unlock to list the record; a compare-and-swap to push it on its
// shard's stack of records not yet started, and one as the new goroutine
// pops it (a go statement with no arguments allocates no closure, so the
// record is handed over through its shard); two loads and a store of the
// goroutine's profiler label pointer; a lock/unlock to unlist it on exit;
// a deferred call to notice panics; and reading the caller's pc
// from its frame pointer. Names, sites and statistics are worked out only
// when a goroutine lags, exits late or panics, or when a Snapshot is
// taken.
//
// Measured (go run ./bench/cmd/compare, 2 cores, ratios within one run;
// bench/RESULTS.md has the runs): about 1.4x-1.5x a go statement plus
// sync.WaitGroup started from one goroutine, about 1x from two in
// parallel, with 2 allocations against 1. On one thread, counted with
// valgrind's cachegrind, a spawn and its goroutine's run and exit take
// about 3,800 instructions against 2,600-2,780: the ratio is in the work
// itself (the record's allocation, listing and unlisting it, the context
// lookups, the hand-over), not only in cache lines moving between cores.
//
// A goroutine whose context is still live costs no periodic work: the
// Monitor's background goroutine looks at each new record's context once,
// at its first scan after the spawn (four times a second), and if that
// context has not ended, asks to be told when it does (context.AfterFunc,
// once per distinct context) instead of polling it. Goroutines that
// return before that scan cost no more than the record. Idle, 100,000 or
// 1,000,000 tracked goroutines cost about 0.1% of a core, as many go
// statements do. Memory: a live tracked goroutine holds about 120 bytes
// more than a plain one when it shares its context with others; when its
// context is its own, telling the Monitor when that context ends adds
// about 600 more: package context's own share is 496 bytes (the AfterFunc
// registration in the context, 384, and the context's Done channel if
// nothing else made it, 112; BenchmarkWatchParts in bench), the rest the
// Monitor's list of goroutines under that context.
//
// # What Go's tools show
//
// A tracked goroutine looks to Go's own tools as it would under a go
// statement, with two frames of ctxguard's below its function: goroutines
// started by the same function and blocked on the same line are one entry
// of the goroutine profile (/debug/pprof/goroutine, debug=1 or proto) and
// of Go 1.27's goroutineleak profile, whether they lag or not. A goroutine
// dump (debug=2, SIGQUIT, a crash, goleak) shows one as
//
//	goroutine 622 [chan receive]:
//	main.fetch.func1({0x8a5f40?, 0xc000124000?})
//		/src/app/fetch.go:24 +0x31
//	github.com/ctxguard/ctxguard/ctxguard.(*goroutine).run(0xc00037d900, 0xc00037b270)
//		/go/pkg/mod/github.com/ctxguard/ctxguard/ctxguard/goroutines.go:315 +0x1cb
//	github.com/ctxguard/ctxguard/ctxguard.(*Monitor).newStarters.func1()
//		/go/pkg/mod/github.com/ctxguard/ctxguard/ctxguard/goroutines.go:285 +0xfa
//	created by github.com/ctxguard/ctxguard/ctxguard.goTracked in goroutine 620
//		/go/pkg/mod/github.com/ctxguard/ctxguard/ctxguard/goroutines.go:167 +0x10f
//
// "created by" names ctxguard rather than the line that called Go: the
// runtime names the function holding the go statement, and a function
// that holds one is never inlined into its caller. The call's site is in
// ctxguard's own reports (GoroutineStats.Site, the logs, the debug page),
// and the goroutine's function, the top of the stack above, is the one
// passed to Go. A second way to start tracked goroutines that keeps the go
// keyword in the caller was weighed and left out: it would name the
// caller's line in dumps, at the price of two ways to do one thing.
//
// The Monitor tells a lagging goroutine from a healthy one blocked on the
// same line by the address of its profiler label set, which the runtime
// reports with each stack of its goroutine profile: the goroutine runs
// with a label set of its own holding the labels it had, so profiles,
// which group by the labels, see no difference. A function that replaces
// its labels (pprof.Do, pprof.SetGoroutineLabels) leaves that label set;
// its lagging goroutines are then found by the function they run while
// all goroutines running it are blocked at one place, and otherwise their
// location is left unknown (GoroutineStats.BlockedAt lists fewer than
// Lagging). On Go releases other than 1.26 and 1.27, whose runtime
// ctxguard has not been checked against, every goroutine is found that
// way. The label set lives in the goroutine's record, and a goroutine it
// starts with a go statement inherits it, as it inherits any labels: such
// a goroutine keeps the record (and so the context given to Go) reachable
// until it returns; started with Go, it gets a record of its own.
package spawn
