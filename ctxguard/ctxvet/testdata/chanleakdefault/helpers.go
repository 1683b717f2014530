package chanleakdefault

import (
	"errors"
	"testing"
	"time"
)

// Test support outside a _test.go file (the file imports testing) is test
// code: left alone by default, as a _test.go file is.

func never(t testing.TB) {
	t.Helper()
	out := make(chan int)
	go func() { out <- answer() }()
}

func awaitWithTimeout(t testing.TB, d time.Duration, fn func() error) error {
	t.Helper()
	errc := make(chan error)
	go func() { errc <- fn() }()
	select {
	case err := <-errc:
		return err
	case <-time.After(d):
		return errors.New("test timed out")
	}
}

func answer() int { return 42 }
