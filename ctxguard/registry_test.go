package ctxguard

import (
	"context"
	"testing"

	"github.com/ctxguard/ctxguard/internal/track"
)

// withoutLoop keeps m's loop from starting, so that a test runs the scans
// and report rounds itself, at the times it chooses: registrations and
// drops find a loop run and start none. Close still works.
func withoutLoop(m *Monitor) {
	m.run.Store(&loopRun{
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		captured: make(chan *capture, 1),
	})
}

// oneShard makes m's registry a single shard, so that a test knows where
// each record is listed. Call it before anything is registered.
func oneShard(m *Monitor) {
	m.shards, m.watchShards, m.starters, m.shardBits = m.shards[:1], m.watchShards[:1], m.starters[:1], 0
}

// entry returns the Snapshot entry named name, or a zero entry.
func entry(s Snapshot, name string) GoroutineStats {
	for _, g := range s.Goroutines {
		if g.Name == name {
			return g
		}
	}
	return GoroutineStats{}
}

// shardState reads g's state, youngIdx and watch under its shard's lock.
func shardState(g *goroutine) (recordState, int32, *watch) {
	s := &g.tr().m.shards[g.shard]
	s.mu.Lock()
	defer s.mu.Unlock()
	return g.state, g.youngIdx, g.watch
}

// A record is listed from spawn to exit: young in its shard until a scan
// takes it, counted spawned and live, and live under its key (name, scope,
// site) in Snapshot; its exit unlists it and leaves the spawn counted.
func TestRegistryListsARecordFromSpawnToExit(t *testing.T) {
	m := New(Config{Logger: discardLogger})
	defer m.Close()
	withoutLoop(m)
	ctx := WithScope(WithMonitor(context.Background(), m), "GET /r")

	g := register(ctx, nil, 0, &track.Options{Name: "worker"})
	if g == nil {
		t.Fatal("register on an open Monitor returned nil")
	}
	state, youngIdx, _ := shardState(g)
	if state != young || youngIdx < 0 || m.shards[g.shard].young[youngIdx].g != g {
		t.Fatalf("after register: state %d, youngIdx %d; want young and listed at youngIdx", state, youngIdx)
	}
	s := m.Snapshot()
	if s.Spawned != 1 || s.Live != 1 {
		t.Errorf("after register: Spawned %d, Live %d; want 1, 1", s.Spawned, s.Live)
	}
	if e := entry(s, "worker"); e.Live != 1 || e.Scope != "GET /r" {
		t.Errorf("after register: entry %+v, want Live 1 in scope GET /r", e)
	}

	g.exit()
	state, youngIdx, _ = shardState(g)
	if state != exited || youngIdx != -1 || len(m.shards[g.shard].young) != 0 {
		t.Errorf("after exit: state %d, youngIdx %d, %d young; want exited, -1, 0", state, youngIdx, len(m.shards[g.shard].young))
	}
	s = m.Snapshot()
	if s.Spawned != 1 || s.Live != 0 || entry(s, "worker").Live != 0 {
		t.Errorf("after exit: Spawned %d, Live %d, entry %+v; want 1, 0 and none live", s.Spawned, s.Live, entry(s, "worker"))
	}
}

// A closed Monitor registers nothing: spawn.Go then runs a plain goroutine.
func TestRegisterOnAClosedMonitorListsNothing(t *testing.T) {
	m := New(Config{Logger: discardLogger})
	m.Close()
	if g := register(WithMonitor(context.Background(), m), nil, 0, nil); g != nil {
		t.Error("register on a closed Monitor returned a record")
	}
	if s := m.Snapshot(); s.Spawned != 0 || s.Live != 0 {
		t.Errorf("Spawned %d, Live %d; want 0, 0", s.Spawned, s.Live)
	}
}

// A record that returns before any scan leaves the young list at once,
// and the last one takes its place: every record left is still found at
// its youngIdx, in whatever order they return.
func TestYoungRecordsLeaveInAnyOrder(t *testing.T) {
	m := New(Config{Logger: discardLogger})
	defer m.Close()
	oneShard(m)
	withoutLoop(m)
	ctx := WithMonitor(context.Background(), m)
	var gs []*goroutine
	for range 5 {
		gs = append(gs, register(ctx, nil, 0, nil))
	}
	s := &m.shards[0]
	for _, i := range []int{1, 4, 0, 3, 2} {
		gs[i].exit()
		left := 0
		for _, g := range gs {
			_, idx, _ := shardState(g)
			if g.state == exited {
				if idx != -1 {
					t.Errorf("an exited record has youngIdx %d, want -1", idx)
				}
				continue
			}
			left++
			if idx < 0 || int(idx) >= len(s.young) || s.young[idx].g != g {
				t.Fatalf("after the exit of record %d: a live record's youngIdx %d does not find it", i, idx)
			}
		}
		if len(s.young) != left || s.live != left {
			t.Errorf("after the exit of record %d: %d young, %d live; want %d", i, len(s.young), s.live, left)
		}
	}
}
