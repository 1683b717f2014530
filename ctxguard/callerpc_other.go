//go:build !amd64

package ctxguard

import "runtime"

// callerPC returns the pc at which the function calling callerPC will return
// to its own caller, as runtime.Callers reports it.
//
//go:noinline
func callerPC() uintptr {
	var pc [1]uintptr
	// 0 is runtime.Callers, 1 callerPC, 2 the constructor, 3 its caller.
	runtime.Callers(3, pc[:])
	return pc[0]
}
