package ctxguard

import (
	"sync"
	"unsafe"
)

// Goroutine identity.
//
// To say where a lagging goroutine is blocked, the Monitor reads the stacks
// of all goroutines from the runtime (see capture.go) and must pick out the
// ones of its lagging records, exactly, among healthy goroutines that may
// run the same function from the same site and be blocked on the same line.
// There is no public goroutine ID, and the stack itself must say nothing:
// goroutines started the same way and blocked at the same place have to
// stay one entry of the goroutine and goroutineleak profiles, as they are
// under a go statement.
//
// What tells them apart is the address of their profiler label set. The
// runtime keeps, per goroutine, a pointer to the pprof label set it runs
// with (nil for none), and hands it out with each stack of its goroutine
// profile. A tracked goroutine runs with a label set of its own, held in
// its record: the same labels it had (the runtime/pprof profiles, which
// group goroutines by the labels' content, see no difference) at an
// address that is the record's. Setting it costs a few nanoseconds and no
// allocation.
//
// The runtime offers neither the pointer nor the profile with labels to
// packages outside the standard library, so they are linked by name
// (identity_linkname.go), on the Go releases this package is tested with;
// elsewhere identity_none.go leaves goroutines without identity, and a
// capture falls back to what their function tells (see capture.go). A
// goroutine whose function replaces its labels (pprof.Do,
// pprof.SetGoroutineLabels) loses its identity the same way, from then on.
// Goroutines it starts with a go statement inherit the pointer; a capture
// takes a stack for the record's only if it also holds the record's own
// frame, which a child's stack does not.

// labelSet has the layout of runtime/pprof's label set (labelMap, an
// internal/runtime/pprof/label.Set): what the runtime's per-goroutine
// pointer points to, and what runtime/pprof reads when it writes a profile
// or the runtime a traceback with GODEBUG=tracebacklabels=1.
type labelSet struct {
	list []profLabel
}

type profLabel struct {
	key, value string
}

// adopt makes the calling goroutine run with id as its label set, holding
// the labels it had.
func (id *labelSet) adopt() {
	if !labelIdentity {
		return
	}
	if p := getProfLabel(); p != nil {
		id.list = (*labelSet)(p).list
	}
	setProfLabel(unsafe.Pointer(id))
}

// A groupWait is the identity of a goroutine while it waits in a
// spawn.Group's Wait: the Group's number, and the label set it had before
// (its record's identity, if it is tracked).
type groupWait struct {
	labelSet // first: the runtime's pointer is to the groupWait
	group    uint64
	prev     unsafe.Pointer
}

// groupWaits lists the groupWaits in progress, by address.
var groupWaits sync.Map // unsafe.Pointer -> *groupWait

// waitGroup is track.Wait: wg.Wait, with the Group's number in the
// goroutine's identity meanwhile.
func waitGroup(group uint64, wg *sync.WaitGroup) {
	if !labelIdentity {
		wg.Wait()
		return
	}
	w := &groupWait{group: group, prev: getProfLabel()}
	if w.prev != nil {
		w.list = (*labelSet)(w.prev).list
	}
	p := unsafe.Pointer(w)
	groupWaits.Store(p, w)
	setProfLabel(p)
	defer func() {
		setProfLabel(w.prev)
		groupWaits.Delete(p)
	}()
	wg.Wait()
}
