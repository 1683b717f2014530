//go:build !(gc && go1.26 && !go1.28)

package ctxguard

import (
	"runtime"
	"unsafe"
)

// Goroutines have no identity on a release identity_linkname.go is not
// built for: a capture tells them apart only by their function (see
// capture.go).

const labelIdentity = false

func setProfLabel(unsafe.Pointer) {}

func getProfLabel() unsafe.Pointer { return nil }

// goroutineProfile returns every goroutine's stack (innermost first, at
// most 32 frames) and, here, no label pointers.
func goroutineProfile() (stacks [][]uintptr, labels []unsafe.Pointer) {
	var records []runtime.StackRecord
	n, ok := runtime.NumGoroutine(), false
	for !ok {
		records = make([]runtime.StackRecord, n+n/8+16)
		n, ok = runtime.GoroutineProfile(records)
	}
	stacks = make([][]uintptr, n)
	for i := range stacks {
		stacks[i] = records[i].Stack()
	}
	return stacks, make([]unsafe.Pointer, n)
}

const maxProfileFrames = 32
