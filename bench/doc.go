// Package bench compares ctxguard side by side with what it replaces or
// competes with, in one run:
//
//	go run ./bench/cmd/compare          # full run, under 10 minutes on 2 cores before instruction counts
//	go run ./bench/cmd/compare -quick   # under 2 minutes
//
// prints Markdown tables of medians, ours against theirs, with the ratio,
// the allocations of both, for the rows with a goal on one operation the
// instructions of both (counted by valgrind's cachegrind on one thread, in
// the full run or with -instr on; see bench/cmd/instr) and, where the
// project set one, whether the goal is met; then the detection matrix:
// which failure pattern of docs/design.md each detector finds, computed
// from runs of the programs in package patterns.
//
// The package exports nothing: the machinery lives in internal packages,
// so that nobody comes to depend on it. The comparisons with a testing.B
// body on both sides are also standard Go benchmarks, in this package's
// tests, for benchstat users:
//
//	go test -run '^$' -bench . -count 10 ./bench > new.txt
//	benchstat -col /impl new.txt
//
// The two sides of a comparison are run interleaved (A B A B ..., a short
// run each) and the medians compared, so that load which comes and goes on
// a shared machine does not favour one side.
//
// bench/cmd/floor counts, in prototypes, what the cheapest designs found
// that keep spawn.Go's contract cost: how far spawn.Go is from them
// (bench/RESULTS.md, issue 28's row 1).
//
// bench is a module of its own (see docs/modules.md): what it
// compares against (errgroup, conc, goleak, gRPC) is never in the module
// graph of a program that uses ctxguard.
package bench
