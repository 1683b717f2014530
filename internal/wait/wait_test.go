package wait_test

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/ctxguard/ctxguard/internal/wait"
)

// For polls until the condition holds, and no longer.
func TestForReturnsOnceTheConditionHolds(t *testing.T) {
	polls := 0
	wait.For(t, "the third poll", func() bool {
		polls++
		return polls == 3
	})
	if polls != 3 {
		t.Errorf("polled %d times, want 3", polls)
	}
}

// Collecting collects garbage between polls: a cleanup of an object
// nothing references runs only after a collection.
func TestCollectingRunsTheCollector(t *testing.T) {
	var cleaned atomic.Bool
	func() {
		p := new([64]byte)
		runtime.AddCleanup(p, func(b *atomic.Bool) { b.Store(true) }, &cleaned)
	}()
	wait.Collecting(t, "the cleanup to run", cleaned.Load)
}
