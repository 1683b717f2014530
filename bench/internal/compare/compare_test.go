package compare

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const tableHeader = "| operation | ours | theirs | ratio | allocs (ours/theirs) | instructions (ours/theirs) | goal |"

// The smoke run is the compare command end to end, in-process, at a few
// iterations: every group prints its table, and every comparison its rows.
func TestSmokeRunPrintsEveryRow(t *testing.T) {
	var out bytes.Buffer
	if err := Run(&out, nil, Smoke(), "go run ./bench/cmd/compare -smoke"); err != nil {
		t.Fatal(err)
	}
	report := out.String()
	groups := Groups(Smoke())
	if got := strings.Count(report, tableHeader+"\n"); got != len(groups) {
		t.Errorf("%d table headers, want one per group: %d\n%s", got, len(groups), report)
	}
	var want []string
	for _, g := range groups {
		want = append(want, "## "+g.Title+"\n")
		for _, c := range g.Comparisons {
			for _, m := range c.metrics() {
				want = append(want, "\n| "+c.Op+m.Suffix+" | ")
			}
		}
	}
	want = append(want,
		"\n| httpguard.Handler around the mux: added cost in-process (guarded − bare) vs a bare loopback request | ",
		"\n| httpguard.ServeMux: added cost in-process (guarded − bare) vs a bare loopback request | ",
		"\n- machine: ", "\n- Go: go", "\n## Goals\n")
	for _, w := range want {
		if !strings.Contains(report, w) {
			t.Errorf("report lacks %q", w)
		}
	}
	if strings.Contains(report, "MISSED") || strings.Contains(report, "met (") {
		t.Errorf("a smoke run judged goals:\n%s", report)
	}
	if t.Failed() {
		t.Logf("report:\n%s", report)
	}
}

func newRunner(t *testing.T, opts Options) *runner {
	t.Helper()
	repo, err := moduleDir()
	if err != nil {
		t.Fatal(err)
	}
	return &runner{opts: opts, w: &bytes.Buffer{}, progress: testWriter{t}, repo: repo, tmp: t.TempDir(), helpers: map[bool]string{}}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", bytes.TrimSpace(p))
	return len(p), nil
}

// The matrix's parsers are judged on the detectors' real outputs: the
// helper runs patterns under them, and go vet reads the pattern files.
func TestMatrixParsesRealOutputs(t *testing.T) {
	r := newRunner(t, Quick())
	bin, err := r.helper(false)
	if err != nil {
		t.Fatal(err)
	}
	run := func(id, with string) []byte {
		out, err := r.command(bin, "pattern", "-id", id, "-with", with)
		if err != nil {
			t.Errorf("%s under %s: %v", id, with, err)
		}
		return out
	}
	var goleakP9, ctxguardP3b, ctxguardOK []byte
	var vet map[string][]string
	var vetErr error
	var wg sync.WaitGroup
	wg.Go(func() { goleakP9 = run("p9", "goleak") })
	wg.Go(func() { ctxguardP3b = run("p3b", "ctxguard") })
	wg.Go(func() { ctxguardOK = run("ok", "ctxguard") })
	wg.Go(func() { vet, vetErr = r.vetPatterns() })
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	for _, c := range []struct {
		what  string
		parse func([]byte, string) (bool, error)
		out   []byte
		id    string
		want  bool
	}{
		{"goleak finds p9's goroutine", FoundByGoleak, goleakP9, "p9", true},
		{"goleak's p9 report names no other pattern", FoundByGoleak, goleakP9, "p2a", false},
		{"ctxguard finds p3b's dropped cancel", FoundByCtxguard, ctxguardP3b, "p3b", true},
		{"ctxguard's p3b report names no other pattern", FoundByCtxguard, ctxguardP3b, "p3a", false},
		{"ctxguard finds nothing in the control", FoundByCtxguard, ctxguardOK, "ok", false},
	} {
		got, err := c.parse(c.out, c.id)
		if err != nil || got != c.want {
			t.Errorf("%s: got %v, %v; want %v\noutput:\n%s", c.what, got, err, c.want, c.out)
		}
	}

	if vetErr != nil {
		t.Fatal(vetErr)
	}
	var flagged []string
	for id := range vet {
		flagged = append(flagged, id)
	}
	if slices.Sort(flagged); !slices.Equal(flagged, []string{"p3a"}) {
		t.Errorf("go vet flagged %v (%v), want only p3a: lostcancel within one function", flagged, vet)
	}
}

