package spawn_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/internal/conformance"
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
	t.Logf("errgroup %s", mod.Version)
	conformance.Run(t, repo, sources, raceEnabled)
}
