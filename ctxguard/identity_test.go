package ctxguard

import (
	"bytes"
	"context"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"unsafe"
)

// On the releases identity_linkname.go is built for, what it links to
// behaves as that file expects: a goroutine that adopts a label set is
// listed with it by the goroutine profile, and runtime/pprof reads the
// labels it held, so profiles show the goroutine as before.
func TestLabelIdentityWorks(t *testing.T) {
	if !labelIdentity {
		t.Skip("no label identity on this release: goroutines are found by their function")
	}
	var id labelSet
	adopted, release := make(chan struct{}), make(chan struct{})
	go pprof.Do(context.Background(), pprof.Labels("identity", "test"), func(context.Context) {
		id.adopt()
		if getProfLabel() != unsafe.Pointer(&id) {
			t.Error("getProfLabel does not return the label set adopted")
		}
		close(adopted)
		<-release
	})
	defer close(release)
	<-adopted
	if len(id.list) != 1 || id.list[0] != (profLabel{"identity", "test"}) {
		t.Errorf("adopted label set holds %+v, want the goroutine's labels", id.list)
	}

	stacks, labels := goroutineProfile()
	found := 0
	for i, p := range labels {
		if p == unsafe.Pointer(&id) {
			found++
			if len(stacks[i]) == 0 {
				t.Error("its stack is empty")
			}
		}
	}
	if found != 1 {
		t.Errorf("the goroutine profile lists %d goroutines with the adopted label set, want 1", found)
	}

	var profile bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&profile, 1); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(profile.Bytes(), []byte(`# labels: {"identity":"test"}`)) {
		t.Errorf("runtime/pprof does not show the adopted set's labels:\n%s", profile.Bytes())
	}
}

// A goroutine waiting in a Group's Wait is listed with a label set that
// names the Group and the one it had before, which it gets back after.
func TestGroupWaitIdentity(t *testing.T) {
	if !labelIdentity {
		t.Skip("no label identity on this release")
	}
	var before labelSet
	var wg, waiting sync.WaitGroup
	wg.Add(1)
	waiting.Add(1)
	done := make(chan unsafe.Pointer)
	go func() {
		before.adopt()
		waiting.Done()
		waitGroup(42, &wg)
		done <- getProfLabel()
	}()
	waiting.Wait()
	var w *groupWait
	for ; w == nil; runtime.Gosched() {
		groupWaits.Range(func(_, v any) bool {
			if g := v.(*groupWait); g.group == 42 {
				w = g
			}
			return w == nil
		})
	}
	if w.prev != unsafe.Pointer(&before) {
		t.Errorf("the wait's previous label set is %p, want %p", w.prev, &before)
	}
	wg.Done()
	if after := <-done; after != unsafe.Pointer(&before) {
		t.Errorf("after Wait the goroutine runs with label set %p, want %p back", after, &before)
	}
	if _, ok := groupWaits.Load(unsafe.Pointer(w)); ok {
		t.Error("the wait is still listed after it returned")
	}
}
