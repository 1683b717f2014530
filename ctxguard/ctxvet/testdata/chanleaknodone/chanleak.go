// Package chanleaknodone holds what chanleak reports without -done: a
// select left through a timer's case is reported; one left through a
// context's Done, the snippet and its variants, is not.
package chanleaknodone

import (
	"context"
	"net/http"
	"time"
)

func slowCall() int { return 1 }

func slowErr() error { return nil }

// fetch is the snippet: reported only with -done.
func fetch(ctx context.Context) (int, error) {
	out := make(chan int)
	go func() { out <- slowCall() }()
	select {
	case v := <-out:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// handler waits on the request's context: reported only with -done.
func handler(w http.ResponseWriter, r *http.Request) {
	done := make(chan error)
	go func() { done <- slowErr() }()
	select {
	case err := <-done:
		_ = err
	case <-r.Context().Done():
	}
}

// withTimer moves on when a timer fires: reported.
func withTimer() int {
	out := make(chan int)
	go func() { out <- slowCall() }() // want `this send on out blocks forever once withTimer moves on when the timer fires \(line \d+\) without receiving it`
	select {
	case v := <-out:
		return v
	case <-time.After(time.Second):
		return -1
	}
}

// both has both ways out: the timer's is reported, as the first found.
func both(ctx context.Context) int {
	out := make(chan int)
	go func() { out <- slowCall() }() // want `this send on out blocks forever once both moves on when the timer fires`
	select {
	case v := <-out:
		return v
	case <-ctx.Done():
		return 0
	case <-time.After(time.Second):
		return -1
	}
}
