// Package cputime reads the process's CPU time, for benchmarks that report
// what an operation costs in CPU beside its wall-clock time: on a machine
// shared with other work, waiting for a core inflates ns/op but not the
// CPU time, and work the operation causes on other goroutines (a tracer's
// reader, a Monitor's loop) is counted in it.
package cputime

import (
	"testing"
	"time"
)

// Report returns a func that, called at the end of b's timed loop, reports
// the process's user and system CPU time since Report as "cpu-ns/op". It
// reports nothing where the platform has no such count.
func Report(b *testing.B) func() {
	start, ok := process()
	return func() {
		if end, _ := process(); ok && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// Start returns a func that returns the process's user and system CPU
// time since Start, 0 where the platform has no such count.
func Start() func() time.Duration {
	start, ok := process()
	return func() time.Duration {
		end, _ := process()
		if !ok {
			return 0
		}
		return end - start
	}
}
