//go:build gc && go1.26 && !go1.28

package main

import "unsafe"

// Identity as ctxguard gives it (ctxguard/identity.go): the goroutine runs
// with a label set held in its record, the labels it had, at an address
// that is the record's. The runtime's label pointer is linked by name, on
// the releases ctxguard is tested with.

// labelSet has the layout of runtime/pprof's label set.
type labelSet struct {
	list []struct{ key, value string }
}

//go:linkname setProfLabel runtime/pprof.runtime_setProfLabel
func setProfLabel(labels unsafe.Pointer)

//go:linkname getProfLabel runtime/pprof.runtime_getProfLabel
func getProfLabel() unsafe.Pointer

const labelIdentity = true
