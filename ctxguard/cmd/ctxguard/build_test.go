package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const leakLib = `package t2

import "context"

// Wait returns once ctx ends.
func Wait(ctx context.Context, done chan<- struct{}) {
	go func() {
		<-ctx.Done()
		close(done)
	}()
}

// Stuck ignores ctx.
func Stuck(ctx context.Context, ch chan int) {
	go func() {
		<-ch
	}()
}
`

const leakTests = `package t2

import (
	"context"
	"testing"
)

func TestLeaks(t *testing.T) {
	t.Parallel()
	Stuck(t.Context(), make(chan int))
}

func TestLeaksDerived(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	Stuck(ctx, make(chan int))
}

func TestClean(t *testing.T) {
	t.Parallel()
	Wait(t.Context(), make(chan struct{}))
}

func TestBackground(t *testing.T) {
	t.Parallel()
	Stuck(context.Background(), make(chan int))
}

func TestReleasedByCleanup(t *testing.T) {
	t.Parallel()
	stop := make(chan int)
	t.Cleanup(func() { close(stop) }) // before the first t.Context(): runs after the test's context ended
	Stuck(t.Context(), stop)
}

func TestSubtests(t *testing.T) {
	t.Run("leaks", func(t *testing.T) {
		Stuck(t.Context(), make(chan int))
	})
	t.Run("clean", func(t *testing.T) {
		stop := make(chan int)
		t.Cleanup(func() { close(stop) })
		Stuck(t.Context(), stop)
	})
}

func TestOwnContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	Stuck(ctx, make(chan int))
	cancel()
}
`

