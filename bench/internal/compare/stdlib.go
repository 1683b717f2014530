package compare

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/ctxguard/ctxguard/bench/internal/probe"
)

// Package context's own benchmarks, from the Go installation running the
// comparison, against package context and against ctxguard: the file is
// read at run time from GOROOT (never copied into this repository), its
// import of context rewritten for the ctxguard side, and both compiled as
// test binaries in a temporary module that replaces the core module with
// the working tree (the core requires no other module, so the temporary
// module needs no go.sum and no network). The two binaries then run in turn, Rounds times each.

const stdlibBenchFile = "benchmark_test.go"

// StdlibGroup is package context's benchmarks, paired by name.
func StdlibGroup() Group {
	return Group{
		Title: "Package context's own benchmarks",
		About: "$(go env GOROOT)/src/context/benchmark_test.go, compiled once as it is and once with its import of " +
			"context (a dot import) changed to ctxguard, run in turn and paired by benchmark name. Most of them " +
			"exercise contexts once created (Done, Err, Value, cancel propagation), where ctxguard returns package " +
			"context's own types and should be even; the ones that create contexts in their loop " +
			"(CommonParentCancel, CancelTree, WithTimeout) pay for ctxguard's sampling decision.",
		External: (*runner).stdlibRows,
		Notes: []string{"CancelTree's buildContextTree drops every cancel func (root, _ = WithCancel(root)). With " +
			"Root=Background those contexts are never done, so ctxguard counts them as dropped cancels, which is " +
			"its job: the sampled ones get a finalizer that runs and records the site. Part of what those " +
			"rows add is that detection work, not the constructors' fast path."},
	}
}

func (r *runner) stdlibRows() ([]Row, error) {
	goroot, err := r.commandIn(r.repo, nil, "go", "env", "GOROOT")
	if err != nil {
		return nil, err
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "src", "context", stdlibBenchFile))
	if err != nil {
		return nil, err
	}
	guard, err := RewriteImport(stdlibBenchFile, src, "context", "github.com/ctxguard/ctxguard/ctxguard")
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(r.tmp, "stdlib")
	files := map[string][]byte{
		"std/" + stdlibBenchFile:   src,
		"guard/" + stdlibBenchFile: guard,
		"go.mod": []byte("module stdlibbench\n\ngo 1.25.0\n\nrequire github.com/ctxguard/ctxguard v0.0.0\n\n" +
			"replace github.com/ctxguard/ctxguard => " + strconv.Quote(r.repo) + "\n"),
	}
	for name, b := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return nil, err
		}
	}
	env := []string{"GOWORK=off"}
	bins := map[string]string{}
	for _, side := range []string{"std", "guard"} {
		bins[side] = filepath.Join(dir, side+".test")
		if _, err := r.commandIn(dir, env, "go", "test", "-c", "-o", bins[side], "./"+side); err != nil {
			return nil, err
		}
	}
	results := map[string]map[string][]stdlibResult{"std": {}, "guard": {}}
	var order []string
	for range r.opts.StdlibRounds {
		for _, side := range []string{"std", "guard"} {
			out, err := r.commandIn(dir, nil, bins[side], "-test.run", "^$", "-test.bench", ".",
				"-test.benchmem", "-test.benchtime", r.opts.StdlibBenchtime)
			if err != nil {
				return nil, err
			}
			parsed, err := ParseBenchOutput(out)
			if err != nil {
				return nil, err
			}
			for _, res := range parsed {
				if side == "std" && results[side][res.Name] == nil {
					order = append(order, res.Name)
				}
				results[side][res.Name] = append(results[side][res.Name], res)
			}
		}
	}
	var rows []Row
	for _, name := range order {
		std, guard := results["std"][name], results["guard"][name]
		if guard == nil {
			return nil, fmt.Errorf("%s ran against context but not ctxguard", name)
		}
		ours, theirs := stdlibMedians(guard), stdlibMedians(std)
		c := Comparison{Op: name}
		rows = append(rows, c.rows(ours, theirs)...)
	}
	return rows, nil
}

// A stdlibResult is one line of go test -bench output.
type stdlibResult struct {
	Name                 string
	NsPerOp, AllocsPerOp float64
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+[\d.]+ B/op\s+([\d.]+) allocs/op)?`)

// ParseBenchOutput reads the result lines of go test -bench output, with
// the -GOMAXPROCS suffix dropped from the names. It fails if a benchmark
// failed or none ran.
func ParseBenchOutput(out []byte) ([]stdlibResult, error) {
	var rs []stdlibResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "--- FAIL") || line == "FAIL" {
			return nil, fmt.Errorf("a benchmark failed:\n%s", out)
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		r := stdlibResult{Name: m[1]}
		r.NsPerOp, _ = strconv.ParseFloat(m[2], 64)
		if m[3] != "" {
			r.AllocsPerOp, _ = strconv.ParseFloat(m[3], 64)
		}
		rs = append(rs, r)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("no benchmark results in:\n%s", out)
	}
	return rs, sc.Err()
}

func stdlibMedians(rs []stdlibResult) probe.Result {
	var ns, allocs []float64
	for _, r := range rs {
		ns = append(ns, r.NsPerOp)
		allocs = append(allocs, r.AllocsPerOp)
	}
	return probe.Result{NsPerOp: probe.Median(ns), AllocsPerOp: probe.Median(allocs), Rounds: len(rs)}
}
