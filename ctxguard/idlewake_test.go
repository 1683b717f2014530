package ctxguard

import (
	"context"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/internal/track"
	"github.com/ctxguard/ctxguard/internal/wait"
)

// scans returns how many scans m's loop has made (each counts an epoch of
// every shard).
func scans(m *Monitor) uint32 {
	s := &m.shards[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.epoch
}

// A loop with no tracked goroutine that stays for something else (records
// held back by ReportInterval, or the next look at untracked goroutines)
// sleeps until then; a goroutine spawned meanwhile must still be scanned
// within a scan interval, and so lag Grace after its context ended, not
// when the loop happens to wake (here, in an hour).
func TestIdleLoopScansNewGoroutines(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		// idle brings m to where its loop has nothing tracked and
		// something to wait for.
		idle func(t *testing.T, m *Monitor, logs *logRecords)
	}{
		{"records held back", Config{CancelSampleRate: 1}, func(t *testing.T, m *Monitor, logs *logRecords) {
			root := WithMonitor(context.Background(), m)
			repeat(1, root, constructors[0].drop)
			wait.Collecting(t, "the first drop is logged", func() bool { return len(logs.records(t)) == 1 })
			repeat(1, root, constructors[0].drop) // held back for ReportInterval
			wait.Collecting(t, "the second drop is counted", func() bool { return m.Snapshot().DroppedCancels == 2 })
		}},
		{"watching untracked goroutines", Config{WatchUntracked: true}, func(t *testing.T, m *Monitor, _ *logRecords) {
			wait.For(t, "the first look at untracked goroutines", func() bool { return !m.Snapshot().UntrackedAt.IsZero() })
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs logRecords
			cfg := c.cfg
			cfg.Grace, cfg.ReportInterval, cfg.Logger, cfg.NoLeakCheck = 10*time.Millisecond, time.Hour, logs.logger(), true
			m := New(cfg)
			defer m.Close()
			c.idle(t, m, &logs)
			// A round of the loop after that: it found nothing tracked,
			// and went to sleep until its next duty.
			before := scans(m)
			wait.For(t, "a scan", func() bool { return scans(m) != before })

			release := make(chan struct{})
			defer close(release)
			ctx, cancel := context.WithCancel(WithMonitor(context.Background(), m))
			cancel()
			goTracked(ctx, func(Context) { <-release }, 0, &track.Options{Name: "stuck"})
			wait.For(t, "the goroutine spawned into an idle loop to lag", func() bool { return m.Snapshot().Lagging == 1 })
		})
	}
}
