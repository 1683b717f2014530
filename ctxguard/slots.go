package ctxguard

import (
	"math/bits"
	"slices"
)

// slots is a shard's table of record slots. A record keeps its slot for
// life, since the slot is its identity in stack captures (identity.go), so
// exits leave free slots that later records fill, lowest first: the table
// stays as long as the most records the shard held at once, and shrinks
// when its top empties. It keeps no pointer to the records: a slot is only
// a number. Guarded by the shard's mutex.
type slots struct {
	n    int      // slots in use or free below the top
	free []uint64 // bit i%64 of free[i/64]: slot i < n is free
	// firstFree: no word of free before it has a bit set.
	firstFree int
}

// add takes the lowest free slot.
func (t *slots) add() uint32 {
	for w := t.firstFree; w < len(t.free); w++ {
		if word := t.free[w]; word != 0 {
			b := bits.TrailingZeros64(word)
			t.free[w] = word &^ (1 << b)
			t.firstFree = w
			return uint32(w*64 + b)
		}
	}
	t.firstFree = len(t.free)
	i := t.n
	t.n++
	if i/64 == len(t.free) {
		t.free = append(t.free, 0)
	}
	return uint32(i)
}

// remove frees slot i.
func (t *slots) remove(i uint32) {
	if int(i) != t.n-1 {
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
	t.n = n
	t.free = t.free[:(n+63)/64]
	t.firstFree = min(t.firstFree, len(t.free))
}

// shrink gives back the memory of a burst once most of it has exited.
func (t *slots) shrink() {
	if c := cap(t.free); c > 16 && len(t.free) < c/4 {
		t.free = slices.Clone(t.free)
	}
}
