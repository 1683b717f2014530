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
