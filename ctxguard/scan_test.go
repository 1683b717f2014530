package ctxguard

import (
	"context"
	"testing"
	"time"
)

// A young record that a scan missed (an exit behind the scan's position,
// while it let go of the shard's lock, moved it there) is taken by the
// next scan: its epoch is older than the one that scan began, not newer.
func TestScanTakesYoungRecordsAnEarlierScanMissed(t *testing.T) {
	m := New(Config{Grace: time.Millisecond, Logger: discardLogger})
	defer m.Close()
	ctx, cancel := context.WithCancel(WithMonitor(context.Background(), m))
	g := register(ctx, nil, 0, nil)
	s := &m.shards[g.shard]
	s.mu.Lock()
	if g.youngIdx >= 0 { // the loop's first scan has not taken it yet
		s.young[g.youngIdx].epoch = s.epoch - 1 // as if the last scan had missed it
	}
	s.mu.Unlock()
	cancel()
	waitUntil(t, "the record lags", func() bool { return m.Snapshot().Lagging == 1 })
	g.exit()
}
