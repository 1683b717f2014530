package ctxguard

import (
	"math/bits"
	"slices"
)

// slots is a shard's table of live records. A record keeps its slot for
// life, since the slot is its identity in stack captures (identity.go), so
// exits leave free slots that later records fill, lowest first: the table
// stays as long as the most records the shard held at once, and shrinks
// when its top empties. Guarded by the shard's mutex.
type slots struct {
	entries []*goroutine // by slot; nil for a free one
	free    []uint64     // bit i%64 of free[i/64]: slot i < len(entries) is free
	// firstFree: no word of free before it has a bit set.
	firstFree int
}

// add stores g in the lowest free slot and returns the slot.
func (t *slots) add(g *goroutine) uint32 {
	for w := t.firstFree; w < len(t.free); w++ {
		if word := t.free[w]; word != 0 {
			b := bits.TrailingZeros64(word)
			t.free[w] = word &^ (1 << b)
			t.firstFree = w
			i := w*64 + b
			t.entries[i] = g
			return uint32(i)
		}
	}
	t.firstFree = len(t.free)
	i := len(t.entries)
	t.entries = append(t.entries, g)
	if i/64 == len(t.free) {
		t.free = append(t.free, 0)
	}
	return uint32(i)
}

// remove frees slot i.
func (t *slots) remove(i uint32) {
	t.entries[i] = nil
	if int(i) != len(t.entries)-1 {
		t.free[i/64] |= 1 << (i % 64)
		t.firstFree = min(t.firstFree, int(i/64))
		return
	}
	// The top slot: drop it and the free slots below it.
	n := int(i)
	for n > 0 && t.free[(n-1)/64]&(1<<((n-1)%64)) != 0 {
		n--
		t.free[n/64] &^= 1 << (n % 64)
	}
	t.entries = t.entries[:n]
	t.free = t.free[:(n+63)/64]
	t.firstFree = min(t.firstFree, len(t.free))
}

// get returns the record in slot i, nil if the slot is free or beyond the
// table.
func (t *slots) get(i uint32) *goroutine {
	if int(i) >= len(t.entries) {
		return nil
	}
	return t.entries[i]
}

// shrink gives back the memory of a burst once most of it has exited.
func (t *slots) shrink() {
	if c := cap(t.entries); c > 1024 && len(t.entries) < c/4 {
		t.entries = slices.Clone(t.entries)
		t.free = slices.Clone(t.free)
	}
}
