package spawn_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/internal/conformance"
)

// TestErrgroupTests is the drop-in proof for Group: errgroup's own tests and
// examples pass against package spawn with only the import path changed.
// They are taken from golang.org/x/sync at the version the bench module
// selects (the errgroup spawn is compared with there), from the module
// cache, so that the test is reproducible; the copies live in a temporary
// module that replaces the core module with the working tree. The test is
// skipped, saying why, when that version cannot be had.
func TestErrgroupTests(t *testing.T) {
	version, dir := errgroupModule(t)
	files, err := filepath.Glob(filepath.Join(dir, "errgroup", "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no errgroup tests in %s: %v", dir, err)
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	const from, to = `"golang.org/x/sync/errgroup"`, `errgroup "github.com/ctxguard/ctxguard/spawn"`
	sources := map[string][]byte{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), from) {
			t.Fatalf("%s does not import %s", f, from)
		}
		sources[filepath.Base(f)] = []byte(strings.ReplaceAll(string(src), from, to))
	}
	t.Logf("errgroup %s", version)
	conformance.Run(t, repo, sources, raceEnabled)
}

// errgroupModule returns the version of golang.org/x/sync that the bench
// module selects and its directory in the module cache, downloading it if
// need be; it skips the test if either cannot be had.
func errgroupModule(t *testing.T) (version, dir string) {
	t.Helper()
	bench := filepath.Join("..", "bench")
	// Read by go list below; read here too, so that a change of the
	// version invalidates go test's cached result.
	if _, err := os.ReadFile(filepath.Join(bench, "go.mod")); err != nil {
		t.Skipf("the bench module, whose go.mod pins the errgroup to test against, is not here: %v", err)
	}
	var mod struct{ Version, Dir string }
	goJSON(t, bench, &mod, "list", "-m", "-json", "golang.org/x/sync")
	if mod.Dir == "" {
		goJSON(t, bench, &mod, "mod", "download", "-json", "golang.org/x/sync@"+mod.Version)
	}
	return mod.Version, mod.Dir
}

// goJSON runs the go command in dir, outside the workspace, and decodes its
// JSON output into v; it skips the test if the command fails (the module
// proxy cannot be reached and the module cache lacks the module).
func goJSON(t *testing.T, dir string, v any, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("cannot get golang.org/x/sync at the bench module's version to test against: go %s: %v\n%s",
			strings.Join(args, " "), err, stderr.Bytes())
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
}