// TestTestFailsTheLeakingTest runs ctxguard test on a module that does not
// require ctxguard: among parallel tests, exactly those whose context a
// goroutine outlives fail, with the go statement's line and the blocking
// line of the files as written; the files stay as they are.
func TestTestFailsTheLeakingTest(t *testing.T) {
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "")
	mod := "module example.com/t2\n\ngo 1.24\n" // raised to the core's go 1.25.0 in the alternate go.mod
	dir := writeModule(t, map[string][]byte{"go.mod": []byte(mod), "lib.go": []byte(leakLib), "lib_test.go": []byte(leakTests)})
	code, stdout, stderr := runIn(t, dir, "test", "-ctxguard", repoRoot(t), "-count=1", "-v", "./...")
	if code != 1 {
		t.Errorf("exit %d, want 1 (go test's)", code)
	}
	for _, want := range []string{
		"--- FAIL: TestLeaks ",
		"--- FAIL: TestLeaksDerived ",
		"--- PASS: TestClean ",
		"--- PASS: TestBackground ",
		"--- PASS: TestOwnContext ",
		"--- PASS: TestReleasedByCleanup ",
		"--- FAIL: TestSubtests/leaks ",
		"--- PASS: TestSubtests/clean ",
		"spawned at example.com/t2/lib.go:15, still running 1s after the test's context was cancelled",
		"blocked at example.com/t2/lib.go:16 (chan receive)",
		// The test function's first line: the check is its first Cleanup.
		"lib_test.go:8: ctxguardtest: 1 goroutine(s)",
		"lib_test.go:13: ctxguardtest: 1 goroutine(s)",
		"lib_test.go:38: ctxguardtest: 1 goroutine(s)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if n := strings.Count(stdout, "ctxguardtest: "); n != 3 {
		t.Errorf("%d failures reported, want 3:\n%s", n, stdout)
	}
	if !strings.Contains(stderr, "ctxguard test: 2 go statements: 2 tracked, 0 left") {
		t.Errorf("summary:\n%s", stderr)
	}
	for name, want := range map[string]string{"go.mod": mod, "lib.go": leakLib, "lib_test.go": leakTests} {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != want {
			t.Errorf("%s changed:\n%s", name, got)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); err == nil {
		t.Errorf("go.sum written")
	}

	// Under go test the same tests pass: the goroutines are untracked.
	code, stdout, _ = runIn(t, dir, "test", "-ctxguard", repoRoot(t), "-grace", "100ms", "-count=1", "-run", "TestClean|TestBackground", "./...")
	if code != 0 {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

// TestTestGrace: -grace sets how long the test's goroutines may run.
func TestTestGrace(t *testing.T) {
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "")
	dir := writeModule(t, map[string][]byte{"go.mod": []byte("module example.com/t2\n\ngo 1.25.0\n"), "lib.go": []byte(leakLib), "lib_test.go": []byte(leakTests)})
	code, stdout, _ := runIn(t, dir, "test", "-q", "-ctxguard", repoRoot(t), "-grace=50ms", "-count=1", "-run=TestLeaks$", ".")
	if code != 1 || !strings.Contains(stdout, "still running 50ms after") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

// TestTestNeedsCore: without the core module, a clear error says what to do.
func TestTestNeedsCore(t *testing.T) {
	t.Setenv("GOWORK", "off")
	t.Setenv("CTXGUARD_CORE", "")
	dir := writeModule(t, map[string][]byte{"go.mod": []byte("module example.com/t2\n\ngo 1.25.0\n"), "lib.go": []byte(leakLib)})
	code, _, stderr := runIn(t, dir, "build", ".")
	if code != 1 || !strings.Contains(stderr, "go get github.com/ctxguard/ctxguard/spawn") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}

	// Raising a go line below 1.22 would change what loop variables mean.
	dir = writeModule(t, map[string][]byte{"go.mod": []byte("module example.com/t2\n\ngo 1.21\n"), "lib.go": []byte(leakLib)})
	code, _, stderr = runIn(t, dir, "build", "-ctxguard", repoRoot(t), ".")
	if code != 1 || !strings.Contains(stderr, "loop variables") {
		t.Errorf("go 1.21: exit %d:\n%s", code, stderr)
	}
}

const positionsProgram = `package main

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
)

func where(out chan<- string) {
	_, file, line, _ := runtime.Caller(1)
	out <- fmt.Sprintf("%s:%d", filepath.Base(file), line)
}

func report(out chan<- string, a, b int) { where(out) }

func main() {
	ctx := context.Background()
	out := make(chan string)
	n := 1
	go report(out,
		n,
		n+1)
	fmt.Println(<-out)
	go func(a int) {
		where(out)
	}(
		n,
	)
	fmt.Println(<-out)
	go func() {
		where(out)
	}()
	fmt.Println(<-out)
	go func() { where(out) }()
	fmt.Println(<-out)
	where2 := func() {
		_, file, line, _ := runtime.Caller(0)
		out <- fmt.Sprintf("%s:%d", filepath.Base(file), line)
	}
	go where2()
	fmt.Println(<-out)
	_ = ctx
	panic("at the end")
}
`

// TestRunKeepsPositions: ctxguard run prints the same file:line positions
// as go run, though the go statements run rewritten.
func TestRunKeepsPositions(t *testing.T) {
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	dir := writeModule(t, map[string][]byte{"main.go": []byte(positionsProgram)})
	_, want, wantErr := runIn(t, dir, "run", "-ctxguard", repoRoot(t), ".")
	if !strings.Contains(wantErr, "ctxguard run: 5 go statements: 5 tracked, 0 left") {
		t.Errorf("summary:\n%s", wantErr)
	}
	cmdOut := goRun(t, dir)
	if want != cmdOut.stdout {
		t.Errorf("ctxguard run printed:\n%s\ngo run:\n%s", want, cmdOut.stdout)
	}
	if !strings.Contains(wantErr, "main.go:44") || !strings.Contains(cmdOut.stderr, "main.go:44") {
		t.Errorf("panic positions:\n%s\ngo run's:\n%s", wantErr, cmdOut.stderr)
	}
}

// lineDirectiveProgram has a //line directive (as generated-from-template
// files do, without being marked generated) before a go statement whose
// rewrite changes its line count.
const lineDirectiveProgram = `package main

import "context"

func work(ctx context.Context, n int) {}

func main() {
	ctx := context.Background()
	n := 1
	n++
//line template.tmpl:100
	go work(ctx,
		n+1)
	panic("after")
}
`

// TestRunKeepsLineDirectives: positions after a rewritten statement are
// still those the file's //line directives give.
func TestRunKeepsLineDirectives(t *testing.T) {
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	dir := writeModule(t, map[string][]byte{"main.go": []byte(lineDirectiveProgram)})
	_, _, stderr := runIn(t, dir, "run", "-ctxguard", repoRoot(t), ".")
	if !strings.Contains(stderr, "1 go statements: 1 tracked") {
		t.Errorf("summary:\n%s", stderr)
	}
	if cmdOut := goRun(t, dir); !strings.Contains(cmdOut.stderr, "template.tmpl:102") || !strings.Contains(stderr, "template.tmpl:102") {
		t.Errorf("panic positions:\n%s\ngo run's:\n%s", stderr, cmdOut.stderr)
	}
}

// TestRunFiles: go run's .go file arguments are rewritten as its package
// would be.
func TestRunFiles(t *testing.T) {
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	src := "package main\n\nimport \"context\"\n\nfunc main() {\n\tctx := context.Background()\n\tdone := make(chan struct{})\n\tgo func() { close(done) }()\n\t<-done\n\t_ = ctx\n}\n"
	dir := writeModule(t, map[string][]byte{"main.go": []byte(src)})
	code, _, stderr := runIn(t, dir, "run", "-ctxguard", repoRoot(t), "main.go")
	if code != 0 || !strings.Contains(stderr, "1 go statements: 1 tracked") {
		t.Errorf("exit %d:\n%s", code, stderr)
	}
	code, _, stderr = runIn(t, dir, "fix", "-diff", "main.go")
	if code != 0 || !strings.Contains(stderr, "1 go statements: 1 converted") {
		t.Errorf("fix: exit %d:\n%s", code, stderr)
	}
}

type outputs struct{ stdout, stderr string }

func goRun(t *testing.T, dir string) outputs {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("go", "run", ".")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &stdout, &stderr
	cmd.Run() // it panics
	return outputs{stdout.String(), stderr.String()}
}

// TestTestDeps: -deps rewrites the go statements of dependencies too, so a
// test leaking through a dependency's goroutine fails only with it.
func TestTestDeps(t *testing.T) {
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "")
	root := repoRoot(t)
	dir := writeModule(t, map[string][]byte{
		"go.mod": []byte("module example.com/app\n\ngo 1.25.0\n\nrequire example.com/t2 v0.0.0\n\nreplace example.com/t2 => ./dep\n"),
		"app_test.go": []byte(`package app

import (
	"testing"

	"example.com/t2"
)

func TestThroughDependency(t *testing.T) {
	t2.Stuck(t.Context(), make(chan int))
}
`),
		"dep/go.mod": []byte("module example.com/t2\n\ngo 1.25.0\n"),
		"dep/lib.go": []byte(leakLib),
	})
	code, stdout, stderr := runIn(t, dir, "test", "-ctxguard", root, "-count=1", ".")
	if code != 0 || !strings.Contains(stderr, "0 go statements") {
		t.Errorf("without -deps: exit %d:\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runIn(t, dir, "test", "-deps", "-ctxguard", root, "-count=1", ".")
	if code != 1 || !strings.Contains(stdout, "--- FAIL: TestThroughDependency") || !strings.Contains(stdout, "spawned at example.com/t2/lib.go:15") {
		t.Errorf("with -deps: exit %d:\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "2 go statements: 2 tracked") {
		t.Errorf("with -deps: summary:\n%s", stderr)
	}
}

// TestBuildArgs: ctxguard's flags are taken out, go's and the program's
// are passed on as given.
func TestBuildArgs(t *testing.T) {
	for _, tc := range []struct {
		verb     string
		args     []string
		goArgs   []string
		deps     bool
		patterns []string
	}{
		{"test", []string{"-deps", "-run", "-deps", "./..."}, []string{"-run", "-deps", "./..."}, true, []string{"./..."}},
		{"test", []string{"-v", "./a", "-grace=2s", "-args", "-deps"}, []string{"-v", "./a", "-args", "-deps"}, false, []string{"./a"}},
		{"run", []string{"-tags", "x", ".", "-deps", "-grace", "1s"}, []string{"-tags", "x", ".", "-deps", "-grace", "1s"}, false, []string{"."}},
		{"run", []string{"-deps", "main.go", "util.go", "arg"}, []string{"main.go", "util.go", "arg"}, true, []string{"main.go", "util.go"}},
		{"build", []string{"-o", "bin", "-race"}, []string{"-o", "bin", "-race"}, false, []string{"."}},
	} {
		c, err := parseBuildArgs(tc.verb, tc.args)
		if err != nil {
			t.Errorf("%s %q: %v", tc.verb, tc.args, err)
			continue
		}
		patterns, _ := splitGoArgs(tc.verb, c.goArgs)
		if strings.Join(c.goArgs, " ") != strings.Join(tc.goArgs, " ") || c.deps != tc.deps || strings.Join(patterns, " ") != strings.Join(tc.patterns, " ") {
			t.Errorf("%s %q: go args %q, deps %v, patterns %q; want %q, %v, %q", tc.verb, tc.args, c.goArgs, c.deps, patterns, tc.goArgs, tc.deps, tc.patterns)
		}
	}
	if _, err := parseBuildArgs("test", []string{"-overlay=x.json"}); err == nil {
		t.Errorf("-overlay accepted")
	}
}

// TestBuildReusesRewrite: a second run over the same files gives the same
// result; a changed file is rewritten again.
func TestBuildReusesRewrite(t *testing.T) {
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "")
	dir := writeModule(t, map[string][]byte{"go.mod": []byte("module example.com/t2\n\ngo 1.25.0\n"), "lib.go": []byte(leakLib)})
	for i, want := range []string{"2 go statements: 2 tracked", "2 go statements: 2 tracked"} {
		code, _, stderr := runIn(t, dir, "build", "-ctxguard", repoRoot(t), ".")
		if code != 0 || !strings.Contains(stderr, want) {
			t.Errorf("run %d: exit %d:\n%s", i, code, stderr)
		}
	}
	more := leakLib + "\nfunc More(ctx context.Context) { go Stuck(ctx, nil) }\n"
	if err := os.WriteFile(filepath.Join(dir, "lib.go"), []byte(more), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runIn(t, dir, "build", "-ctxguard", repoRoot(t), ".")
	if code != 0 || !strings.Contains(stderr, "3 go statements: 3 tracked") {
		t.Errorf("after a change: exit %d:\n%s", code, stderr)
	}
}

// TestTestDepsFromModuleCache: go refuses to overlay the module cache, so
// -deps builds a rewritten dependency of the cache from a copy. It needs
// coder/websocket v1.8.15 from the module proxy (or the cache).
func TestTestDepsFromModuleCache(t *testing.T) {
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	dir := writeModule(t, map[string][]byte{
		"go.mod": []byte("module example.com/app\n\ngo 1.25.0\n\nrequire github.com/coder/websocket v1.8.15\n"),
		"app_test.go": []byte(`package app

import (
	"context"
	"testing"

	"github.com/coder/websocket"
)

func TestDial(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := websocket.Dial(ctx, "ws://127.0.0.1:1", nil); err == nil {
		t.Fatal("dialled a closed port")
	}
}
`),
	})
	cmd := exec.Command("go", "mod", "download", "github.com/coder/websocket@v1.8.15")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("coder/websocket is not available: %v\n%s", err, out)
	}
	for range 2 { // the second run reuses the rewrite and its copy
		code, stdout, stderr := runIn(t, dir, "test", "-deps", "-ctxguard", repoRoot(t), "-count=1", ".")
		if code != 0 || !strings.Contains(stderr, "2 go statements: 1 tracked") {
			t.Fatalf("exit %d:\n%s\n%s", code, stdout, stderr)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "go.mod")); strings.Contains(string(got), "replace") {
		t.Errorf("go.mod changed:\n%s", got)
	}
}
