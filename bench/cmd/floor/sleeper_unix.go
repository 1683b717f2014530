//go:build linux || darwin || freebsd || netbsd || openbsd

package main

import (
	"syscall"
	"time"
)

// sleep blocks its goroutine's thread in the kernel for d: no runtime
// timer is armed meanwhile (the thread is in a system call, and the
// runtime hands its P to others).
func sleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
