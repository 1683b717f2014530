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
// allocation (the record that registers the goroutine: its context, its
// function, its spawn site), one ctx.Value lookup to find the Monitor and
// scope, a random shard pick and an uncontended lock/unlock to link the
// record in, the same again to unlink it on exit, a deferred call to notice
// panics, and reading the caller's pc from its frame pointer. Names,
// sites and statistics are worked out only when a goroutine lags, exits late
// or panics, or when a Snapshot is taken. The Monitor's one background
// goroutine visits every record four times a second to notice contexts that
// ended; see the benchmarks in spawn_bench_test.go for the measured figures.
package spawn
