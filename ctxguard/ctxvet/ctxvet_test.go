package ctxvet_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"
	"golang.org/x/tools/go/packages"

	"github.com/ctxguard/ctxguard/ctxguard/ctxvet"
)

func TestLostCancel(t *testing.T) {
	setFlag(t, ctxvet.LostCancel, "enable", "true")
	analysistest.Run(t, analysistest.TestData(), ctxvet.LostCancel, "./lostcancel")
}

func TestGoCtx(t *testing.T) {
	setFlag(t, ctxvet.GoCtx, "enable", "true")
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), ctxvet.GoCtx, "./goctx")
}

func TestGoCtxEverywhere(t *testing.T) {
	setFlag(t, ctxvet.GoCtx, "enable", "true")
	setFlag(t, ctxvet.GoCtx, "everywhere", "true")
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), ctxvet.GoCtx, "./goctxeverywhere")
}

// setFlag sets an analyzer flag for the rest of the test.
func setFlag(t *testing.T, a *analysis.Analyzer, name, value string) {
	t.Helper()
	old := a.Flags.Lookup(name).Value.String()
	if err := a.Flags.Set(name, value); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Flags.Set(name, old) })
}

// TestGoCtxFixesCompile type-checks the goctx and chanleak testdata with every file
// replaced by its golden file, the code as the suggested fixes leave it:
// the fixes must compile, not merely match the text.
func TestGoCtxFixesCompile(t *testing.T) {
	for _, pkg := range []string{"goctx", "goctxeverywhere", "chanleak", "chanleakall"} {
		t.Run(pkg, func(t *testing.T) { fixesCompile(t, pkg) })
	}
}

func fixesCompile(t *testing.T, pkg string) {
	dir := filepath.Join(analysistest.TestData(), pkg)
	goldens, err := filepath.Glob(filepath.Join(dir, "*.go.golden"))
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no golden files in %s: %v", dir, err)
	}
	overlay := make(map[string][]byte)
	for _, golden := range goldens {
		src, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		overlay[strings.TrimSuffix(golden, ".golden")] = src
	}
	cfg := &packages.Config{
		Mode:    packages.NeedName | packages.NeedTypes | packages.NeedSyntax | packages.NeedTypesInfo,
		Dir:     analysistest.TestData(),
		Env:     append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off"),
		Overlay: overlay,
	}
	pkgs, err := packages.Load(cfg, "./"+pkg)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 1 {
		t.Fatalf("loaded %d packages, want 1", len(pkgs))
	}
	for _, e := range pkgs[0].Errors {
		t.Errorf("fixed code does not compile: %v", e)
	}
}

func TestSelectDone(t *testing.T) {
	setFlag(t, ctxvet.SelectDone, "enable", "true")
	analysistest.Run(t, analysistest.TestData(), ctxvet.SelectDone, "./selectdone")
}

func TestBrokenChain(t *testing.T) {
	setFlag(t, ctxvet.BrokenChain, "enable", "true")
	analysistest.Run(t, analysistest.TestData(), ctxvet.BrokenChain, "./brokenchain/...")
}

func TestBuiltinKey(t *testing.T) {
	setFlag(t, ctxvet.BuiltinKey, "enable", "true")
	analysistest.Run(t, analysistest.TestData(), ctxvet.BuiltinKey, "./builtinkey")
}

func TestIgnoreDirective(t *testing.T) {
	setFlag(t, ctxvet.GoCtx, "enable", "true")
	setFlag(t, ctxvet.LostCancel, "enable", "true")
	analysistest.Run(t, analysistest.TestData(), ctxvet.GoCtx, "./ignore/goctx")
	analysistest.Run(t, analysistest.TestData(), ctxvet.LostCancel, "./ignore/lostcancel")
}

