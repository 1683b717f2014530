// Package chanleak holds the chanleak check's cases: goroutines left
// blocked on a channel their starting function abandoned, and the shapes
// that do not leak.
package chanleakall

import (
	"context"
	"errors"
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
	go func() { out <- slowCall() }() // want `this send on out blocks forever once fetch returns through case <-ctx.Done\(\) \(line 27\) without receiving it, leaking the goroutine: make out buffered, make\(chan int, 1\), so the send completes without a receiver, or send in a select with case <-ctx.Done\(\)`
	select {
	case v := <-out:
		return v, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// withTimer moves on when a timer fires; the goroutine sees no context.
func withTimer() int {
	out := make(chan int, 0)
	go func() {
		out <- slowCall() // want `this send on out blocks forever once withTimer moves on when the timer fires \(line 41\) without receiving it, leaking the goroutine: make out buffered, make\(chan int, 1\), so the send completes without a receiver$`
	}()
	select {
	case v := <-out:
		return v
	case <-time.After(time.Second):
		return -1
	}
}

// produce is started with the channel passed in.
func produce(results chan<- int) {
	results <- slowCall()
}

func passedIn(ctx context.Context) int {
	results := make(chan int)
	go produce(results) // want `this send on results blocks forever once passedIn returns through case <-ctx.Done\(\) \(line 57\) without receiving it`
	select {
	case r := <-results:
		return r
	case <-ctx.Done():
		return 0
	}
}

func passedToLiteral(ctx context.Context) int {
	results := make(chan int)
	go func(c chan<- int) {
		c <- slowCall() // want `this send on results blocks forever once passedToLiteral returns through case <-ctx.Done\(\)`
	}(results)
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
		done <- slowErr() // want `this send on done blocks forever once handler returns through case <-r.Context\(\).Done\(\) \(line 86\)`
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

// errorReturn returns on an error before it receives.
func errorReturn() error {
	errc := make(chan error)
	go func() { errc <- slowErr() }() // want `this send on errc blocks forever once errorReturn returns \(line 96\)`
	if err := slowErr(); err != nil {
		return err
	}
	return <-errc
}

// neverReceived: nobody ever receives.
func neverReceived() {
	done := make(chan struct{})
	go func() {
		slowCall()
		done <- struct{}{} // want `neverReceived never receives from done, so this send blocks forever, leaking the goroutine: receive from done where its value is wanted, or make done buffered, make\(chan struct{}, 1\)`
	}()
}

// workers: several senders, one receive each until the context ends.
func workers(ctx context.Context, n int) ([]int, error) {
	results := make(chan int)
	for range n {
		go func() { results <- slowCall() }() // want `this send on results blocks forever once workers returns through case <-ctx.Done\(\) \(line 121\) without receiving it, leaking the goroutine: make results buffered with room for every send, or send in a select with case <-ctx.Done\(\)`
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

// rangeEarlyExit stops reading at the first error; the producer blocks.
func rangeEarlyExit(items []int) error {
	errs := make(chan error)
	go func() {
		defer close(errs)
		for range items {
			errs <- slowErr() // want `this send on errs blocks forever once rangeEarlyExit stops ranging over errs \(line 139\)`
		}
	}()
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// logEvents ranges over a channel nobody closes, in a goroutine a handler
// starts: it outlives every request.
func logEvents(w http.ResponseWriter, r *http.Request) {
	events := make(chan string)
	go func() {
		for e := range events { // want `events is never closed, so this range over it never ends and the goroutine outlives logEvents: close\(events\) once the last value is sent`
			_ = e
		}
	}()
	events <- "start"
	events <- r.URL.Path
}

// waitForever waits on a channel nobody sends on or closes.
func waitForever(ctx context.Context) error {
	stop := make(chan struct{})
	go func() {
		<-stop // want `nobody sends on stop or closes it, so this receive blocks forever and the goroutine outlives waitForever`
		slowCall()
	}()
	return ctx.Err()
}

// Negative cases.

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

func receiveOnEveryPath() int {
	out := make(chan int)
	go func() { out <- slowCall() }()
	v := <-out
	if v < 0 {
		return 0
	}
	return v
}

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

func waitGroupJoin(items []int) int {
	results := make(chan int)
	var wg sync.WaitGroup
	for range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- slowCall()
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	sum := 0
	for r := range results {
		sum += r
	}
	return sum
}

func errgroupJoin(ctx context.Context, items []int) (int, error) {
	g, ctx := errgroup.WithContext(ctx)
	results := make(chan int)
	g.Go(func() error {
		defer close(results)
		for range items {
			select {
			case results <- slowCall():
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	sum := 0
	g.Go(func() error {
		for r := range results {
			sum += r
		}
		return nil
	})
	return sum, g.Wait()
}

func drainedOnCancel(ctx context.Context) (int, error) {
	out := make(chan int)
	go func() { out <- slowCall() }()
	select {
	case v := <-out:
		return v, nil
	case <-ctx.Done():
		<-out
		return 0, ctx.Err()
	}
}

func tickerLoop(ctx context.Context) int {
	out := make(chan int)
	go func() { out <- slowCall() }()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case v := <-out:
			return v
		case <-t.C:
			// still waiting; the loop comes back to out
		}
	}
}

func closedAfterSends(items []string) {
	lines := make(chan string)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for l := range lines {
			_ = l
		}
	}()
	for _, it := range items {
		lines <- it
	}
	close(lines)
	wg.Wait()
}

type server struct{ reqs chan int }

func (s *server) start() {
	reqs := make(chan int)
	s.reqs = reqs // stored: someone else may serve it
	go func() {
		for r := range reqs {
			_ = r
		}
	}()
}

func rangeStopsOnSentinel() {
	jobs := make(chan int)
	go func() {
		for j := range jobs {
			if j < 0 {
				return
			}
		}
	}()
	jobs <- 1
	jobs <- -1
}

func serveForever(conns []int) {
	work := make(chan int)
	go func() {
		for c := range work {
			_ = c
		}
	}()
	for {
		for _, c := range conns {
			work <- c
		}
	}
}

func returnsAfterReceive() error {
	errc := make(chan error)
	go func() { errc <- slowErr() }()
	err := <-errc
	if err != nil {
		return err
	}
	return errors.New("done")
}

// resultOrError: the goroutine sends on one channel or the other, and
// the select takes whichever comes.
func resultOrError() (int, error) {
	results := make(chan int)
	errs := make(chan error)
	go func() {
		if err := slowErr(); err != nil {
			errs <- err
			return
		}
		results <- slowCall()
	}()
	select {
	case r := <-results:
		return r, nil
	case err := <-errs:
		return 0, err
	}
}

// firstWins takes the first answer of several; the others block.
func firstWins(servers []string) int {
	answers := make(chan int)
	for range servers {
		go func() { answers <- slowCall() }() // want `this send on answers blocks forever when it is not the one value firstWins receives \(line 371\), leaking the goroutine`
	}
	return <-answers
}

// oneOfTwo races two goroutines and keeps the winner.
func oneOfTwo() int {
	answers := make(chan int)
	go func() { answers <- slowCall() }() // want `this send on answers blocks forever when it is not the one value oneOfTwo receives`
	go func() { answers <- slowCall() }() // want `this send on answers blocks forever when it is not the one value oneOfTwo receives`
	return <-answers
}

// bothTaken receives as many values as goroutines send.
func bothTaken() int {
	answers := make(chan int)
	go func() { answers <- slowCall() }()
	go func() { answers <- slowCall() }()
	return <-answers + <-answers
}

// loopReturnsOnFirst keeps sending while the caller returns on the first.
func loopReturnsOnFirst(ctx context.Context) bool {
	results := make(chan bool)
	go func() {
		for {
			results <- slowErr() == nil // want `this send on results blocks forever once loopReturnsOnFirst returns through case <-ctx.Done\(\)`
		}
	}()
	for {
		select {
		case ok := <-results:
			return ok
		case <-ctx.Done():
			return false
		}
	}
}

// loopSendsOnce polls until it fails, reports the one error and ends.
func loopSendsOnce(ctx context.Context) error {
	errs := make(chan error)
	done := make(chan struct{})
	go func() {
		for {
			if err := slowErr(); err != nil {
				errs <- err
				return
			}
			if slowCall() > 0 {
				close(done)
				return
			}
		}
	}()
	select {
	case err := <-errs:
		return err
	case <-done:
		return nil
	}
}

// pool's workers live as long as the function it returns, by design.
func pool(work func(int)) func(int) {
	jobs := make(chan int, 64)
	start := func() {
		for range 4 {
			go func() {
				for j := range jobs {
					work(j)
				}
			}()
		}
	}
	var once sync.Once
	return func(j int) {
		once.Do(start)
		jobs <- j
	}
}

// callbackSends: the send runs in a callback, as often as it is called.
func callbackSends(ctx context.Context, subscribe func(func(int))) int {
	got := make(chan int)
	go func() {
		subscribe(func(v int) { got <- v }) // want `this send on got blocks forever once callbackSends returns through case <-ctx.Done\(\) \(line \d+\) without receiving it, leaking the goroutine: make got buffered with room for every send, or send in a select with case <-ctx.Done\(\)`
	}()
	select {
	case v := <-got:
		return v
	case <-ctx.Done():
		return 0
	}
}

// deferredSend reports once, from a deferred function, when ctx ends.
func deferredSend(ctx context.Context) []int {
	results := make(chan []int)
	go func() {
		var got []int
		defer func() {
			results <- got // want `this send on results blocks forever once deferredSend returns \(line \d+\) before receiving it, leaking the goroutine: make results buffered, make\(chan \[\]int, 1\)`
		}()
		for ctx.Err() == nil {
			got = append(got, slowCall())
		}
	}()
	if slowErr() != nil {
		return nil
	}
	return <-results
}

// deferredSendReceived: the same, received on every path.
func deferredSendReceived(ctx context.Context) []int {
	results := make(chan []int)
	go func() {
		var got []int
		defer func() { results <- got }()
		for ctx.Err() == nil {
			got = append(got, slowCall())
		}
	}()
	return <-results
}

// sendsOnceFromLoop reports an unexpected error once, or closes wait.
func sendsOnceFromLoop(recv func() error) error {
	wait := make(chan error)
	go func() {
		defer close(wait)
		for {
			if err := recv(); err != nil {
				if !errors.Is(err, errors.ErrUnsupported) {
					wait <- err
				}
				return
			}
		}
	}()
	return <-wait
}

// startedFromCallback: the goroutine starts in a callback, whose return is
// not the function's.
func startedFromCallback(ctx context.Context, serve func(func(int) error)) int {
	got := make(chan int)
	go serve(func(v int) error {
		go func() { got <- v }()
		return nil
	})
	return <-got
}

// closedAfterLastSend sends an error once, then closes the channel: a
// later send would panic, not block, and the one receive takes it.
func closedAfterLastSend(next func() (int, error)) error {
	errs := make(chan error)
	done := make(chan struct{})
	go func() {
		for {
			v, err := next()
			if err != nil {
				errs <- err
				return
			}
			if v == 0 {
				close(done)
				return
			}
			if v < 0 {
				errs <- errors.New("negative")
				close(errs)
			}
		}
	}()
	select {
	case <-done:
		return nil
	case err := <-errs:
		return err
	}
}

// closedAfterLastSendAbandoned closes after its one send too, but the
// caller can leave through ctx.Done first.
func closedAfterLastSendAbandoned(ctx context.Context, next func() int) int {
	vals := make(chan int)
	go func() {
		for {
			if v := next(); v > 0 {
				vals <- v // want `this send on vals blocks forever once closedAfterLastSendAbandoned returns through case <-ctx.Done\(\) \(line \d+\) without receiving it`
				close(vals)
			}
		}
	}()
	select {
	case v := <-vals:
		return v
	case <-ctx.Done():
		return 0
	}
}

// startLoopMatched starts two goroutines in a loop and receives twice.
func startLoopMatched() error {
	errs := make(chan error)
	for range 2 {
		go func() { errs <- slowErr() }()
	}
	return errors.Join(<-errs, <-errs)
}

// startLoopShort starts three and receives twice: the third blocks.
func startLoopShort() error {
	errs := make(chan error)
	for i := 0; i < 3; i++ {
		go func() { errs <- slowErr() }() // want `this send on errs blocks forever when it is not among the 2 values startLoopShort receives`
	}
	return errors.Join(<-errs, <-errs)
}

// receiveLoops takes as many values, in two loops, as the start loop
// starts goroutines, then checks without waiting that no more came.
func receiveLoops(ctx context.Context) error {
	const slow, fast = 5, 10
	errs := make(chan error)
	for range slow + fast {
		go func() { errs <- slowErr() }()
	}
	for range fast {
		select {
		case err := <-errs:
			if err == nil {
				panic("want an error")
			}
		case <-time.After(time.Second):
			panic("timed out")
		}
	}
	for i := 0; i < slow; i++ {
		<-errs
	}
	select {
	case <-errs:
		return errors.New("one more")
	default:
		return nil
	}
}

// receiveLoopShort takes fewer values than it starts goroutines before
// its check moves on.
func receiveLoopShort() error {
	errs := make(chan error)
	for range 3 {
		go func() { errs <- slowErr() }() // want `this send on errs blocks forever once receiveLoopShort moves on through the select's default case \(line \d+\) without receiving it`
	}
	for range 2 {
		<-errs
	}
	select {
	case <-errs:
		return errors.New("one more")
	default:
		return nil
	}
}

// receiveLoopMatchesItems receives once per item, as many as it starts.
func receiveLoopMatchesItems(items []int) []int {
	doubled := make(chan int)
	for _, it := range items {
		go func() { doubled <- it * 2 }()
	}
	var out []int
	for range len(items) {
		out = append(out, <-doubled)
	}
	select {
	case v := <-doubled:
		panic(v)
	default:
	}
	return out
}

// receiveLoopOtherBound receives n values for len(items) goroutines.
func receiveLoopOtherBound(items []int, n int) []int {
	doubled := make(chan int)
	for _, it := range items {
		go func() { doubled <- it * 2 }() // want `this send on doubled blocks forever once receiveLoopOtherBound moves on through the select's default case`
	}
	var out []int
	for range n {
		out = append(out, <-doubled)
	}
	select {
	case v := <-doubled:
		out = append(out, v)
	default:
	}
	return out
}

// receiveLoopLeftEarly stops at the first error: its loop is no count.
func receiveLoopLeftEarly(items []int) error {
	errs := make(chan error)
	for range items {
		go func() { errs <- slowErr() }() // want `this send on errs blocks forever once receiveLoopLeftEarly moves on through the select's default case`
	}
	for range len(items) {
		if err := <-errs; err != nil {
			break
		}
	}
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
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
