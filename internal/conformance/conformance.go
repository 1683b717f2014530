// Package conformance runs another package's tests against this module:
// the drop-in proofs of ctxguard (package context's tests) and spawn
// (errgroup's tests) share it.
package conformance

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Run writes files into a temporary module that requires the core module,
// replaced by the working tree at repo, and runs go test there with -race
// when race is set and with the calling run's -short and -v. It fails t with
// the output if the tests fail, and logs the output otherwise.
//
// The core requires no other module, so the temporary module needs no
// go.sum, no network and no -mod=mod: the files must import only the
// standard library and the core.
func Run(t *testing.T, repo string, files map[string][]byte, race bool) {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gomod := "module conformance\n\ngo 1.25.0\n\n" +
		"require github.com/ctxguard/ctxguard v0.0.0\n\n" +
		"replace github.com/ctxguard/ctxguard => " + strconv.Quote(repo) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"test", "-count=1"}
	if race {
		args = append(args, "-race")
	}
	if testing.Short() {
		args = append(args, "-short")
	}
	if testing.Verbose() {
		args = append(args, "-v")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	t.Logf("%s", out)
}
