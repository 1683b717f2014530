//go:build !gc || !go1.26 || go1.28

package main

import "unsafe"

// Without the runtime's label pointer (a release ctxguard is not tested
// with), goroutines get no identity, and the counts leave it out.

type labelSet struct {
	list []struct{ key, value string }
}

func setProfLabel(unsafe.Pointer) {}

func getProfLabel() unsafe.Pointer { return nil }

const labelIdentity = false
