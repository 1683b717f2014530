package ctxguard

import (
	"context"
	"reflect"
	"testing"
	"time"
	"unsafe"
)

// Allocation budget of the constructors under the default sampling: what
// package context's allocate, plus the tracking of one call in 128 (a
// tracker and its cancel func, a few allocations), so a few hundredths.
func TestConstructorAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m := New(Config{Logger: discardLogger})
	defer m.Close()
	parent := WithMonitor(context.Background(), m)
	for _, c := range []struct {
		name        string
		ours, their func()
	}{
		{"WithCancel", func() { _, c := WithCancel(parent); c() }, func() { _, c := context.WithCancel(parent); c() }},
		{"WithCancelCause", func() { _, c := WithCancelCause(parent); c(nil) }, func() { _, c := context.WithCancelCause(parent); c(nil) }},
		{"WithTimeout", func() { _, c := WithTimeout(parent, time.Hour); c() }, func() { _, c := context.WithTimeout(parent, time.Hour); c() }},
	} {
		ours, theirs := testing.AllocsPerRun(12800, c.ours), testing.AllocsPerRun(12800, c.their)
		t.Logf("%s: ctxguard %.3f, context %.3f allocations", c.name, ours, theirs)
		if ours > theirs+0.1 {
			t.Errorf("%s allocates %.3f, context's %.3f: want at most 0.1 more", c.name, ours, theirs)
		}
	}
}

// Allocation budget of a tracked cancel func (CancelSampleRate 1): the
// tracker and the cancel func that wraps it, two allocations beyond package
// context's; its finalizer's record comes from the runtime's own fixed-size
// allocator and is not counted (runtime.AddCleanup cost two more).
func TestTrackedCancelAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m := New(Config{CancelSampleRate: 1, Logger: discardLogger})
	defer m.Close()
	parent := WithMonitor(context.Background(), m)
	for _, c := range []struct {
		name        string
		ours, their func()
	}{
		{"WithCancel", func() { _, c := WithCancel(parent); c() }, func() { _, c := context.WithCancel(parent); c() }},
		{"WithCancelCause", func() { _, c := WithCancelCause(parent); c(nil) }, func() { _, c := context.WithCancelCause(parent); c(nil) }},
		{"WithTimeout", func() { _, c := WithTimeout(parent, time.Hour); c() }, func() { _, c := context.WithTimeout(parent, time.Hour); c() }},
	} {
		ours, theirs := testing.AllocsPerRun(1000, c.ours), testing.AllocsPerRun(1000, c.their)
		t.Logf("%s: ctxguard %.2f, context %.2f allocations", c.name, ours, theirs)
		if ours != theirs+2 {
			t.Errorf("%s allocates %.2f, context's %.2f: want exactly 2 more", c.name, ours, theirs)
		}
	}
}

// A record is what a tracked goroutine costs in memory beyond a go
// statement: 112 bytes, a size class of its own, within the 128 bytes per
// goroutine the idle goal allows with a shared context (bench/RESULTS.md).
func TestRecordSize(t *testing.T) {
	if got := unsafe.Sizeof(goroutine{}); got != 112 {
		t.Errorf("a record is %d bytes, want 112", got)
	}
	if got := unsafe.Sizeof(scopedRegion{}); got != 128 {
		t.Errorf("a middleware's record and context are %d bytes, want 128", got)
	}
}

// Watch shards are 64 bytes: neighbours' fields never share a cache line.
func TestWatchShardSize(t *testing.T) {
	if got := unsafe.Sizeof(watchShard{}); got != 64 {
		t.Errorf("a watch shard is %d bytes, want 64", got)
	}
}

// funcPC reads what reflect says a func's pointer is, for closures, method
// values and plain functions.
func TestFuncPCIsReflects(t *testing.T) {
	x := 0
	for name, fn := range map[string]func(Context){
		"closure":      func(Context) { x++ },
		"func":         pcProbeFunc,
		"method value": pcProbe{}.run,
	} {
		if got, want := funcPC(fn), reflect.ValueOf(fn).Pointer(); got != want {
			t.Errorf("%s: funcPC %#x, reflect %#x", name, got, want)
		}
	}
}

type pcProbe struct{}

func (pcProbe) run(Context) {}

func pcProbeFunc(Context) {}

// Records spawned one after the other from one goroutine spread over every
// shard, about evenly.
func TestShardsSpread(t *testing.T) {
	const bits, n = 3, 8000
	var counts [1 << bits]int
	keep := make([]*goroutine, n)
	for i := range keep {
		keep[i] = new(goroutine)
		counts[shardOf(keep[i], bits)]++
	}
	for s, c := range counts {
		if c < n/(1<<bits)/2 || c > 2*n/(1<<bits) {
			t.Errorf("shard %d has %d of %d records: want about %d", s, c, n, n/(1<<bits))
		}
	}
	if shardOf(keep[0], 0) != 0 {
		t.Errorf("with one shard, a record is not on shard 0")
	}
}
