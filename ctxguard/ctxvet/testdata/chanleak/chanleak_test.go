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

// Goroutines started in two loops' worth of requests, received in two
// loops, then a check without waiting that no more came.
func TestReceivesInLoops(t *testing.T) {
	const stalled, failed = 5, 10
	errs := make(chan error)
	for range stalled + failed {
		go func() { errs <- slowErr() }()
	}
	for i := range failed {
		select {
		case err := <-errs:
			if err == nil {
				t.Fatalf("request %d did not fail", i)
			}
		case <-time.After(time.Second):
			t.Fatalf("got %d errors", i)
		}
	}
	for range stalled {
		select {
		case <-errs:
		case <-time.After(time.Second):
			t.Fatal("timed out")
		}
	}
	select {
	case err := <-errs:
		t.Fatalf("one more error: %v", err)
	default:
	}
}

// Two writers started in a loop, both received.
func TestStartLoopBothReceived(t *testing.T) {
	errs := make(chan error)
	for range 2 {
		go func() { errs <- slowErr() }()
	}
	if err := <-errs; err != nil {
		t.Error(err)
	}
	if err := <-errs; err != nil {
		t.Error(err)
	}
}
