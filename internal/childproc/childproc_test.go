package childproc

import (
	"os"
	"testing"
)

// The test body runs in the child only, where the marker says which test.
func TestRunRunsTheTestInAChild(t *testing.T) {
	if !Run(t) {
		return
	}
	if os.Getenv(env) != t.Name() {
		t.Fatalf("in the child, %s=%q", env, os.Getenv(env))
	}
}
