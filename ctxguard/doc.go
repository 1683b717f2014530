// Package ctxguard is a drop-in replacement for package context that also
// makes cancellation failures visible while the program runs.
//
// It exports every identifier of package context with the same signature and
// behaviour; the contexts and errors it returns are package context's own.
// Switching a file over is one line:
//
//	import context "github.com/ctxguard/ctxguard/ctxguard"
//
//	ctx, cancel := context.WithTimeout(parent, time.Second)
//	// forgetting cancel() is now reported, with this line as the site
//
// In addition, a cancel func returned by WithCancel, WithCancelCause,
// WithDeadline, WithDeadlineCause, WithTimeout or WithTimeoutCause that is
// garbage collected without having been called while its context is still
// not done is a dropped cancel: the context stays registered with its parent
// (and its timer runs) until the parent ends. The [Monitor] carried by the
// parent context, else [Default], counts it and logs the site that created
// it. Package spawn uses the same Monitor to track goroutines that outlive
// their context.
//
// # Cost
//
// A constructor costs what package context's costs plus a few nanoseconds
// for a sampling decision. One call in [Config.CancelSampleRate] (default
// 128) is tracked: its cancel func is wrapped by a tracker that gets a
// finalizer (runtime.SetFinalizer; cancel.go says why not AddCleanup),
// removed again when cancel is called; what that adds, in time,
// instructions and allocations, is measured by go run ./bench/cmd/compare
// (bench/RESULTS.md, "Context constructors", track-all). Detection happens
// in the garbage collector's finalizer goroutine; symbolizing sites
// happens in the Monitor's background goroutine, which
// runs only while there is something to watch or report. Log records and
// events are written by goroutines of their own that run only while some
// are waiting, so a slow logger or observer never delays detection.
//
// Where a lagging goroutine is blocked is read from its stack: a capture of
// every goroutine's stack (runtime.GoroutineProfile, which stops the world
// for microseconds only) runs on a goroutine of its own when lagging
// goroutines have no known stack, and not again within 100 times its own
// duration (BenchmarkStackCapture: about 7 ms at 10,000 goroutines and
// 66 ms at 100,000, on 2 idle cores), so that captures take about 1% of a
// core at most.
//
// # The whole process
//
// Lagging says a tracked goroutine still runs after its context ended. On
// Go releases with the goroutine leak profile (Go 1.27 and later; Go 1.26
// built with GOEXPERIMENT=goroutineleakprofile), the Monitor can say more:
// it runs the profile when lagging goroutines are new, every
// [LongLivedLeakCheck] while tracked goroutines live, and on
// [Monitor.CheckLeaks], and counts the tracked goroutines it proves can
// never return, blocked on channels or locks that nothing reachable can
// signal ([GoroutineStats].Leaked). Such a goroutine is a leak whether
// its context ends or not: one whose context never ends is never lagging,
// and may still be leaked. (One blocked on its own context's Done channel
// is not proven leaked: the Monitor holds that context while the
// goroutine runs.) On a release without the profile, Leaked stays 0 and
// lagging is all there is.
//
// With [Config.WatchUntracked], the Monitor also looks at the goroutines
// it does not track (started by go statements, libraries, the standard
// library) and lists those blocked at one place in numbers
// ([Snapshot].Untracked), with the leaked ones among them: leaks in code
// nobody rewrote to spawn.Go show there.
//
// [Config.TraceDir] is the one option that costs the whole program: it
// runs the execution tracer (as a flight recorder) while the Monitor is
// open; its documentation gives the measured cost.
package ctxguard
