package leakcheck

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps what Errorf reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

// A goroutine that runs on past the check is reported with its stack; one
// that returns while the check waits is not; nor is one that ran before.
func TestCheck(t *testing.T) {
	running := make(chan struct{})
	defer close(running)
	go func() { <-running }() // before Check: not the test's

	r := &recorder{TB: t}
	verify := check(r, 5*time.Second) // spent waiting for the blocked goroutine
	stop := make(chan struct{})
	go blockedInLeakcheckTest(stop)
	returned := make(chan struct{})
	go func() { <-returned }()
	go close(returned) // it returns while the check waits, at the latest

	verify()
	close(stop)
	if len(r.errors) != 1 {
		t.Fatalf("%d errors, want 1 for the blocked goroutine: %q", len(r.errors), r.errors)
	}
	if got := r.errors[0]; !strings.Contains(got, "1 goroutines") || !strings.Contains(got, "blockedInLeakcheckTest") {
		t.Errorf("the error does not name one goroutine, in blockedInLeakcheckTest:\n%s", got)
	}
	// With every goroutine of the test gone, a new check passes.
	r = &recorder{TB: t}
	Check(r)()
	if len(r.errors) != 0 {
		t.Errorf("a check with nothing started failed: %q", r.errors)
	}
}

//go:noinline
func blockedInLeakcheckTest(stop chan struct{}) { <-stop }
