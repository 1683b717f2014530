// Package chanleak holds chanleak's cases with -done: a send on a channel
// its starting function never receives from, or abandons through a select
// case on a context's Done (only with -done: testdata/chanleaknodone) or a
// timer; a range over a channel nobody closes. The other ways out
// (testdata/chanleakall) are reported only with -chanleak.all.
package chanleak

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

func slowCall() int { return 1 }

func slowErr() error { return nil }

// fetch is the snippet: the caller stops waiting when ctx ends.
func fetch(ctx context.Context) (int, error) {
	out := make(chan int)
	go func() { out <- slowCall() }() // want `this send on out blocks forever once fetch returns through case <-ctx.Done\(\) \(line 28\) without receiving it, leaking the goroutine: make out buffered, make\(chan int, 1\), so the send completes without a receiver, or send in a select with case <-ctx.Done\(\)$`
	select {
	case v := <-out:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// withTimer moves on when a timer fires; the goroutine sees no context,
// so no Done case is suggested.
func withTimer() int {
	out := make(chan int, 0)
	go func() {
		out <- slowCall() // want `this send on out blocks forever once withTimer moves on when the timer fires \(line 43\) without receiving it, leaking the goroutine: make out buffered, make\(chan int, 1\), so the send completes without a receiver$`
	}()
	select {
	case v := <-out:
		return v
	case <-time.After(time.Second):
		return -1
	}
}

// withDeadline waits on a timer's channel kept in a variable.
func withDeadline(d time.Duration) error {
	done := make(chan error)
	go func() {
		for {
			if slowCall() > 0 {
				done <- slowErr() // want `this send on done blocks forever once withDeadline moves on when the timer fires`
				return
			}
		}
	}()
	deadline := time.After(d)
	select {
	case <-deadline:
		return context.DeadlineExceeded
	case err := <-done:
		return err
	}
}

// produce is started with the channel passed in.
func produce(results chan<- int) {
	results <- slowCall()
}

func passedIn(ctx context.Context) int {
	results := make(chan int)
	go produce(results) // want `this send on results blocks forever once passedIn returns through case <-ctx.Done\(\) \(line 79\) without receiving it`
	select {
	case r := <-results:
		return r
	case <-ctx.Done():
		return 0
	}
}

// handler waits for the work or for the request to end.
func handler(w http.ResponseWriter, r *http.Request) {
	done := make(chan error)
	go func() {
		done <- slowErr() // want `this send on done blocks forever once handler returns through case <-r.Context\(\).Done\(\) \(line 95\) without receiving it, leaking the goroutine: make done buffered, make\(chan error, 1\)`
	}()
	select {
	case err := <-done:
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	case <-r.Context().Done():
		return
	}
}

// neverReceived: the result channel is never read.
func neverReceived() error {
	errc := make(chan error)
	go func() {
		errc <- slowErr() // want `neverReceived never receives from errc, so this send blocks forever, leaking the goroutine: receive from errc where its value is wanted, or make errc buffered, make\(chan error, 1\), so the send completes without a receiver$`
	}()
	return slowErr()
}

// workers: several senders, one receive each until the context ends.
func workers(ctx context.Context, n int) ([]int, error) {
	results := make(chan int)
	for range n {
		go func() { results <- slowCall() }() // want `this send on results blocks forever once workers returns through case <-ctx.Done\(\) \(line \d+\) without receiving it, leaking the goroutine: make results buffered with room for every send, or send in a select with case <-ctx.Done\(\)$`
	}
	var all []int
	for range n {
		select {
		case r := <-results:
			all = append(all, r)
		case <-ctx.Done():
			return all, ctx.Err()
		}
	}
	return all, nil
}

// logEvents starts a reader of a channel nobody closes.
func logEvents(w http.ResponseWriter, r *http.Request) {
	events := make(chan string)
	go func() {
		for e := range events { // want `events is never closed, so this range over it never ends and the goroutine outlives logEvents: close\(events\) once the last value is sent`
			_ = e
		}
	}()
	events <- r.URL.Path
}

// waitForever waits on a channel nobody sends on or closes.
func waitForever(ctx context.Context) error {
	stop := make(chan struct{})
	go func() {
		<-stop // want `nobody sends on stop or closes it, so this receive blocks forever and the goroutine outlives waitForever`
	}()
	return ctx.Err()
}

// The shapes below do not leak, or leave a sender behind in a way that
// was mostly intended on real code: only -chanleak.all reports those.

// buffered: the send completes whether or not anyone receives.
func buffered(ctx context.Context) (int, error) {
	out := make(chan int, 1)
	go func() { out <- slowCall() }()
	select {
	case v := <-out:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// receiveOnEveryPath: the one value is always taken.
func receiveOnEveryPath() int {
	out := make(chan int)
	go func() { out <- slowCall() }()
	if slowErr() != nil {
		return <-out
	}
	return <-out
}

// waitGroupJoin: the goroutines are joined before the function returns.
func waitGroupJoin(items []int) int {
	var wg sync.WaitGroup
	sum := make(chan int)
	for _, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sum <- it
		}()
	}
	go func() {
		wg.Wait()
		close(sum)
	}()
	total := 0
	for v := range sum {
		total += v
	}
	return total
}

// errgroupJoin: a Group's functions are no go statements.
func errgroupJoin(ctx context.Context, items []int) (int, error) {
	g, ctx := errgroup.WithContext(ctx)
	out := make(chan int)
	for _, it := range items {
		g.Go(func() error {
			select {
			case out <- it:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}
	go func() {
		g.Wait()
		close(out)
	}()
	total := 0
	for v := range out {
		total += v
	}
	return total, g.Wait()
}

// senderWatchesDone: the send is a select case with a way out of its own.
func senderWatchesDone(ctx context.Context) (int, error) {
	out := make(chan int)
	go func() {
		select {
		case out <- slowCall():
		case <-ctx.Done():
		}
	}()
	select {
	case v := <-out:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// errorReturn returns on an error before it receives: on real code, most
// often a command or a helper that gives up and exits.
func errorReturn() error {
	errc := make(chan error)
	go func() { errc <- slowErr() }()
	if err := slowErr(); err != nil {
		return err
	}
	return <-errc
}

// firstWins takes the first of several answers.
func firstWins(servers []string) int {
	answers := make(chan int)
	for range servers {
		go func() { answers <- slowCall() }()
	}
	return <-answers
}

// stopChannel leaves on an owner's stop channel, by its author's choice.
func stopChannel(stop <-chan struct{}) int {
	out := make(chan int)
	go func() { out <- slowCall() }()
	select {
	case v := <-out:
		return v
	case <-stop:
		return 0
	}
}

// callbackSendLiteral sends in a callback, which the check takes to
// repeat; the server calls it once per connection and the function
// receives once.
func callbackSendLiteral(serve func(func(int) error) error) int {
	got := make(chan int)
	go func() {
		serve(func(v int) error {
			got <- v
			return nil
		})
	}()
	return <-got
}

// closedOnReturn closes its channel on the way out: a send after the
// timeout panics instead of blocking, which is no leak (set L's
// embedded-postgres and gocbcore).
func closedOnReturn(ctx context.Context) error {
	ready := make(chan error)
	defer close(ready)
	go func() { ready <- slowErr() }()
	select {
	case err := <-ready:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
