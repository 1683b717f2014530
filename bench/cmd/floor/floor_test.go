package main

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func newTestMonitor(t *testing.T, v variant) (*monitor, context.Context) {
	t.Helper()
	m := newMonitor(v.wake)
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), monitorKey, m))
	t.Cleanup(func() {
		cancel()
		m.close()
	})
	return m, ctx
}

// Every variant runs fn once per start; the scans free every record once
// its goroutine has returned (fn's wg.Done comes just before), and the free
// list feeds later starts.
func TestVariantsRunAndFreeEveryRecord(t *testing.T) {
	const n = 3 * wakeEvery
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			m, ctx := newTestMonitor(t, v)
			startAll(ctx, v, n, true)
			m.close() // the test scans from here on
			waitFor(t, func() bool {
				m.scan()
				return m.kept == nil
			})
			want := 0
			if v.start != nil {
				want = n
			}
			if m.dropped != want {
				t.Errorf("%d records freed, want %d", m.dropped, want)
			}
			if v.start != nil && len(m.free) == 0 {
				t.Error("the free list is empty")
			}
		})
	}
}

// The counted variants count their live goroutines exactly at any moment,
// under their site and function, each goroutine running with its record's
// label set; a goroutine ended by runtime.Goexit is counted out too.
func TestContractVariantsCountAndIdentify(t *testing.T) {
	for _, v := range variants {
		if v.name != "contract" && v.name != "contract/unsafe" {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			m, ctx := newTestMonitor(t, v)
			const n = 50
			release := make(chan struct{})
			var started, done sync.WaitGroup
			var mu sync.Mutex
			idents := make(map[unsafe.Pointer]bool)
			fn := func(context.Context) {
				defer done.Done()
				mu.Lock()
				idents[getProfLabel()] = true
				mu.Unlock()
				started.Done()
				<-release
				runtime.Goexit()
			}
			for range n {
				started.Add(1)
				done.Add(1)
				v.start(ctx, fn)
			}
			started.Wait()
			c := m.last.Load()
			if got := c.n.Load(); got != n {
				t.Errorf("live count %d, want %d", got, n)
			}
			if c.key.fn != **(**uintptr)(unsafe.Pointer(&fn)) || c.key.site == 0 {
				t.Errorf("cell key %+v: want fn's code and a site", c.key)
			}
			if labelIdentity && (len(idents) != n || idents[nil]) {
				t.Errorf("%d distinct label sets among %d goroutines, want one each", len(idents), n)
			}
			close(release)
			done.Wait()
			waitFor(t, func() bool { return c.n.Load() == 0 })
		})
	}
}

// waitFor waits for cond, up to a deadline generous for a slow machine.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30 s")
		}
	}
}
