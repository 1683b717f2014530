package ctxguard

import (
	"reflect"
	"unsafe"

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

// optionsName returns what names a record spawned with opts to run fn:
// an explicit name, or else the code pointer of the function that names
// it, fn's if the options name none.
func optionsName(opts *track.Options, fn func(Context)) (string, uintptr) {
	switch {
	case opts.Name != "":
		return opts.Name, 0
	case opts.FuncPC != 0:
		return "", opts.FuncPC
	case opts.Func != nil:
		if v := reflect.ValueOf(opts.Func); v.Kind() == reflect.Func {
			return "", v.Pointer()
		}
		return typeName(reflect.TypeOf(opts.Func)), 0
	}
	return "", funcPC(fn)
}

// funcPC is the code pointer of fn, 0 for nil: what
// reflect.ValueOf(fn).Pointer() returns for a func, read directly (a func
// value points to a closure object whose first word is the code pointer),
// 2 loads instead of about 35 instructions on spawn.Go's path.
func funcPC(fn func(Context)) uintptr {
	if fn == nil {
		return 0
	}
	return **(**uintptr)(unsafe.Pointer(&fn))
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
// caller holds s.mu. A shard remembers the last cell it returned: a site
// that spawns in a loop hashes its key once.
func (s *shard) cellLocked(k spawnKey) *liveCell {
	if c := s.lastCell; c != nil && c.key == k {
		return c
	}
	if c := s.cells[k]; c != nil {
		s.lastCell = c
		return c
	}
	if s.cells == nil {
		s.cells = make(map[spawnKey]*liveCell)
	}
	c := &liveCell{key: k}
	s.cells[k] = c
	s.lastCell = c
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
			if s.lastCell == c {
				s.lastCell = nil
			}
		default:
			c.idle = true
		}
	}
}
