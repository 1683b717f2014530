package chanleak

import (
	"testing"
	"time"
)

// A test that fails on a timeout leaves the goroutine behind only when it
// has failed already.
func TestTimeoutFails(t *testing.T) {
	out := make(chan int)
	go func() { out <- slowCall() }()
	select {
	case <-out:
	case <-time.After(time.Second):
		t.Fatal("timed out")
	}
}

// A test that moves on when its timer fires is failing, as above.
func TestTimeoutMovesOn(t *testing.T) {
	out := make(chan int)
	go func() { out <- slowCall() }()
	select {
	case <-out:
	case <-time.After(time.Second):
		t.Log("slow")
	}
}

func TestTimeoutErrs(t *testing.T) {
	out := make(chan int)
	go func() { out <- slowCall() }()
	select {
	case <-out:
	case <-time.After(time.Second):
		t.Error("timed out")
		return
	}
}

// A deadline set in two places is still the test's timer.
func TestDeadlineSetTwice(t *testing.T) {
	lines := make(chan int)
	go func() { lines <- slowCall() }()
	deadline := time.After(time.Second)
	if testing.Short() {
		deadline = time.After(time.Millisecond)
	}
	select {
	case <-lines:
	case <-deadline:
		t.Log("slow")
	}
}
