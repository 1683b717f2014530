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
// allocation of 80 bytes (the record that registers the goroutine: its
// context, its function until the goroutine starts, its spawn site); one
// ctx.Value lookup to find the Monitor and scope, and ctx.Done() to have
// the channel the Monitor polls; a random shard pick and an uncontended
// lock/unlock to list the record, another as the new goroutine takes it
// (a go statement with no arguments allocates no closure, so the record
// is handed over through its shard), and a third to unlist it on exit;
// a deferred call to notice panics; and reading the caller's pc from its
// frame pointer. Names, sites and statistics are worked out only when a
// goroutine lags, exits late or panics, or when a Snapshot is taken.
//
// Measured (go run ./bench/cmd/compare, 2 cores, ratios within one run):
// 1.46x a go statement plus sync.WaitGroup started from one goroutine
// (about 90 ns more), 0.92x from two in parallel, with 2 allocations
// against 1. A live tracked goroutine holds about 100 bytes of heap more
// than a plain one (the record and its slot in its shard); if its context
// is its own and nothing else has asked for that context's Done channel,
// the channel adds about 100 more.
//
// The Monitor's one background goroutine polls each tracked goroutine's
// Done channel four times a second, and a run of goroutines sharing a
// context costs one poll. At 100,000 idle goroutines that is 0.2% of a
// core when they share a context and about 2% when each has its own (a
// cache miss per distinct channel per poll).
package spawn
