//go:build !amd64

// Package callsite finds the site that called a library entry point, cheaply.
package callsite

import "runtime"

// CallerPC returns the pc at which the function calling CallerPC will return
// to its own caller, as runtime.Callers reports it. The calling function
// must not be inlined.
//
//go:noinline
func CallerPC() uintptr {
	var pc [1]uintptr
	// 0 is runtime.Callers, 1 CallerPC, 2 the entry point, 3 its caller.
	runtime.Callers(3, pc[:])
	return pc[0]
}
