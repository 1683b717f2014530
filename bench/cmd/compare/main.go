// Command compare runs ctxguard's side-by-side comparisons and prints them
// as Markdown: see package bench.
//
//	go run ./bench/cmd/compare          # the published run, under 10 minutes on 2 cores
//	go run ./bench/cmd/compare -quick   # under 2 minutes
//
// The full run also counts instructions per operation for the rows with
// goals on one operation, under valgrind's cachegrind if it is installed
// (-instr on|off to choose).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/ctxguard/ctxguard/bench/internal/compare"
)

func main() {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	quick := fs.Bool("quick", false, "shorter runs, fewer rounds, no 1M or 100k-detection rows (under 2 minutes)")
	smoke := fs.Bool("smoke", false, "a few iterations of the in-process comparisons only, in seconds: figures mean nothing")
	only := fs.String("only", "", "run only the groups whose title starts with this, such as \"MCP\" (no detection matrix)")
	instr := fs.String("instr", "", "count instructions per operation under valgrind: \"on\" or \"off\" (default: on in the full run only)")
	fs.Parse(os.Args[1:])
	opts := compare.Full()
	switch {
	case *smoke:
		opts = compare.Smoke()
	case *quick:
		opts = compare.Quick()
	}
	opts.Only = *only
	switch *instr {
	case "on":
		opts.Instr = true
	case "off":
		opts.Instr = false
	}
	command := "go run ./bench/cmd/compare"
	if len(os.Args) > 1 {
		command += " " + strings.Join(os.Args[1:], " ")
	}
	if err := compare.Run(os.Stdout, os.Stderr, opts, command); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}
