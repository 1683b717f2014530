package bench

import (
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/bench/internal/compare"
)

// The comparisons as standard benchmarks, for benchstat users:
//
//	go test -run '^$' -bench . -count 10 ./bench > new.txt
//	benchstat -col /impl new.txt
//
// Each comparison is Benchmark<Group>/<name>/impl=ours and impl=theirs.
// Sizes are those of the full run, or of the smoke run under -short or
// the race detector (which allows at most 8128 live goroutines). Package
// context's benchmarks and the detection matrix run other programs and are
// only in the compare command; the leak profile has its own benchmark in
// leakprofile_bench_test.go.

func benchOptions() compare.Options {
	if testing.Short() || raceEnabled {
		return compare.Smoke()
	}
	return compare.Full()
}

func runGroup(b *testing.B, g compare.Group) {
	if g.Setup != nil {
		teardown, err := g.Setup()
		if err != nil {
			b.Fatal(err)
		}
		defer teardown()
	}
	for _, c := range g.Comparisons {
		_, name, _ := strings.Cut(c.Name, "/")
		b.Run(name+"/impl=ours", c.Ours.Bench)
		b.Run(name+"/impl=theirs", c.Theirs.Bench)
	}
}

func BenchmarkSpawn(b *testing.B) {
	runGroup(b, compare.SpawnGroup())
}

func BenchmarkConstructors(b *testing.B) {
	runGroup(b, compare.ConstructorGroup())
}

func BenchmarkMiddleware(b *testing.B) {
	runGroup(b, compare.MiddlewareGroup())
}

func BenchmarkMCP(b *testing.B) {
	runGroup(b, compare.MCPGroup())
}

func BenchmarkIdle(b *testing.B) {
	opts := benchOptions()
	runGroup(b, compare.IdleGroup(opts.IdleN, opts.IdleWindow))
}

func BenchmarkDetect(b *testing.B) {
	for _, n := range benchOptions().DetectN {
		runGroup(b, compare.DetectionGroup(n, false))
	}
}

func BenchmarkBlocked(b *testing.B) {
	for _, n := range benchOptions().BlockedN {
		runGroup(b, compare.BlockedGroup(n))
	}
}

func BenchmarkScale(b *testing.B) {
	for _, n := range benchOptions().ScaleN {
		runGroup(b, compare.ScaleGroup(n))
	}
}
