package compare

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Instruction counts: times on a shared, virtualized machine move by more
// than the gaps the goals are about, and its perf counters are not
// available, so the comparisons that have goals on a single operation also
// count its instructions exactly, in valgrind's cachegrind, which runs one
// thread at a time. The helper (bench/cmd/instr) runs one side for n
// iterations under GOMAXPROCS=1; it runs at two counts, and the difference
// divided by the difference of n is what one iteration costs, without the
// program's start and the benchmark's setup. What it cannot see is what
// moves between cores: that is what the times are for.

// instrN are the two iteration counts the helper runs at; the median of
// instrRounds differences is taken (they agree within about 1% when the
// operation does not depend on time; see SpawnGoYield for one that did).
var instrN = [2]int{1_000, 6_000}

const instrRounds = 3

// Find returns the comparison named name among every group's, in full
// mode: what the instr helper runs. Groups with a Setup are left out.
func Find(name string) (Comparison, bool) {
	for _, g := range Groups(Full()) {
		if g.Setup != nil {
			continue
		}
		for _, c := range g.Comparisons {
			if c.Name == name {
				return c, true
			}
		}
	}
	return Comparison{}, false
}

// instrState is the helper, built once per run, or why there is none.
type instrState struct {
	once sync.Once
	bin  string
	err  error
}

// instructions returns the instructions per iteration of each side of c,
// or an error saying why they cannot be counted (no valgrind).
func (r *runner) instructions(c Comparison) (ours, theirs float64, err error) {
	r.instr.once.Do(func() {
		if _, err := exec.LookPath("valgrind"); err != nil {
			r.instr.err = errors.New("valgrind not found")
			return
		}
		bin := filepath.Join(r.tmp, "instr")
		t := time.Now()
		if _, err := r.commandIn(filepath.Join(r.repo, "bench"), nil, "go", "build", "-o", bin, "./cmd/instr"); err != nil {
			r.instr.err = err
			return
		}
		fmt.Fprintf(r.progress, "compare: built instr in %v\n", time.Since(t).Round(time.Millisecond))
		r.instr.bin = bin
	})
	if r.instr.err != nil {
		return 0, 0, r.instr.err
	}
	// One run at a time, the sides taking turns: a count depends on what
	// else runs. The go statement's side of the serial spawn row counted
	// 2,556-2,621 instructions per spawn alone and 2,722-2,782 beside
	// another valgrind process, while spawn.Go's side counted 3,757-3,843
	// either way: the ratio looked about 6% better.
	type run struct {
		side, round, j int
		ir             float64
	}
	var runs []*run
	for round := range instrRounds {
		for side := range 2 {
			for j := range instrN {
				runs = append(runs, &run{side: side, round: round, j: j})
			}
		}
	}
	for _, x := range runs {
		out, err := r.commandIn(r.tmp, []string{"GOMAXPROCS=1"}, "valgrind", "--tool=cachegrind",
			"--cache-sim=no", "--cachegrind-out-file=/dev/null", "--log-fd=1", r.instr.bin,
			"-name", c.Name, "-side", []string{"ours", "theirs"}[x.side], "-n", strconv.Itoa(instrN[x.j]))
		if err != nil {
			return 0, 0, err
		}
		if x.ir, err = instructionRefs(out); err != nil {
			return 0, 0, err
		}
	}
	var irs [2][instrRounds][2]float64
	for _, x := range runs {
		irs[x.side][x.round][x.j] = x.ir
	}
	var per [2]float64
	for side := range 2 {
		var counts []float64
		for _, ir := range irs[side] {
			counts = append(counts, (ir[1]-ir[0])/float64(instrN[1]-instrN[0]))
		}
		slices.Sort(counts)
		per[side] = counts[len(counts)/2]
	}
	return per[0], per[1], nil
}

var irefs = regexp.MustCompile(`I\s+refs:\s+([0-9,]+)`)

// instructionRefs reads cachegrind's count of instructions executed from
// its summary.
func instructionRefs(out []byte) (float64, error) {
	m := irefs.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no instruction count in valgrind's output:\n%s", out)
	}
	return strconv.ParseFloat(strings.ReplaceAll(string(m[1]), ",", ""), 64)
}

// formatInstr formats instructions per operation.
func formatInstr(ours, theirs float64) string {
	f := func(v float64) string {
		if v >= 10_000 {
			return fmt.Sprintf("%.1fk", v/1000)
		}
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%s/%s (%.2fx)", f(ours), f(theirs), ours/theirs)
}
