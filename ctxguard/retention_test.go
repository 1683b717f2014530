package ctxguard

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/internal/wait"
)

type requestValueKey struct{}

// A goroutine started by a go statement inherits its creator's label set,
// which for a tracked goroutine is the address of its record (identity.go):
// such a child, a connection loop net/http's Transport starts from the
// goroutine that dialled, say, keeps the record reachable for as long as it
// runs. Once the tracked goroutine has returned, the record must no longer
// keep its context, and what the context carries, reachable: under a go
// statement nothing would. The lagging one keeps it until its late exit is
// recorded (its LateExit event carries the context), and no longer.
func TestReturnedRecordLetsGoOfItsContext(t *testing.T) {
	for _, c := range []struct {
		name      string
		lag       bool
		lateExits uint64
	}{
		{"returned in time", false, 0},
		{"returned late", true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := New(Config{Grace: 10 * time.Millisecond, Logger: discardLogger})
			defer m.Close()
			var freed atomic.Bool
			release, child := make(chan struct{}), make(chan struct{})
			defer close(child)
			func() {
				value := new([1 << 16]byte)
				runtime.AddCleanup(value, func(b *atomic.Bool) { b.Store(true) }, &freed)
				ctx, cancel := context.WithCancel(WithMonitor(context.WithValue(context.Background(), requestValueKey{}, value), m))
				goTracked(ctx, func(ctx Context) {
					go func() { <-child }() // outlives it, with its label set
					if c.lag {
						<-release
					}
				}, 0, nil)
				cancel()
			}()
			if c.lag {
				wait.For(t, "the goroutine to lag", func() bool { return m.Snapshot().Lagging == 1 })
			}
			close(release)
			wait.For(t, "the goroutine to return", func() bool {
				s := m.Snapshot()
				return s.Live == 0 && entryLateExits(s) == c.lateExits
			})
			wait.Collecting(t, "the context's value to be freed", freed.Load)
		})
	}
}

// entryLateExits sums the entries' late exits.
func entryLateExits(s Snapshot) (n uint64) {
	for _, g := range s.Goroutines {
		n += g.LateExits
	}
	return n
}
