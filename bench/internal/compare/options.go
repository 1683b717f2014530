package compare

import "time"

// Options say how long and at what sizes the comparisons run.
type Options struct {
	Mode string // "full", "quick" or "smoke", printed with the results
	// Only, if set, runs only the groups whose title starts with it, and
	// not the detection matrix.
	Only string

	// Rounds and Benchtime are for the per-operation comparisons: each side
	// runs Rounds times for Benchtime (a duration, or Nx iterations).
	Rounds    int
	Benchtime string

	// IdleN are the live goroutine counts of the idle comparisons;
	// IdleWindow is how long CPU is measured while they sit idle.
	IdleN      []int
	IdleWindow time.Duration
	IdleRounds int

	// DetectN are the goroutine counts "which goroutines are lagging?" is
	// asked at.
	DetectN         []int
	DetectRounds    int
	DetectBenchtime string

	// BlockedN are the lagging goroutine counts "where are they blocked?"
	// is asked at (rounds and benchtime as for DetectN).
	BlockedN []int

	// ScaleN are the live goroutine counts at which Snapshot and spawn.Go
	// latency under Snapshots are measured.
	ScaleN []int

	// Stdlib runs package context's own benchmarks against both packages.
	Stdlib          bool
	StdlibRounds    int
	StdlibBenchtime string

	// LeakProfile measures Go's goroutine leak profile in a helper built
	// with it (standard from Go 1.27; GOEXPERIMENT=goroutineleakprofile on
	// Go 1.26).
	LeakProfile bool

	// Matrix runs the failure patterns under every detector.
	Matrix bool

	// Instr counts the instructions per operation of the comparisons
	// that ask for it, under valgrind if it is installed (instr.go).
	Instr bool
}

// Full is the published run: under 10 minutes on 2 cores.
func Full() Options {
	return Options{
		Mode:   "full",
		Rounds: 9, Benchtime: "200ms",
		IdleN: []int{10_000, 100_000, 1_000_000}, IdleWindow: 2 * time.Second, IdleRounds: 3,
		DetectN: []int{1_000, 10_000, 100_000}, DetectRounds: 5, DetectBenchtime: "200ms",
		BlockedN: []int{10_000, 100_000},
		ScaleN:   []int{100_000, 1_000_000},
		Stdlib:   true, StdlibRounds: 5, StdlibBenchtime: "100ms",
		LeakProfile: true,
		Matrix:      true,
		Instr:       true,
	}
}

// Quick is Full at shorter runs and fewer rounds, without the largest
// sizes (1M idle and at-scale rows, 100k detection and where-blocked
// rows): under 2 minutes on 2 cores once the build cache is warm.
func Quick() Options {
	return Options{
		Mode:   "quick",
		Rounds: 5, Benchtime: "40ms",
		IdleN: []int{10_000, 100_000}, IdleWindow: 500 * time.Millisecond, IdleRounds: 3,
		// Not 100k: goleak alone takes some 30 s a pass there.
		DetectN: []int{1_000, 10_000}, DetectRounds: 3, DetectBenchtime: "40ms",
		BlockedN: []int{10_000},
		ScaleN:   []int{100_000},
		Stdlib:   true, StdlibRounds: 3, StdlibBenchtime: "10ms",
		LeakProfile: true,
		Matrix:      true,
	}
}

// Smoke runs every in-process comparison a few iterations at small sizes,
// in seconds, and nothing that builds or runs another program: for tests.
// Its figures mean nothing.
func Smoke() Options {
	return Options{
		Mode:   "smoke",
		Rounds: 1, Benchtime: "20x",
		IdleN: []int{1_000}, IdleWindow: 20 * time.Millisecond, IdleRounds: 1,
		DetectN: []int{500}, DetectRounds: 1, DetectBenchtime: "2x",
		BlockedN: []int{500},
		ScaleN:   []int{1_000},
	}
}
