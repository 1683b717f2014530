// Package series decides, for the metric exporters, which (name, scope)
// pairs of goroutine statistics get a series of their own.
//
// Snapshot.Goroutines has one entry per name, scope and spawn site; a
// metric has one series per (name, scope), so entries are summed over
// sites. The Monitor bounds the entries that carry cumulative counts, but
// not the live-only ones (goroutines that never lagged or panicked), so a
// Table bounds the pairs itself: the first Max pairs seen keep a series for
// as long as the Table lives, and every later pair is folded into
// Overflow. The choice never changes once made, so no series takes counts
// from another and counters never go down. A series once chosen is in
// every Fold, with no entries when the Snapshot has nothing for it, so
// series do not come and go with the goroutines.
package series

import (
	"sync"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// A Key is the (name, scope) of one series.
type Key struct{ Name, Scope string }

// Overflow is the series of every pair beyond the bound. It is the
// Monitor's own overflow entry too, so the two fold into one series.
var Overflow = Key{Name: ctxguard.OverflowName}

// A Table chooses the series and keeps, per series, a V the exporter makes
// once (its attributes, say). Safe for concurrent use.
type Table[V any] struct {
	max      int
	clean    func(string) string // applied to names and scopes
	make     func(Key) V
	mu       sync.Mutex
	known    map[Key]V
	overflow *V // Overflow's, once a pair went there
}

// New returns a Table of at most max series besides Overflow, whose names
// and scopes are passed through clean (to make them valid label values),
// and whose series get make's value.
func New[V any](max int, clean func(string) string, make func(Key) V) *Table[V] {
	return &Table[V]{max: max, clean: clean, make: make}
}

// A Group is the entries of one series.
type Group[V any] struct {
	Value   V
	Entries []*ctxguard.GoroutineStats
}

// Fold groups gs by series; every series chosen so far is in the result.
func (t *Table[V]) Fold(gs []ctxguard.GoroutineStats) map[Key]*Group[V] {
	out := make(map[Key]*Group[V])
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range gs {
		k, v := t.lookupLocked(gs[i].Name, gs[i].Scope)
		g := out[k]
		if g == nil {
			g = &Group[V]{Value: v}
			out[k] = g
		}
		g.Entries = append(g.Entries, &gs[i])
	}
	for k, v := range t.known {
		if out[k] == nil {
			out[k] = &Group[V]{Value: v}
		}
	}
	if t.overflow != nil && out[Overflow] == nil {
		out[Overflow] = &Group[V]{Value: *t.overflow}
	}
	return out
}

// Lookup returns the series the pair of name and scope is counted in, and
// its value.
func (t *Table[V]) Lookup(name, scope string) (Key, V) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lookupLocked(name, scope)
}

func (t *Table[V]) lookupLocked(name, scope string) (Key, V) {
	k := Key{t.clean(name), t.clean(scope)}
	if v, ok := t.known[k]; ok {
		return k, v
	}
	if k == Overflow || len(t.known) >= t.max {
		if t.overflow == nil {
			v := t.make(Overflow)
			t.overflow = &v
		}
		return Overflow, *t.overflow
	}
	if t.known == nil {
		t.known = make(map[Key]V)
	}
	v := t.make(k)
	t.known[k] = v
	return k, v
}
