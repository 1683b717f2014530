package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// A monitor keeps the records of the goroutines started under it on a
// lock-free list that its scanner swaps out and walks, keeping the records
// whose goroutine runs and putting the others on a free list for the next
// starts. A real tracker would also look, in the scan, at each kept
// record's context to find the ones lagging: work per scan, not per start.
//
// The scanner is woken by every wakeEvery-th push since the last scan,
// and also every scanInterval (wakeKind): a scan interval is what bounds
// the time to find a goroutine lagging. A ticker does it by keeping a
// runtime timer armed, which every schedule on its P then checks; a
// goroutine sleeping in the kernel does it without one.
type monitor struct {
	head    atomic.Pointer[record]
	pushes  atomic.Uint64 // onto head, ever
	starter func()        // what a safe start's go statement runs: made once

	last atomic.Pointer[cell] // the cell found last

	mu      sync.Mutex // guards cells, free and pending
	cells   map[cellKey]*cell
	free    []*record
	pending *record // records whose goroutine has not taken them yet (startSafe)

	// Owned by the scanner (or by check once it has stopped).
	kept    *record
	scans   int
	dropped int

	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

const (
	wakeEvery    = 1024
	scanInterval = 250 * time.Millisecond
)

type monitorKeyType byte

// monitorKey is the context key of the monitor: a pointer, so that a
// lookup compares it without a call, as package context's own keys.
var monitorKey = new(monitorKeyType)

func monitorOf(ctx context.Context) *monitor {
	m, _ := ctx.Value(monitorKey).(*monitor)
	return m
}

// How the scanner is woken besides every wakeEvery-th push.
type wakeKind int

const (
	countOnly wakeKind = iota // nothing else: records pushed after the last wakeEvery-th wait for more pushes
	ticker                    // a time.Ticker every scanInterval: a runtime timer stays armed
	sleeper                   // a goroutine that sleeps scanInterval in the kernel, then wakes it: no runtime timer
)

func newMonitor(wake wakeKind) *monitor {
	m := &monitor{
		cells: make(map[cellKey]*cell),
		wake:  make(chan struct{}, 1),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	m.starter = m.takePending
	if wake == sleeper {
		go m.sleep()
	}
	go m.loop(wake == ticker)
	return m
}

// sleep wakes the scanner every scanInterval, sleeping in the kernel in
// between, until the monitor is closed (the last sleep runs out after).
func (m *monitor) sleep() {
	for {
		sleep(scanInterval)
		select {
		case <-m.stop:
			return
		case m.wake <- struct{}{}:
		default:
		}
	}
}

func (m *monitor) loop(timer bool) {
	defer close(m.done)
	var tick <-chan time.Time
	if timer {
		t := time.NewTicker(scanInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-m.wake:
		case <-tick:
		case <-m.stop:
			return
		}
		m.scan()
	}
}

// push lists r for the scanner, and wakes the scanner at every
// wakeEvery-th push. Nothing but scans takes records off the list, all at
// once, so a push has no ABA problem even when r's address was on it
// before.
func (m *monitor) push(r *record) {
	for {
		old := m.head.Load()
		r.next = old
		if m.head.CompareAndSwap(old, r) {
			break
		}
	}
	if m.pushes.Add(1)%wakeEvery == 0 {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
}

// newRecord returns a record from the free list, or a new one.
func (m *monitor) newRecord() *record {
	m.mu.Lock()
	r := m.freeLocked()
	m.mu.Unlock()
	return r
}

// freeLocked returns a record from the free list, or a new one. The
// caller holds m.mu.
func (m *monitor) freeLocked() *record {
	if n := len(m.free); n > 0 {
		r := m.free[n-1]
		m.free[n-1] = nil
		m.free = m.free[:n-1]
		return r
	}
	return new(record)
}

// scan takes the records pushed since the last scan and, of those and the
// ones kept before, frees those whose goroutine has returned.
func (m *monitor) scan() {
	m.scans++
	var kept *record
	var freed []*record
	for _, list := range [2]*record{m.head.Swap(nil), m.kept} {
		for r := list; r != nil; {
			next := r.next
			if r.state.Load() == returned {
				*r = record{} // its goroutine touches it no more: storing returned was its last access
				freed = append(freed, r)
			} else {
				r.next = kept
				kept = r
			}
			r = next
		}
	}
	m.kept = kept
	m.dropped += len(freed)
	if len(freed) > 0 {
		m.mu.Lock()
		m.free = append(m.free, freed...)
		m.mu.Unlock()
	}
}

func (m *monitor) close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.done
}

// check stops the scanner, scans once more and says what the scans found.
func (m *monitor) check() string {
	m.close()
	m.scan()
	live := 0
	for r := m.kept; r != nil; r = r.next {
		live++
	}
	return fmt.Sprintf("scans=%d dropped=%d live=%d", m.scans, m.dropped, live)
}
