package ctxguard

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/internal/track"
	"github.com/ctxguard/ctxguard/internal/wait"
)

// The scans below are the test's own, at the times it gives: the Monitor's
// loop is kept from starting (withoutLoop), so no scan of its own can take
// a record first.

// A young record that a scan missed (an exit behind the scan's position,
// while it let go of the shard's lock, moved it there) is taken by the
// next scan: its epoch is older than the one that scan began, not newer.
func TestScanTakesYoungRecordsAnEarlierScanMissed(t *testing.T) {
	m := New(Config{Grace: time.Millisecond, Logger: discardLogger})
	defer m.Close()
	withoutLoop(m)
	ctx, cancel := context.WithCancel(WithMonitor(context.Background(), m))
	g := register(ctx, nil, 0, nil)
	s := &m.shards[g.shard]
	s.mu.Lock()
	s.young[g.youngIdx].epoch = s.epoch - 1 // as if the last scan had missed it
	s.mu.Unlock()
	cancel()
	now := time.Now().UnixNano()
	m.scan(now)
	if state, idx, _ := shardState(g); state != ended || idx != -1 {
		t.Fatalf("after the scan: state %d, youngIdx %d; want ended and out of the young list", state, idx)
	}
	m.scan(now + int64(time.Millisecond))
	if got := m.Snapshot().Lagging; got != 1 {
		t.Errorf("Lagging = %d after grace, want 1", got)
	}
	g.exit()
}

// A record registered while a scan runs has that scan's epoch: the scan
// leaves it, and the next one takes it.
func TestScanLeavesRecordsRegisteredWhileItRuns(t *testing.T) {
	m := New(Config{Logger: discardLogger})
	defer m.Close()
	withoutLoop(m)
	g := register(WithMonitor(context.Background(), m), nil, 0, nil)
	defer g.exit()
	s := &m.shards[g.shard]
	s.mu.Lock()
	s.young[g.youngIdx].epoch = s.epoch + 1 // the epoch the next scan begins
	s.mu.Unlock()
	now := time.Now().UnixNano()
	m.scan(now)
	if state, idx, _ := shardState(g); state != young || idx < 0 {
		t.Fatalf("after the scan it began in: state %d, youngIdx %d; want young, still listed", state, idx)
	}
	m.scan(now)
	if state, idx, _ := shardState(g); state != parked || idx != -1 {
		t.Errorf("after the next scan: state %d, youngIdx %d; want parked, out of the young list", state, idx)
	}
}

// A record whose context had ended by its first scan is ended as of that
// scan, and lags when its grace has run out, not a nanosecond before; the
// scan returns the deadline it waits for.
func TestScanLagsEndedRecordsWhenTheirGraceRunsOut(t *testing.T) {
	const grace = time.Second
	m := New(Config{Grace: grace, Logger: discardLogger})
	defer m.Close()
	withoutLoop(m)
	ctx, cancel := context.WithCancel(WithMonitor(context.Background(), m))
	cancel()
	g := register(ctx, nil, 0, &track.Options{Name: "late"})
	defer g.exit()

	now := time.Now().UnixNano()
	if next := m.scan(now); next != now+int64(grace) {
		t.Errorf("first scan returned %d, want the grace deadline %d", next, now+int64(grace))
	}
	if state, _, _ := shardState(g); state != ended || g.endedAt != now {
		t.Fatalf("after the first scan: state %d, endedAt %d; want ended at %d", state, g.endedAt, now)
	}
	if next := m.scan(now + int64(grace) - 1); next != now+int64(grace) {
		t.Errorf("scan before the deadline returned %d, want %d", next, now+int64(grace))
	}
	if s := m.Snapshot(); s.Lagging != 0 || s.Lagged != 0 {
		t.Fatalf("before the deadline: Lagging %d, Lagged %d; want 0, 0", s.Lagging, s.Lagged)
	}
	if next := m.scan(now + int64(grace)); next != 0 {
		t.Errorf("scan at the deadline returned %d, want 0 (nothing left to time)", next)
	}
	s := m.Snapshot()
	if s.Lagging != 1 || s.Lagged != 1 {
		t.Errorf("at the deadline: Lagging %d, Lagged %d; want 1, 1", s.Lagging, s.Lagged)
	}
	if e := entry(s, "late"); e.Lagging != 1 || e.LastCause != "context canceled" {
		t.Errorf("entry %+v, want 1 lagging with cause context canceled", e)
	}
}

