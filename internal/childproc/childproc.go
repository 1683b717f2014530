// Package childproc runs a test in a child process of its own test binary,
// for scenarios that leave goroutines behind for good (goroutines the leak
// profile proves leaked never end): they end with the child, not with the
// test binary every other test shares.
//
//	func TestLeaks(t *testing.T) {
//		if !childproc.Run(t) {
//			return // the child ran the test; t failed if it did not pass
//		}
//		// the scenario, in the child
//	}
package childproc

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// env marks the child process, with the name of the test it runs.
const env = "CTXGUARD_CHILD_TEST"

// Run reports whether this process is the child that runs t. If it is not,
// Run runs t alone in a child process of the test binary, with -test.v,
// fails t with the child's output unless the child reports t passed, and
// returns false.
func Run(t *testing.T) (inChild bool) {
	t.Helper()
	if os.Getenv(env) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Errorf("the child process running %s: %v\n%s", t.Name(), err, out)
	}
	return false
}

// InChild reports whether this process is a child that Run started, for a
// TestMain that checks for leaked goroutines: a child leaves them behind
// on purpose.
func InChild() bool { return os.Getenv(env) != "" }
