package compare

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/ctxguard/ctxguard/bench/internal/probe"
)

// Groups returns the comparisons opts asks for, in the order they are
// printed, each with its rounds and benchtime set. Groups whose rows come
// from other programs (External) are included only if opts asks for them;
// with opts.Only, only the groups whose title starts with it.
func Groups(opts Options) []Group {
	var gs []Group
	add := func(g Group, rounds int, benchtime string) {
		if !strings.HasPrefix(g.Title, opts.Only) {
			return
		}
		g.rounds, g.benchtime = rounds, benchtime
		gs = append(gs, g)
	}
	add(SpawnGroup(), opts.Rounds, opts.Benchtime)
	add(ConstructorGroup(), opts.Rounds, opts.Benchtime)
	if opts.Stdlib {
		add(StdlibGroup(), opts.StdlibRounds, opts.StdlibBenchtime)
	}
	add(MiddlewareGroup(), opts.Rounds, opts.Benchtime)
	add(MCPGroup(), opts.Rounds, opts.Benchtime)
	add(IdleGroup(opts.IdleN, opts.IdleWindow), opts.IdleRounds, "1x")
	for _, n := range opts.DetectN {
		add(DetectionGroup(n, opts.LeakProfile), opts.DetectRounds, opts.DetectBenchtime)
	}
	for _, n := range opts.BlockedN {
		add(BlockedGroup(n), opts.DetectRounds, opts.DetectBenchtime)
	}
	for _, n := range opts.ScaleN {
		add(ScaleGroup(n), opts.DetectRounds, opts.DetectBenchtime)
	}
	return gs
}

// runner holds what one Run needs.
type runner struct {
	opts     Options
	w        io.Writer // the report
	progress io.Writer
	repo     string // the repository's working tree (the root module)
	tmp      string

	helperMu sync.Mutex
	helpers  map[bool]string // built helpers, by leak profile experiment
	missed   []string        // goals missed, for the summary
	instr    instrState
}

