// Command instr runs one side of one of compare's comparisons for a fixed
// number of iterations, for compare to count its instructions under
// valgrind's cachegrind (an exact count where times drift):
//
//	GOMAXPROCS=1 valgrind --tool=cachegrind --cache-sim=no instr -name Spawn/Go/serial/vs=WaitGroup -side ours -n 20000
//
// The count includes the program's start and the benchmark's setup; compare
// runs it at two iteration counts and divides the difference.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/ctxguard/ctxguard/bench/internal/compare"
)

func main() {
	fs := flag.NewFlagSet("instr", flag.ExitOnError)
	name := fs.String("name", "", "the comparison's name, as go test -bench shows it")
	side := fs.String("side", "ours", "ours or theirs")
	n := fs.Int("n", 1000, "iterations")
	fs.Parse(os.Args[1:])
	c, ok := compare.Find(*name)
	if !ok {
		fmt.Fprintf(os.Stderr, "instr: no comparison named %q\n", *name)
		os.Exit(2)
	}
	sides := [2]compare.Side{c.Ours, c.Theirs}
	if c.InstrSides != nil {
		sides = *c.InstrSides
	}
	bench := sides[0].Bench
	if *side == "theirs" {
		bench = sides[1].Bench
	}
	testing.Init()
	if err := flag.Set("test.benchtime", strconv.Itoa(*n)+"x"); err != nil {
		panic(err)
	}
	r := testing.Benchmark(bench)
	fmt.Printf("%d %d\n", r.N, r.MemAllocs)
}
