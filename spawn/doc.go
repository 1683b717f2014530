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
// allocation of 96 bytes (the record that registers the goroutine: its
// context, its function until the goroutine starts, the key of its spawn
// site, scope and name); one ctx.Value lookup to find the Monitor and
// scope, and ctx.Done(); a random shard pick and an uncontended
// lock/unlock to list the record; a compare-and-swap to push it on its
// shard's stack of records not yet started, and one as the new goroutine
// pops it (a go statement with no arguments allocates no closure, so the
// record is handed over through its shard); a lock/unlock to unlist it on
// exit; a deferred call to notice panics; and reading the caller's pc
// from its frame pointer. Names, sites and statistics are worked out only
// when a goroutine lags, exits late or panics, or when a Snapshot is
// taken.
//
// Measured (go run ./bench/cmd/compare, 2 cores, ratios within one run;
// bench/RESULTS.md has the run): about 1.5x a go statement plus
// sync.WaitGroup started from one goroutine, 0.96x from two in parallel,
// with 2 allocations against 1. The serial ratio is mostly the record
// and its shard's cache lines moving between the spawning core and the
// core the goroutine runs on.
//
// A goroutine whose context is still live costs no periodic work: the
// Monitor's background goroutine looks at each new record's context once,
// at its first scan after the spawn (four times a second), and if that
// context has not ended, asks to be told when it does (context.AfterFunc,
// once per distinct context) instead of polling it. Goroutines that
// return before that scan cost no more than the record. Idle, 100,000 or
// 1,000,000 tracked goroutines cost about 0.1% of a core, as many go
// statements do. Memory: a live tracked goroutine holds about 115 bytes
// more than a plain one when it shares its context with others; when its
// context is its own, telling the Monitor when that context ends adds
// about 600 more (the AfterFunc registration in the context, the
// context's Done channel if nothing else made it, and the Monitor's list
// of goroutines under that context).
package spawn
