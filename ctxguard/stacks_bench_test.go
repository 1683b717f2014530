package ctxguard

import (
	"context"
	"strconv"
	"testing"
	"time"
	"unsafe"
)

// BenchmarkStackCapture measures one capture of where lagging goroutines
// are blocked, with n live tracked goroutines of which half are lagging
// and wanted, found by their label sets in the runtime's goroutine profile.
// The Monitor spaces captures by captureSpacing times their duration.
//
//	go test -run '^$' -bench StackCapture -benchtime 5x ./ctxguard
func BenchmarkStackCapture(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(strconv.Itoa(n/1000)+"k", func(b *testing.B) { benchCapture(b, n) })
	}
}

func benchCapture(b *testing.B, n int) {
	m := New(Config{Grace: time.Millisecond, Logger: discardLogger})
	defer m.Close()
	root := WithMonitor(context.Background(), m)
	ended, cancel := context.WithCancel(root)
	release := make(chan struct{})
	defer close(release)
	for i := range n {
		ctx := root
		if i%2 == 0 {
			ctx = ended
		}
		goTracked(ctx, func(Context) { <-release }, 0, nil)
	}
	cancel()
	want := wantStarted(b, m, n/2)
	b.ResetTimer()
	for b.Loop() {
		c := &capture{want: want}
		c.run()
		if len(c.found) != len(want) {
			b.Fatalf("found %d of %d", len(c.found), len(want))
		}
	}
}

// wantStarted waits until lagging goroutines of m have all started and
// the Monitor's own capture has found them (it then waits a hundred times
// as long before another: none runs during the benchmark), and returns
// them by identity.
func wantStarted(b *testing.B, m *Monitor, lagging int) map[unsafe.Pointer]*goroutine {
	for {
		m.mu.Lock()
		want, unstarted := m.wantedStacksLocked(true)
		unknown := m.unknownStacks
		m.mu.Unlock()
		if len(want) == lagging && unstarted == 0 && unknown == 0 {
			return want
		}
		time.Sleep(time.Millisecond)
	}
}
