package chanleak

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"
)

// A test whose result channel is never received: once the reader's
// ReadAll returns, the goroutine blocks for good, on every run.
func TestNeverReceived(t *testing.T) {
	r, w := io.Pipe()
	recv := make(chan []byte)
	go func() {
		buf, _ := io.ReadAll(r)
		recv <- buf // want `TestNeverReceived never receives from recv, so this send blocks forever, leaking the goroutine: receive from recv where its value is wanted, or make recv buffered, make\(chan \[\]byte, 1\)`
	}()
	w.Close()
}

// A test helper that returns its setup error without receiving the other
// side's answer: left only once the test's setup has failed.
func openPair(t *testing.T) (int, error) {
	t.Helper()
	errc := make(chan error)
	go func() { errc <- slowErr() }()
	if err := slowErr(); err != nil {
		return 0, err
	}
	if err := <-errc; err != nil {
		return 0, err
	}
	return 1, nil
}

func TestOpenPair(t *testing.T) {
	if _, err := openPair(t); err != nil {
		t.Fatal(err)
	}
}

// A test's context is its deadline: leaving on its Done is the test
// failing, as a timer is.
func TestContextDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	out := make(chan int)
	go func() { out <- slowCall() }()
	select {
	case <-out:
	case <-ctx.Done():
		t.Log("slow")
	}
}

// A send in a Serve callback, received once: the test dials once.
func TestServeCallback(t *testing.T) {
	established := make(chan bool)
	serve := func(fn func(int)) { fn(1) }
	go func() {
		serve(func(int) {
			established <- true
		})
	}()
	if !<-established {
		t.Error(errors.New("not established"))
	}
}
