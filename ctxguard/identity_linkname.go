//go:build gc && go1.26 && !go1.28

package ctxguard

import "unsafe"

// The runtime's label pointer and its goroutine profile with labels, linked
// by name. Their signatures are those of Go 1.26 and 1.27 (checked by
// TestLabelIdentityWorks on each); a release this file is not built for
// gets identity_none.go until it has been checked too.

const labelIdentity = true

//go:linkname setProfLabel runtime/pprof.runtime_setProfLabel
func setProfLabel(labels unsafe.Pointer)

//go:linkname getProfLabel runtime/pprof.runtime_getProfLabel
func getProfLabel() unsafe.Pointer

// profileRecord has the layout of internal/profilerecord.StackRecord.
type profileRecord struct {
	stack []uintptr
}

//go:linkname runtimeGoroutineProfile runtime.pprof_goroutineProfileWithLabels
func runtimeGoroutineProfile(p []profileRecord, labels []unsafe.Pointer) (n int, ok bool)

// goroutineProfile returns every goroutine's stack (innermost first, at
// most 128 frames) and label pointer. Like runtime.GoroutineProfile it
// stops the world only for a few microseconds, whatever the goroutine
// count.
func goroutineProfile() (stacks [][]uintptr, labels []unsafe.Pointer) {
	n, _ := runtimeGoroutineProfile(nil, nil)
	for {
		n += n/8 + 16
		records := make([]profileRecord, n)
		labels = make([]unsafe.Pointer, n)
		m, ok := runtimeGoroutineProfile(records, labels)
		if ok {
			stacks = make([][]uintptr, m)
			for i := range stacks {
				stacks[i] = records[i].stack
			}
			return stacks, labels[:m]
		}
		n = m
	}
}

// maxProfileFrames is how many frames goroutineProfile keeps of a stack at
// most (runtime/debug's default profstackdepth).
const maxProfileFrames = 128
