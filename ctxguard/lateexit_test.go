package ctxguard

import (
	"context"
	"io"
	"runtime"
	"runtime/trace"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/internal/track"
	"github.com/ctxguard/ctxguard/internal/wait"
)

// Goroutines that return while the scan that found them lagging is still
// recording them: every late exit is recorded after its lag start, so the
// statistics agree and no execution-trace task is left open.
func TestLateExitsRecordedAfterTheirLagStart(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("an execution trace is already being recorded")
	}
	if err := trace.Start(io.Discard); err != nil {
		t.Fatal(err)
	}
	defer trace.Stop()
	m := New(Config{Grace: time.Millisecond, Logger: discardLogger, ReportInterval: time.Hour})
	defer m.Close()
	ctx, cancel := context.WithCancel(WithMonitor(context.Background(), m))
	release := make(chan struct{})
	const n = 5000
	for range n {
		track.Go(ctx, func(context.Context) { <-release }, 1, nil)
	}
	cancel()
	for deadline := time.Now().Add(30 * time.Second); m.lagged.Load() == 0; { // counted as the loop starts recording them
		if time.Now().After(deadline) {
			t.Fatal("nothing lagged")
		}
		runtime.Gosched()
	}
	close(release) // while the loop is still recording them
	wait.Collecting(t, "every goroutine returns", func() bool { return m.Snapshot().Live == 0 })
	wait.Collecting(t, "every late exit is recorded", func() bool {
		var lateExits uint64
		for _, g := range m.Snapshot().Goroutines {
			lateExits += g.LateExits
		}
		return lateExits == m.lagged.Load()
	})
	m.lagTasks.mu.Lock()
	open := len(m.lagTasks.tasks)
	m.lagTasks.mu.Unlock()
	if open != 0 {
		t.Errorf("%d trace tasks left open", open)
	}
}

// Events recorded once the Monitor is closed are not kept: nobody would
// deliver them.
func TestEventsAfterCloseAreDropped(t *testing.T) {
	m := New(Config{Logger: discardLogger})
	defer m.Observe(func(Event) {})()
	m.recordDroppedCancel(context.Background(), 1) // starts the loop
	m.Close()
	dropped := m.Snapshot().EventsDropped
	m.recordDroppedCancel(context.Background(), 1)
	if got := m.Snapshot().EventsDropped; got != dropped+1 {
		t.Errorf("EventsDropped went from %d to %d after Close, want one more", dropped, got)
	}
}

// Lagging goroutines returning all at once, while Snapshots are taken:
// Lagging counts live goroutines, so no Snapshot counts more of them
// lagging than live, in total or in an entry, however the returns and the
// Snapshot interleave.
func TestSnapshotNeverCountsMoreLaggingThanLive(t *testing.T) {
	m := New(Config{Grace: time.Millisecond, Logger: discardLogger, ReportInterval: time.Hour})
	defer m.Close()
	const n = 2000
	for range 3 {
		ctx, cancel := context.WithCancel(WithMonitor(context.Background(), m))
		release := make(chan struct{})
		for range n {
			track.Go(ctx, func(context.Context) { <-release }, 1, nil)
		}
		cancel()
		wait.For(t, "every goroutine to lag", func() bool { return m.Snapshot().Lagging == n })
		close(release)
		for deadline := time.Now().Add(wait.Deadline); ; {
			if time.Now().After(deadline) {
				t.Fatal("timed out waiting until every goroutine returns")
			}
			s := m.Snapshot()
			if s.Lagging > s.Live {
				t.Fatalf("Snapshot: Lagging %d > Live %d", s.Lagging, s.Live)
			}
			for _, e := range s.Goroutines {
				if e.Lagging > e.Live {
					t.Fatalf("Snapshot entry %s: Lagging %d > Live %d", e.Name, e.Lagging, e.Live)
				}
			}
			if s.Live == 0 && s.Lagging == 0 {
				break
			}
		}
	}
}
