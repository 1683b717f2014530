//go:build goexperiment.goroutineleakprofile || go1.27

package bench

import (
	"fmt"
	"testing"

	"github.com/ctxguard/ctxguard/bench/internal/compare"
	"github.com/ctxguard/ctxguard/bench/internal/probe"
)

// BenchmarkDetectLeakProfile compares Snapshot with writing Go's goroutine
// leak profile, in a test binary that has it: built with Go 1.27 or later,
//
//	go test -run '^$' -bench DetectLeakProfile ./bench
//
// or with Go 1.26 and the experiment:
//
//	GOEXPERIMENT=goroutineleakprofile go test -run '^$' -bench DetectLeakProfile ./bench
func BenchmarkDetectLeakProfile(b *testing.B) {
	for _, n := range benchOptions().DetectN {
		p, err := probe.Lagging(n)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/impl=ours", compare.Count(n)), p.Snapshot)
		b.Run(fmt.Sprintf("%s/impl=theirs", compare.Count(n)), p.LeakProfile)
		p.Stop()
	}
}
