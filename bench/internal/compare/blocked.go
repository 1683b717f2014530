package compare

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/ctxguard/ctxguard/bench/internal/probe"
	"github.com/ctxguard/ctxguard/internal/track"
)

// BlockedGroup compares ways of asking "where are the lagging goroutines
// blocked?" about n goroutines started with spawn.Go whose context has
// ended, all lagging, and as many healthy ones (their context is live)
// running the same code: ctxguard's stack capture, which reads every
// goroutine's stack from the runtime's goroutine profile (concurrent: the
// world stops for microseconds) and picks out exactly the lagging ones by
// their label sets, against runtime.Stack(buf, true), the
// goroutine dump behind /debug/pprof/goroutine?debug=2 and goleak, which
// stops the world while it formats every stack and cannot tell lagging
// goroutines from healthy ones.
func BlockedGroup(n int) Group {
	var p, healthy *probe.Population
	buf := make([]byte, 64<<20)
	return Group{
		Title: fmt.Sprintf("Where are they blocked? %s lagging goroutines", Count(n)),
		About: fmt.Sprintf("%d goroutines started with spawn.Go, lagging, and %d healthy ones of the same code. "+
			"ctxguard's capture (what the Monitor runs, at most once every 100 times its own duration, when lagging "+
			"goroutines have no known stack) against a goroutine dump, runtime.Stack(buf, true). The dump stops the "+
			"world for its whole duration.", n, n),
		Setup: func() (func(), error) {
			var err error
			if p, err = probe.Lagging(n); err != nil {
				return nil, err
			}
			healthy = probe.Healthy(n)
			return func() { healthy.Stop(); p.Stop() }, nil
		},
		Comparisons: []Comparison{{
			Name: fmt.Sprintf("Blocked/%s", Count(n)),
			Op:   fmt.Sprintf("stack capture vs goroutine dump, %s lagging + %s healthy", Count(n), Count(n)),
			Ours: Side{"capture", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if found := track.CaptureStacks(p.Monitor); found != n {
						b.Fatalf("capture found %d of %d", found, n)
					}
				}
			}},
			Theirs: Side{"runtime.Stack(all)", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					runtime.Stack(buf, true)
				}
			}},
		}},
	}
}