// TestChanLeak runs chanleak with -done and -tests: a channel never
// received from, a select that leaves on a context's Done or a timer
// outside test files, and test support (a file importing testing, a
// package under e2e) reported as test code.
func TestChanLeak(t *testing.T) {
	setFlag(t, ctxvet.ChanLeak, "tests", "true")
	setFlag(t, ctxvet.ChanLeak, "done", "true")
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), ctxvet.ChanLeak, "./chanleak")
	analysistest.Run(t, analysistest.TestData(), ctxvet.ChanLeak, "./chanleaktests/...")
}

// Without -done, chanleak reports a select left through a timer's case
// and not one left through a context's Done.
func TestChanLeakWithoutDone(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), ctxvet.ChanLeak, "./chanleaknodone")
}

// TestChanLeakAll runs chanleak with -all: every way out without a
// receive. The cases of chanleak hold for it too, and more are reported.
func TestChanLeakAll(t *testing.T) {
	setFlag(t, ctxvet.ChanLeak, "tests", "true")
	setFlag(t, ctxvet.ChanLeak, "all", "true")
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), ctxvet.ChanLeak, "./chanleakall")
	analysistest.Run(t, analysistest.TestData(), ctxvet.ChanLeak, "./chanleaktests/...")
}

// By default chanleak leaves test code alone: the leaks it reports with
// -tests in chanleaktests give nothing without it, with -done too.
func TestChanLeakLeavesTestsByDefault(t *testing.T) {
	reportsNothing(t, ctxvet.ChanLeak, "./chanleaktests/...")
	setFlag(t, ctxvet.ChanLeak, "done", "true")
	reportsNothing(t, ctxvet.ChanLeak, "./chanleaktests/...")
}

// TestOffByDefault runs the checks that are off by default on code they
// would report, without enabling them: they report nothing.
func TestOffByDefault(t *testing.T) {
	off := ctxvet.OffByDefault()
	if len(off) != 5 {
		t.Fatalf("%d checks off by default, want 5", len(off))
	}
	for _, a := range off {
		t.Run(a.Name, func(t *testing.T) { reportsNothing(t, a, "./"+a.Name) })
	}
}

// reportsNothing runs a on the testdata packages of pattern, whose want
// comments it ignores, and fails if a reports anything there.
func reportsNothing(t *testing.T, a *analysis.Analyzer, pattern string) {
	t.Helper()
	results := analysistest.Run(&quiet{t}, analysistest.TestData(), a, pattern)
	if len(results) == 0 {
		t.Fatalf("no package analysed")
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", a.Name, r.Err)
		}
		if len(r.Diagnostics) > 0 {
			t.Errorf("%s reported %d findings in %s, want none", a.Name, len(r.Diagnostics), r.Pass.Pkg.Path())
		}
	}
}

// quiet is a testing.T on which analysistest's complaints about expected
// findings that did not come are dropped: here none should come.
type quiet struct{ *testing.T }

func (q *quiet) Errorf(format string, args ...any) {}

// The testdata module is loaded with GOPROXY=off (analysistest), so each
// module it requires must already be in the module cache, at the version
// it requires: building this package's tests puts golang.org/x/sync there
// at ctxvet's own version, so testdata must require that one. On a fresh
// module cache another version made the chanleak tests fail, or pass only
// when another module's tests had downloaded it first.
func TestTestdataRequiresOurXSync(t *testing.T) {
	ours, theirs := requiredVersion(t, "go.mod", "golang.org/x/sync"), requiredVersion(t, "testdata/go.mod", "golang.org/x/sync")
	if ours != theirs {
		t.Errorf("testdata/go.mod requires golang.org/x/sync %s, go.mod %s: make them the same", theirs, ours)
	}
}

// requiredVersion returns the version of path that the go.mod file at
// name requires.
func requiredVersion(t *testing.T, name, path string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(fields) >= 2 && fields[0] == path {
			return fields[1]
		}
	}
	t.Fatalf("%s does not require %s", name, path)
	return ""
}
