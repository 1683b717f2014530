// Package e2e is test support by its path (an element e2e), though no
// file of it imports testing or ends in _test.go: chanleak leaves it
// alone unless -tests, and takes its timers for a test failing.
package e2e

import (
	"context"
	"time"
)

func answer() int { return 42 }

// never's send is reported with -tests only.
func never() {
	out := make(chan int)
	go func() { out <- answer() }() // want `never never receives from out`
}

// awaitReady's timer case is the test failing: never reported.
func awaitReady(ctx context.Context, ready func(context.Context) error) error {
	errc := make(chan error)
	go func() { errc <- ready(ctx) }()
	select {
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		return context.DeadlineExceeded
	}
}