// Each record is timed by its own grace (spawn.WithGrace): the scan
// returns the earliest deadline, and a grace too long to add to the clock
// means never.
func TestScanTimesEachRecordByItsGrace(t *testing.T) {
	m := New(Config{Grace: time.Hour, Logger: discardLogger})
	defer m.Close()
	withoutLoop(m)
	ctx, cancel := context.WithCancel(WithMonitor(context.Background(), m))
	cancel()
	short := register(ctx, nil, 0, &track.Options{Name: "short", Grace: time.Second})
	defer short.exit()
	long := register(ctx, nil, 0, &track.Options{Name: "long"}) // the Monitor's hour
	defer long.exit()
	never := register(ctx, nil, 0, &track.Options{Name: "never", Grace: math.MaxInt64})
	defer never.exit()

	now := time.Now().UnixNano()
	if next := m.scan(now); next != now+int64(time.Second) {
		t.Errorf("scan returned %d, want the earliest deadline %d", next, now+int64(time.Second))
	}
	m.scan(now + int64(time.Hour))
	s := m.Snapshot()
	for name, want := range map[string]int{"short": 1, "long": 1, "never": 0} {
		if got := entry(s, name).Lagging; got != want {
			t.Errorf("%s: Lagging %d an hour after its context ended, want %d", name, got, want)
		}
	}
	m.scan(math.MaxInt64 - 1)
	if got := entry(m.Snapshot(), "never").Lagging; got != 0 {
		t.Errorf("a grace of MaxInt64 lagged at the end of time: Lagging %d", got)
	}
}

// A record whose context is live at its first scan is parked on a watch of
// its context and never scanned again; when the context ends, the watch
// ends it as of that moment, and the scans time its grace from there.
func TestScanParksLiveRecordsUntilTheirContextEnds(t *testing.T) {
	const grace = time.Second
	m := New(Config{Grace: grace, Logger: discardLogger})
	defer m.Close()
	withoutLoop(m)
	ctx, cancel := context.WithCancel(WithMonitor(context.Background(), m))
	defer cancel()
	g := register(ctx, nil, 0, &track.Options{Name: "parked"})

	now := time.Now().UnixNano()
	m.scan(now)
	state, idx, w := shardState(g)
	if state != parked || idx != -1 || w == nil {
		t.Fatalf("after the first scan: state %d, youngIdx %d, watch %v; want parked on a watch", state, idx, w)
	}
	if next := m.scan(now + int64(time.Hour)); next != 0 {
		t.Errorf("a scan with only parked records returned %d, want 0", next)
	}

	cancel()
	wait.For(t, "the watch to end the record", func() bool {
		state, _, _ := shardState(g)
		return state == ended
	})
	s := &m.shards[g.shard]
	s.mu.Lock()
	endedAt, watch := g.endedAt, g.watch
	s.mu.Unlock()
	if watch != nil {
		t.Error("an ended record keeps its watch")
	}
	if next := m.scan(endedAt); next != endedAt+int64(grace) {
		t.Errorf("scan returned %d, want endedAt+grace %d", next, endedAt+int64(grace))
	}
	m.scan(endedAt + int64(grace))
	if got := m.Snapshot().Lagging; got != 1 {
		t.Fatalf("Lagging = %d at endedAt+grace, want 1", got)
	}

	// Its return takes it out of the lagging count at once; the loop's
	// next round records how late it was.
	g.exit()
	if got := m.Snapshot().Lagging; got != 0 {
		t.Errorf("Lagging = %d after the return, want 0", got)
	}
	m.recordLateExits(false)
	if e := entry(m.Snapshot(), "parked"); e.LateExits != 1 || e.Lagged != 1 {
		t.Errorf("entry %+v, want 1 lagged and 1 late exit", e)
	}
}

// A record whose context can never end (Background's, Done() nil) is
// parked without a watch and never lags.
func TestScanNeverEndsRecordsWhoseContextCannotEnd(t *testing.T) {
	m := New(Config{Grace: time.Nanosecond, Logger: discardLogger})
	defer m.Close()
	withoutLoop(m)
	g := register(WithMonitor(context.Background(), m), nil, 0, nil)
	defer g.exit()
	now := time.Now().UnixNano()
	m.scan(now)
	if state, idx, w := shardState(g); state != parked || idx != -1 || w != nil {
		t.Fatalf("state %d, youngIdx %d, watch %v; want parked, no watch", state, idx, w)
	}
	m.scan(now + int64(time.Hour))
	if got := m.Snapshot().Lagging; got != 0 {
		t.Errorf("Lagging = %d, want 0", got)
	}
}
