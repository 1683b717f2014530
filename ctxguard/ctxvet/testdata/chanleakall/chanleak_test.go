package chanleakall

import (
	"context"
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

// A test helper that returns its setup error without receiving the other
// side's answer: reported with -all only.
func openPair(t *testing.T) (int, error) {
	t.Helper()
	errc := make(chan error)
	go func() { errc <- slowErr() }() // want `this send on errc blocks forever once openPair returns \(line \d+\) before receiving it`
	if err := slowErr(); err != nil {
		return 0, err
	}
	if err := <-errc; err != nil {
		return 0, err
	}
	return 1, nil
}

// A test's context ending: reported with -all only.
func TestContextDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	out := make(chan int)
	go func() { out <- slowCall() }() // want `this send on out blocks forever once TestContextDeadline returns through case <-ctx.Done\(\)`
	select {
	case <-out:
	case <-ctx.Done():
		t.Log("slow")
	}
}

// A send in a Serve callback, received once: reported with -all only.
func TestServeCallback(t *testing.T) {
	established := make(chan bool)
	serve := func(fn func(int)) { fn(1) }
	go func() {
		serve(func(int) {
			established <- true // want `this send on established blocks forever when it is not the one value TestServeCallback receives`
		})
	}()
	if !<-established {
		t.Error("not established")
	}
}
