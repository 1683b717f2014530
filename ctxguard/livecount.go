package ctxguard

import (
	"reflect"

	"github.com/ctxguard/ctxguard/internal/track"
)

// Live counts, kept as goroutines start and return, so that a Snapshot
// costs as much as there are distinct spawn sites and names, whatever the
// number of live goroutines.
//
// Each shard counts its live records per spawnKey, in cells it keeps while
// they are in use: registering increments a record's cell and returning
// decrements it, under the shard's lock that both take anyway, through a
// pointer the record keeps; the key is hashed once, at registration.

// A spawnKey is what a record's statistics entry is made of: the site that
// spawned it, its scope (and Monitor), and what names it.
type spawnKey struct {
	site   uintptr
	tr     *tracking
	namePC uintptr // the code pointer that names it, if name is ""
	name   string  // an explicit name: WithName's, or a handler type's
}

// keyOf returns the key of a record spawned with these.
func keyOf(site uintptr, tr *tracking, fnPC uintptr, opts *track.Options) spawnKey {
	k := spawnKey{site: site, tr: tr, namePC: fnPC}
	if opts != nil {
		switch {
		case opts.Name != "":
			k.name, k.namePC = opts.Name, 0
		case opts.FuncPC != 0:
			k.namePC = opts.FuncPC
		case opts.Func != nil:
			if v := reflect.ValueOf(opts.Func); v.Kind() == reflect.Func {
				k.namePC = v.Pointer()
			} else {
				k.name, k.namePC = typeName(v.Type()), 0
			}
		}
	}
	return k
}

// nameOf is the name a key gives its goroutines.
func (k *spawnKey) nameOf() string {
	if k.name != "" {
		return truncateLabel(k.name)
	}
	return pcName(k.namePC)
}

// A liveCell counts a shard's live records of one key. Guarded by the
// shard's mutex.
type liveCell struct {
	key  spawnKey
	n    int32
	idle bool // n was 0 at the last scan: the next one drops the cell
}

// cellLocked returns the shard's cell for k, making it if needed. The
// caller holds s.mu.
func (s *shard) cellLocked(k spawnKey) *liveCell {
	if c := s.cells[k]; c != nil {
		return c
	}
	if s.cells == nil {
		s.cells = make(map[spawnKey]*liveCell)
	}
	c := &liveCell{key: k}
	s.cells[k] = c
	return c
}

// pruneLocked drops the cells that stayed at 0 since the last scan: keys
// seen once go, keys in steady use keep their cell. The caller holds s.mu.
func (s *shard) pruneLocked() {
	for k, c := range s.cells {
		switch {
		case c.n > 0:
			c.idle = false
		case c.idle:
			delete(s.cells, k)
		default:
			c.idle = true
		}
	}
}
