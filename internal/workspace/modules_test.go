package workspace

import (
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// root is the repository's working tree, where go.work is.
const root = "../.."

// modulesRan is whether TestModules has run in this process.
var modulesRan bool

// TestModules runs go test ./... in every module of go.work but this one,
// each on its own (GOWORK=off), so that it builds against the versions its
// own go.mod selects: the oldest ones the integrations support, not the
// newer ones another module of the workspace may require. It runs one
// package at a time, passes on -race (when this test binary has the race
// detector), -short, -v and -count, and fails with the output of each
// module whose tests fail.
//
// go test caches this test's result keyed on the files it opened, so it
// reads every file of the modules it tests: a change there runs it again
// (and go test in that module then reruns what the change concerns).
func TestModules(t *testing.T) {
	if modulesRan {
		// -count=N runs this test N times; the first passed -count=N on.
		t.Skip("the modules' tests ran at the first run of this test, with this -count")
	}
	modulesRan = true
	modules := workspaceModules(t)
	if len(modules) == 0 {
		t.Fatal("go.work lists no module besides the root")
	}
	// One package at a time: the go test running this test already runs
	// up to GOMAXPROCS test binaries at once, this one among them (idle
	// while it waits), so the machine carries about the load it would
	// if the modules were one.
	args := []string{"test", "-p=1"}
	if raceEnabled {
		args = append(args, "-race")
	}
	if testing.Short() {
		args = append(args, "-short")
	}
	if testing.Verbose() {
		args = append(args, "-v")
	}
	flag.Visit(func(f *flag.Flag) {
		if f.Name == "test.count" {
			args = append(args, "-count="+f.Value.String())
		}
	})
	if deadline, ok := t.Deadline(); ok {
		// Leave this test time to report: a module that hangs fails with
		// its own timeout and goroutine dump.
		left := time.Until(deadline) - 30*time.Second
		if left <= 0 {
			t.Fatalf("too little time left to test the modules: -timeout ends at %v", deadline)
		}
		args = append(args, "-timeout="+left.Round(time.Second).String())
	}
	args = append(args, "./...")
	for _, dir := range modules {
		readAll(t, filepath.Join(root, dir))
		start := time.Now()
		cmd := exec.Command("go", args...)
		cmd.Dir = filepath.Join(root, dir)
		cmd.Env = append(os.Environ(), "GOWORK=off")
		out, err := cmd.CombinedOutput()
		took := time.Since(start).Round(time.Second)
		if err != nil {
			t.Errorf("module %s: go %s: %v after %v\n%s", dir, strings.Join(args, " "), err, took, out)
			continue
		}
		t.Logf("module %s: go %s: %v\n%s", dir, strings.Join(args, " "), took, out)
	}
}

// workspaceModules returns the directories of go.work's use directives,
// the root excluded, slash-separated and relative, as go work edit -json
// lists them.
func workspaceModules(t *testing.T) []string {
	t.Helper()
	if _, err := os.ReadFile(filepath.Join(root, "go.work")); err != nil { // go test reruns this test when it changes
		t.Fatal(err)
	}
	cmd := exec.Command("go", "work", "edit", "-json")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go work edit -json: %v", err)
	}
	var work struct{ Use []struct{ DiskPath string } }
	if err := json.Unmarshal(out, &work); err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, u := range work.Use {
		if d := filepath.ToSlash(filepath.Clean(u.DiskPath)); d != "." {
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// readAll opens every directory and reads every file under dir, so that
// go test's cache of this test's result depends on them.
func readAll(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		_, err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWorkspaceListsEveryModule: a module left out of go.work would have
// its tests skipped by TestModules and its code by CI's go vet, silently.
func TestWorkspaceListsEveryModule(t *testing.T) {
	listed := map[string]bool{".": true}
	for _, dir := range workspaceModules(t) {
		listed[dir] = true
	}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		if d.IsDir() || name != "go.mod" {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); !listed[rel] {
			t.Errorf("module %s is not in go.work's use directives", rel)
		}
		delete(listed, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for dir := range listed {
		t.Errorf("go.work uses %s, which has no go.mod", dir)
	}
}
