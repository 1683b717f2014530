package ctxguard

import (
	"runtime"
	"strings"
	"sync"
	"time"
)

// An outbox hands items to user code, the Logger's handler or the
// observers, on a goroutine of its own that runs while items are waiting
// and returns when none are left. The Monitor's detection never waits for
// that code: if it blocks or crawls, items pile up to max and the rest are
// dropped and counted, while scans, counts and Snapshot go on.
type outbox[T any] struct {
	max     int
	deliver func(T) // calls the user code, containing its panics
	mu      sync.Mutex
	pending []boxed[T]
	running bool
	busy    bool          // an item is being delivered
	done    chan struct{} // closed when the running goroutine returns
	closed  bool          // items put from now on are dropped
	dropped uint64
}

type boxed[T any] struct {
	item T
	done chan struct{} // if not nil, closed once the item is delivered
}

// put queues items; those it cannot take are dropped, counted.
func (b *outbox[T]) put(items ...T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, it := range items {
		if !b.takeLocked(it, nil) {
			b.dropped += uint64(len(items) - i)
			return
		}
	}
}

// putAndWait queues item and waits until it is delivered or timeout has
// passed, and reports whether it was delivered.
func (b *outbox[T]) putAndWait(item T, timeout time.Duration) bool {
	done := make(chan struct{})
	b.mu.Lock()
	ok := b.takeLocked(item, done)
	if !ok {
		b.dropped++
	}
	b.mu.Unlock()
	if !ok {
		return false
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// takeLocked queues one item, starting the goroutine if none runs.
func (b *outbox[T]) takeLocked(item T, done chan struct{}) bool {
	if b.closed || len(b.pending) >= b.max {
		return false
	}
	b.pending = append(b.pending, boxed[T]{item, done})
	if !b.running {
		b.running = true
		b.done = make(chan struct{})
		go b.run()
	}
	return true
}

func (b *outbox[T]) run() {
	for {
		b.mu.Lock()
		b.busy = false
		if len(b.pending) == 0 {
			b.running = false
			b.pending = nil
			close(b.done)
			b.mu.Unlock()
			return
		}
		p := b.pending[0]
		b.pending[0] = boxed[T]{}
		b.pending = b.pending[1:]
		b.busy = true
		b.mu.Unlock()
		b.deliver(p.item)
		if p.done != nil {
			close(p.done)
		}
	}
}

// close drops the items put from now on.
func (b *outbox[T]) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

// wait waits until the queue is empty and its goroutine has returned, or
// until deadline, and returns how many items were left undelivered, now
// dropped and counted.
func (b *outbox[T]) wait(deadline time.Time) (undelivered int) {
	b.mu.Lock()
	running, done := b.running, b.done
	b.mu.Unlock()
	if running {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		select {
		case <-done:
			return 0
		case <-t.C:
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	undelivered = len(b.pending)
	if b.busy {
		undelivered++ // the item the user code is stuck in
	}
	b.dropped += uint64(len(b.pending))
	b.pending = nil
	return undelivered
}

// droppedCount returns the items dropped so far.
func (b *outbox[T]) droppedCount() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// onOutboxGoroutine reports whether the calling goroutine is an outbox's,
// that is, whether it runs inside a slog handler or an observer the
// Monitor called. Close asks, so as not to wait for itself.
func onOutboxGoroutine() bool {
	// The whole stack: outbox.run is its outermost frame, under however
	// deep a handler or observer.
	pcs := make([]uintptr, 128)
	n := runtime.Callers(2, pcs)
	for n == len(pcs) {
		pcs = make([]uintptr, 2*len(pcs))
		n = runtime.Callers(2, pcs)
	}
	frames := runtime.CallersFrames(pcs[:n])
	for {
		f, more := frames.Next()
		if strings.HasPrefix(f.Function, pkgPath+"(*outbox[") && strings.HasSuffix(f.Function, "]).run") {
			return true
		}
		if !more {
			return false
		}
	}
}
