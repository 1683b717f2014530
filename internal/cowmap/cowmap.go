// Package cowmap is a copy-on-write map for small caches that are read on
// hot paths and written a bounded number of times: names by code pointer,
// scopes by route, options by handler. A read is an atomic pointer load and
// a map lookup, with no lock and no allocation (sync.Map boxes keys that are
// not pointers into interfaces, which allocates); a write copies the map.
package cowmap

import (
	"sync"
	"sync/atomic"
)

// A Map is safe for concurrent use. The zero Map is empty and ready.
type Map[K comparable, V any] struct {
	mu sync.Mutex // serializes writers
	m  atomic.Pointer[map[K]V]
}

// Load returns the value stored for k, if any.
func (c *Map[K, V]) Load(k K) (v V, ok bool) {
	if p := c.m.Load(); p != nil {
		v, ok = (*p)[k]
	}
	return v, ok
}

// Range calls f with each key and value, as of one moment.
func (c *Map[K, V]) Range(f func(K, V)) {
	if p := c.m.Load(); p != nil {
		for k, v := range *p {
			f(k, v)
		}
	}
}

// Len returns the number of keys.
func (c *Map[K, V]) Len() int {
	if p := c.m.Load(); p != nil {
		return len(*p)
	}
	return 0
}

// LoadOrStore returns the value stored for k, or stores v and returns it
// when there is none, unless the map already holds max keys (max > 0): then
// it returns v without storing it. loaded reports whether v was found.
// It copies the map, so it costs O(Len).
func (c *Map[K, V]) LoadOrStore(k K, v V, max int) (actual V, loaded bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	var n map[K]V
	if old != nil {
		if a, ok := (*old)[k]; ok {
			return a, true
		}
		if max > 0 && len(*old) >= max {
			return v, false
		}
		n = make(map[K]V, len(*old)+1)
		for key, val := range *old {
			n[key] = val
		}
	} else {
		n = make(map[K]V, 1)
	}
	n[k] = v
	c.m.Store(&n)
	return v, false
}
