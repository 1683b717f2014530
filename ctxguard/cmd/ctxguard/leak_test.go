package main

import (
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/ctxguard"
)

const neverTests = `package t2

import (
	"context"
	"testing"
)

// reachable is a package variable: a goroutine waiting on it may still be
// woken.
var reachable = make(chan int)

// waitOn is Stuck at another place: the leak profile tells goroutines
// apart by their stacks, and two Monitors cannot tell whose goroutine of
// one stack leaked.
func waitOn(ctx context.Context, ch chan int) {
	go func() {
		<-ch
	}()
}

func TestNeverReturns(t *testing.T) {
	t.Parallel()
	Stuck(t.Context(), make(chan int))
}

func TestLagsOnly(t *testing.T) {
	t.Parallel()
	waitOn(t.Context(), reachable)
}
`

// TestTestSaysWhichCanNeverReturn: of two tests whose goroutine outlives
// their context, ctxguard test says of the one blocked on a channel only
// it holds that it can never return (on a Go release with the goroutine
// leak profile, the one the go command runs, as this test's), and of the
// one blocked on a reachable channel only that it still runs.
func TestTestSaysWhichCanNeverReturn(t *testing.T) {
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "")
	dir := writeModule(t, map[string][]byte{"go.mod": []byte("module example.com/t2\n\ngo 1.25.0\n"),
		"lib.go": []byte(leakLib), "lib_test.go": []byte(neverTests)})
	code, stdout, _ := runIn(t, dir, "test", "-q", "-ctxguard", repoRoot(t), "-grace=100ms", "-count=1", "-v", ".")
	if code != 1 || !strings.Contains(stdout, "--- FAIL: TestNeverReturns ") || !strings.Contains(stdout, "--- FAIL: TestLagsOnly ") {
		t.Fatalf("exit %d, want both tests to fail:\n%s", code, stdout)
	}
	const never = "can never return (proven leaked"
	proven := ctxguard.LeakProfileAvailable()
	// The failures, at the tests' first lines, by where the goroutine was
	// spawned (its name depends on inlining).
	for _, c := range []struct {
		at, spawned string
		never       bool
	}{
		{"lib_test.go:21: ctxguardtest: 1 goroutine(s) ", "spawned at example.com/t2/lib.go:15,", proven},
		{"lib_test.go:26: ctxguardtest: 1 goroutine(s) ", "spawned at example.com/t2/lib_test.go:16,", false},
	} {
		prefix, want := c.at, c.never
		var failure string
		for _, line := range strings.Split(stdout, "\n") {
			if strings.Contains(line, prefix) {
				failure = line
			}
		}
		if !strings.Contains(failure, c.spawned+" still running 100ms after the test's context was cancelled") {
			t.Errorf("no failure at %s:\n%s", prefix, stdout)
		}
		if strings.Contains(failure, never) != want {
			t.Errorf("the failure %q says it can never return: %v, want %v", failure, !want, want)
		}
	}
}
