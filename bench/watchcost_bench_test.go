package bench

import (
	"context"
	"runtime"
	"testing"
)

// BenchmarkWatchParts measures, per context, the heap that being told when
// a context ends costs in package context's own terms, for the idle row
// "memory per goroutine, a context each" (bench/RESULTS.md): the Done
// channel that package context makes on first use, and a context.AfterFunc
// registered on a context whose channel exists (its afterFuncCtx, stop
// func, the parent's children map made on the first child). The contexts
// are children of one live root, as in the idle rows.
//
//	go test -run '^$' -bench WatchParts -benchtime 1x ./bench
func BenchmarkWatchParts(b *testing.B) {
	const n = 100_000
	for b.Loop() {
		root, cancel := context.WithCancel(context.Background())
		ctxs := make([]context.Context, n)
		cancels := make([]context.CancelFunc, n)
		stops := make([]func() bool, n)
		for i := range ctxs {
			ctxs[i], cancels[i] = context.WithCancel(root)
		}
		f := func() {}
		h0 := liveHeap()
		for _, ctx := range ctxs {
			ctx.Done()
		}
		h1 := liveHeap()
		for i, ctx := range ctxs {
			stops[i] = context.AfterFunc(ctx, f)
		}
		h2 := liveHeap()
		b.ReportMetric(float64(h1-h0)/n, "done-B/context")
		b.ReportMetric(float64(h2-h1)/n, "afterfunc-B/context")
		for i := range stops {
			stops[i]()
			cancels[i]()
		}
		cancel()
		runtime.KeepAlive(ctxs)
	}
}

// liveHeap is the bytes of live heap objects after a GC.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