// The whole matrix, with the helper built with the leak profile experiment.
func TestMatrixTable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the helper twice and runs 40 processes")
	}
	r := newRunner(t, Quick())
	if err := r.matrix(); err != nil {
		t.Fatal(err)
	}
	report := r.w.(*bytes.Buffer).String()
	if strings.Contains(report, "error:") {
		t.Fatalf("a cell has an error:\n%s", report)
	}
	cells := map[string][]string{}
	for _, line := range strings.Split(report, "\n") {
		f := strings.Split(strings.Trim(line, "| "), " | ")
		if len(f) == 3+len(detectors)+1 {
			cells[f[0]] = f[3:]
		}
	}
	// Columns: ctxguard, goleak, leak profile, leak profile under spawn.Go, go vet.
	for id, want := range map[string][]string{
		"p2a": {"found", "found", "found", "", "not found"},
		"p2b": {"found", "found", "not found", "not found", "not found"},
		"p3b": {"found", "not found", "not found", "not found", "not found"},
		"p8":  {"found", "found", "found", "", "not found"},
		"ok":  {"not found", "not found", "not found", "not found", "not found"},
	} {
		got := cells[id]
		if len(got) != len(want) {
			t.Errorf("no row for %s in:\n%s", id, report)
			continue
		}
		for i, w := range want {
			if w != "" && got[i] != w {
				t.Errorf("%s, column %d: %q, want %q", id, i, got[i], w)
			}
		}
	}
	for _, p := range []string{"p1", "p3a", "p4a", "p4b", "p9"} {
		if cells[p] == nil {
			t.Errorf("no row for %s", p)
		}
	}
}

func TestLeakProfileCost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the helper with the leak profile experiment")
	}
	r := newRunner(t, Options{DetectRounds: 1, DetectBenchtime: "2x"})
	rows, err := r.leakProfileRows(200)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !strings.HasPrefix(rows[0].Op, "Snapshot vs goroutineleak profile, 200 (reported 0 leaked)") {
		t.Errorf("rows = %+v", rows)
	}
}

func TestStdlibBenchmarksRunAgainstBoth(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles package context's benchmarks twice")
	}
	r := newRunner(t, Options{StdlibRounds: 1, StdlibBenchtime: "1x"})
	rows, err := r.stdlibRows()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, row := range rows {
		names = append(names, row.Op)
	}
	for _, want := range []string{"BenchmarkCommonParentCancel", "BenchmarkCancelTree/depth=10/Root=Background", "BenchmarkErrCanceled"} {
		if !slices.Contains(names, want) {
			t.Errorf("no row %s in %v", want, names)
		}
	}
}

func TestRewriteImport(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "patterns", "p3a.go"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := RewriteImport("p3a.go", src, "github.com/ctxguard/ctxguard/ctxguard", "context")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "\t\"context\"\n") || strings.Contains(string(got), "ctxguard/ctxguard") {
		t.Errorf("rewritten:\n%s", got)
	}
	dot := []byte("package x_test\n\nimport (\n\t. \"context\"\n\t\"testing\"\n)\n\nvar _ = Background\nvar _ testing.B\n")
	got, err = RewriteImport("x_test.go", dot, "context", "github.com/ctxguard/ctxguard/ctxguard")
	if err != nil || !strings.Contains(string(got), `. "github.com/ctxguard/ctxguard/ctxguard"`) {
		t.Errorf("dot import rewritten to:\n%s (%v)", got, err)
	}
	if _, err := RewriteImport("x_test.go", dot, "fmt", "strings"); err == nil {
		t.Error("rewriting an import the file lacks did not fail")
	}
}

func TestParseBenchOutput(t *testing.T) {
	out := []byte("goos: linux\nBenchmarkErrOK-2   \t1000000\t         1.9 ns/op\t       0 B/op\t       0 allocs/op\n" +
		"BenchmarkCancelTree/depth=1/Root=Background-2 \t 20\t 54.5 ns/op\t 96 B/op\t 2 allocs/op\nPASS\n")
	got, err := ParseBenchOutput(out)
	want := []stdlibResult{{"BenchmarkErrOK", 1.9, 0}, {"BenchmarkCancelTree/depth=1/Root=Background", 54.5, 2}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("got %v, %v; want %v", got, err, want)
	}
	if _, err := ParseBenchOutput([]byte("--- FAIL: BenchmarkX\nFAIL\n")); err == nil {
		t.Error("a failed run parsed without error")
	}
}
