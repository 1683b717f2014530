//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package main

import "time"

// sleep is time.Sleep here: a runtime timer, so that the sleeper variants
// cost what the timer ones do.
func sleep(d time.Duration) { time.Sleep(d) }
