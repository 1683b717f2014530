// Package wait is the tests' one way to wait for a condition: poll it,
// with a deadline generous enough for a loaded machine, instead of sleeping
// for a time that is only usually enough.
//
//	wait.For(t, "the goroutine to lag", func() bool { return m.Snapshot().Lagging == 1 })
//
// Only a test that fails waits until the deadline. It belongs in tests
// only.
package wait

import (
	"runtime"
	"testing"
	"time"
)

// Deadline bounds each wait.
const Deadline = 30 * time.Second

// interval is the time between polls.
const interval = 5 * time.Millisecond

// For polls cond every few milliseconds until it holds, and fails t,
// saying what it waited for, if it does not within Deadline.
func For(t testing.TB, what string, cond func() bool) {
	t.Helper()
	poll(t, what, cond, false)
}

// Collecting is For with a garbage collection between polls, for
// conditions that only the collector makes true: runtime cleanups, such as
// those that find dropped cancel funcs, run after it frees their objects.
func Collecting(t testing.TB, what string, cond func() bool) {
	t.Helper()
	poll(t, what, cond, true)
}

func poll(t testing.TB, what string, cond func() bool, collect bool) {
	t.Helper()
	deadline := time.Now().Add(Deadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		if collect {
			runtime.GC()
		}
		time.Sleep(interval)
	}
}