// Run runs the comparisons opts asks for and writes the Markdown report to
// w, and progress lines to progress (nil for none). command is the command
// line to print at the top.
func Run(w, progress io.Writer, opts Options, command string) error {
	if progress == nil {
		progress = io.Discard
	}
	repo, err := moduleDir()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "ctxguard-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	r := &runner{opts: opts, w: w, progress: progress, repo: repo, tmp: tmp, helpers: map[bool]string{}}

	start := time.Now()
	fmt.Fprintf(w, "# ctxguard side by side\n\n")
	fmt.Fprintf(w, "- command: `%s` (mode %s)\n", command, opts.Mode)
	for _, line := range machineInfo() {
		fmt.Fprintf(w, "- %s\n", line)
	}
	fmt.Fprintf(w, "- started: %s\n\n", start.UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "Medians of interleaved runs (ours, theirs, ours, theirs, ...). ratio = ours / theirs; "+
		"allocs are per operation; instructions per operation are counted exactly by valgrind's cachegrind "+
		"(GOMAXPROCS=1, bench/cmd/instr) for the rows that show them. The machine may be shared and loaded: "+
		"read ratios, not absolute figures.\n\n")

	for _, g := range Groups(opts) {
		t := time.Now()
		fmt.Fprintf(progress, "compare: %s ...\n", g.Title)
		if err := r.group(g); err != nil {
			return fmt.Errorf("%s: %w", g.Title, err)
		}
		fmt.Fprintf(progress, "compare: %s done in %v\n", g.Title, time.Since(t).Round(time.Millisecond))
	}
	if opts.Matrix && opts.Only == "" {
		t := time.Now()
		fmt.Fprintf(progress, "compare: detection matrix ...\n")
		if err := r.matrix(); err != nil {
			return fmt.Errorf("detection matrix: %w", err)
		}
		fmt.Fprintf(progress, "compare: detection matrix done in %v\n", time.Since(t).Round(time.Millisecond))
	}

	fmt.Fprintf(w, "## Goals\n\n")
	switch {
	case opts.Mode == "smoke":
		fmt.Fprintf(w, "Not judged: a smoke run's figures mean nothing.\n\n")
	case len(r.missed) == 0:
		fmt.Fprintf(w, "Every goal was met in this run.\n\n")
	default:
		fmt.Fprintf(w, "Missed in this run:\n\n")
		for _, m := range r.missed {
			fmt.Fprintf(w, "- %s\n", m)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Took %v.\n", time.Since(start).Round(time.Second))
	return nil
}

// group runs one group and writes its table.
func (r *runner) group(g Group) error {
	var rows []Row
	results := map[string][2]probe.Result{}
	if len(g.Comparisons) > 0 {
		teardown := func() {}
		if g.Setup != nil {
			var err error
			if teardown, err = g.Setup(); err != nil {
				return err
			}
		}
		for _, c := range g.Comparisons {
			benchtime := g.benchtime
			if c.Once {
				benchtime = "1x"
			}
			rounds := g.rounds
			if c.MaxRounds > 0 {
				rounds = min(rounds, c.MaxRounds)
			}
			rs := probe.Interleave(rounds, benchtime, c.Ours.Bench, c.Theirs.Bench)
			results[c.Name] = [2]probe.Result{rs[0], rs[1]}
			crows := c.rows(rs[0], rs[1])
			if c.Instr && r.opts.Instr {
				ours, theirs, err := r.instructions(c)
				if err != nil {
					crows[0].Instr = "n/a"
					fmt.Fprintf(r.progress, "compare: %s: instructions not counted: %v\n", c.Name, err)
				} else {
					crows[0].Instr = formatInstr(ours, theirs)
				}
			}
			rows = append(rows, crows...)
		}
		teardown()
	}
	if g.Derive != nil {
		rows = append(rows, g.Derive(results)...)
	}
	if g.External != nil {
		ext, err := g.External(r)
		if err != nil {
			return err
		}
		rows = append(rows, ext...)
	}

	fmt.Fprintf(r.w, "## %s\n\n%s\n\n", g.Title, g.About)
	header := []string{"operation", "ours", "theirs", "ratio", "allocs (ours/theirs)", "instructions (ours/theirs)", "goal"}
	writeTableRow(r.w, header)
	writeTableRow(r.w, separators(len(header)))
	for _, row := range rows {
		if r.opts.Mode == "smoke" && row.Goal != "" {
			row.Goal = "not judged (smoke)"
		}
		writeTableRow(r.w, []string{row.Op, row.Ours, row.Theirs, row.Ratio, row.Allocs, row.Instr, row.Goal})
		if strings.HasPrefix(row.Goal, "MISSED") {
			r.missed = append(r.missed, fmt.Sprintf("%s: %s vs %s (%s), goal %s",
				row.Op, row.Ours, row.Theirs, row.Ratio, strings.TrimPrefix(row.Goal, "MISSED ")))
		}
	}
	fmt.Fprintln(r.w)
	for _, n := range g.Notes {
		fmt.Fprintf(r.w, "%s\n\n", n)
	}
	return nil
}

func writeTableRow(w io.Writer, cells []string) {
	for i, c := range cells {
		cells[i] = strings.ReplaceAll(c, "|", `\|`)
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}

func separators(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = "---"
	}
	return s
}

// machineInfo describes the machine and toolchain.
func machineInfo() []string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return []string{
		fmt.Sprintf("machine: %s/%s, %s, NumCPU %d, GOMAXPROCS %d", runtime.GOOS, runtime.GOARCH, cpu,
			runtime.NumCPU(), runtime.GOMAXPROCS(0)),
		fmt.Sprintf("Go: %s", runtime.Version()),
	}
}

// moduleDir returns the working tree of the ctxguard repository (the root
// module's directory): the nearest directory above this file, or else above
// the working directory, whose go.mod declares module
// github.com/ctxguard/ctxguard.
func moduleDir() (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for {
			b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
			if err == nil && bytes.HasPrefix(b, []byte("module github.com/ctxguard/ctxguard\n")) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("bench: cannot find the ctxguard repository; run from its working tree")
}

// helper returns the detect helper, built once per run, with the goroutine
// leak profile if leak is set.
func (r *runner) helper(leak bool) (string, error) {
	r.helperMu.Lock()
	defer r.helperMu.Unlock()
	if bin, ok := r.helpers[leak]; ok {
		return bin, nil
	}
	bin := filepath.Join(r.tmp, "detect")
	var env []string
	if leak {
		bin += "-leakprofile"
		experiment, err := r.leakProfileExperiment()
		if err != nil {
			return "", err
		}
		if experiment {
			env = append(env, "GOEXPERIMENT=goroutineleakprofile")
		}
	}
	t := time.Now()
	if _, err := r.commandIn(filepath.Join(r.repo, "bench"), env, "go", "build", "-o", bin, "./cmd/detect"); err != nil {
		return "", err
	}
	fmt.Fprintf(r.progress, "compare: built %s in %v\n", filepath.Base(bin), time.Since(t).Round(time.Millisecond))
	r.helpers[leak] = bin
	return bin, nil
}

// leakProfileExperiment tells whether the go command's toolchain needs
// GOEXPERIMENT=goroutineleakprofile for the goroutine leak profile: Go 1.26
// has it only under the experiment; from Go 1.27 on it is a standard profile
// and the experiment is gone (naming it is an error).
func (r *runner) leakProfileExperiment() (bool, error) {
	out, err := r.commandIn(filepath.Join(r.repo, "bench"), nil, "go", "env", "GOVERSION")
	if err != nil {
		return false, err
	}
	return probe.LeakProfileNeedsExperiment(strings.TrimSpace(string(out))), nil
}

// command runs a built program and returns its standard output.
func (r *runner) command(name string, args ...string) ([]byte, error) {
	return r.commandIn(r.tmp, nil, name, args...)
}

// commandIn runs name in dir with env added, and returns its standard
// output; on failure the error carries its standard error.
func (r *runner) commandIn(dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out, nil
}
