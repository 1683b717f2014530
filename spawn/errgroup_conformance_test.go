package spawn_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestErrgroupTests is the drop-in proof for Group: errgroup's own tests and
// examples, from golang.org/x/sync@latest in the module cache, pass against
// package spawn with only the import path changed. The copies live in a
// temporary module that replaces this module with the working tree.
func TestErrgroupTests(t *testing.T) {
	out, err := exec.Command("go", "mod", "download", "-json", "golang.org/x/sync@latest").Output()
	if err != nil {
		t.Fatalf("go mod download golang.org/x/sync@latest: %v", err)
	}
	var mod struct{ Dir, Version string }
	if err := json.Unmarshal(out, &mod); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(mod.Dir, "errgroup", "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no errgroup tests in %s: %v", mod.Dir, err)
	}
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const from, to = `"golang.org/x/sync/errgroup"`, `errgroup "github.com/ctxguard/ctxguard/spawn"`
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), from) {
			t.Fatalf("%s does not import %s", f, from)
		}
		out := strings.ReplaceAll(string(src), from, to)
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gomod := "module errgroupconformance\n\ngo 1.25\n\n" +
		"require github.com/ctxguard/ctxguard v0.0.0\n\n" +
		"replace github.com/ctxguard/ctxguard => " + strconv.Quote(repo) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if sum, err := os.ReadFile(filepath.Join(repo, "go.sum")); err == nil {
		if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"test", "-count=1"}
	if raceEnabled {
		args = append(args, "-race")
	}
	if testing.Short() {
		args = append(args, "-short")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	res, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("errgroup %s tests against spawn: %v\n%s", mod.Version, err, res)
	}
	t.Logf("errgroup %s tests against spawn:\n%s", mod.Version, res)
}
