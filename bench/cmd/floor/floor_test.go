package main

import (
	"context"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
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

// The counted variants count the goroutines they started and that have
// not returned, under their site and function, each goroutine running with
// a label set of its own; a goroutine ended by runtime.Goexit is counted
// out too.
func TestContractVariantsCountAndIdentify(t *testing.T) {
	for _, v := range variants {
		if !strings.HasPrefix(v.name, "contract") {
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

// A goroutine started with labels keeps them, and so do goroutines it
// starts after it has returned and its record is reused: its label set is
// not its record's.
func TestLabelsSurviveReuse(t *testing.T) {
	if !labelIdentity {
		t.Skip("no label identity on this release")
	}
	v, _ := find("contract")
	_, ctx := newTestMonitor(t, v)
	labels := func(p unsafe.Pointer) string {
		if p == nil {
			return "none"
		}
		var b strings.Builder
		for _, l := range (*labelSet)(p).list {
			b.WriteString(l.key + "=" + l.value)
		}
		return b.String()
	}
	inFn, inChild := make(chan string, 1), make(chan string, 1)
	release := make(chan struct{})
	var childStarted sync.WaitGroup
	childStarted.Add(1)
	pprof.Do(ctx, pprof.Labels("k", "v"), func(ctx context.Context) {
		v.start(ctx, func(ctx context.Context) {
			inFn <- labels(getProfLabel())
			go func() {
				p := getProfLabel() // inherited from fn's goroutine
				childStarted.Done()
				<-release
				inChild <- labels(p)
			}()
		})
	})
	childStarted.Wait()
	startAll(ctx, v, 3*wakeEvery, true) // fn's record is freed and reused
	close(release)
	if got := <-inFn; got != "k=v" {
		t.Errorf("fn ran with labels %s, want k=v", got)
	}
	if got := <-inChild; got != "k=v" {
		t.Errorf("after reuse, fn's child has labels %s, want k=v", got)
	}
}

// Starts from many goroutines at once, as records are freed and reused,
// run each fn exactly once and leave every count at zero.
func TestConcurrentStartsRunEachFnOnce(t *testing.T) {
	for _, v := range variants {
		if v.start == nil {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			m, ctx := newTestMonitor(t, v)
			const spawners, each = 4, 2 * wakeEvery
			var ran [spawners][each]atomic.Int32
			var wg sync.WaitGroup
			for s := range spawners {
				wg.Go(func() {
					var done sync.WaitGroup
					for i := range each {
						done.Add(1)
						v.start(ctx, func(context.Context) {
							ran[s][i].Add(1)
							done.Done()
						})
					}
					done.Wait()
				})
			}
			wg.Wait()
			for s := range spawners {
				for i := range each {
					if n := ran[s][i].Load(); n != 1 {
						t.Fatalf("fn %d of spawner %d ran %d times", i, s, n)
					}
				}
			}
			if c := m.last.Load(); c != nil {
				waitFor(t, func() bool { return c.n.Load() == 0 })
			}
		})
	}
}
