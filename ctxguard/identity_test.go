package ctxguard

import (
	"runtime"
	"testing"
)

func TestTagTableHasADistinctAddressPerDigit(t *testing.T) {
	tt := tagPCs()
	if !tt.ok || len(tt.digits) != 512 {
		t.Fatalf("tag table: ok %v with %d addresses, want 512 distinct", tt.ok, len(tt.digits))
	}
}

// Every id spelled by tagged reads back from the stack of the goroutine
// that called it.
func TestTaggedIdsReadBackFromTheStack(t *testing.T) {
	for _, id := range []uint64{0, 1, 0xff, 0x100, 0x1234, 0xfffff, 1 << 40, 1<<64 - 1} {
		var pcs [64]uintptr
		var n int
		tagged(id, func(any, any, any) (any, error) {
			n = runtime.Callers(1, pcs[:])
			return nil, nil
		}, nil, nil, nil)
		runs := tagPCs().tagRuns(pcs[:n], nil)
		if len(runs) != 1 || runs[0].id != id {
			t.Errorf("id %#x: read back %+v", id, runs)
		}
	}
}

// Monitor tags say their own length: no two (Monitor, shard and slot)
// pairs make the same id, across tags of one, two and three bytes.
func TestMonitorTagsNeverMakeTheSameId(t *testing.T) {
	seen := make(map[uint64][2]uint64)
	for _, n := range []uint64{0, 1, 2, 0x7f, 0x80, 0x81, 0x3fff, 0x4000, 0x4001, 1<<21 - 1} {
		tag, bits := monitorTag(n)
		if bits != 8 && bits != 16 && bits != 24 {
			t.Fatalf("monitorTag(%d): %d bits", n, bits)
		}
		for slot := range uint64(1 << 12) {
			id := slot<<bits | tag
			if prev, dup := seen[id]; dup {
				t.Fatalf("Monitor %d slot %d and Monitor %d slot %d share id %#x", n, slot, prev[0], prev[1], id)
			}
			seen[id] = [2]uint64{n, slot}
		}
	}
}
