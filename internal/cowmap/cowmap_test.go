package cowmap

import (
	"sync"
	"testing"
)

func TestLoadOrStoreKeepsTheFirstValueAndTheBound(t *testing.T) {
	var m Map[string, int]
	if _, ok := m.Load("a"); ok || m.Len() != 0 {
		t.Fatal("the zero Map is not empty")
	}
	if v, loaded := m.LoadOrStore("a", 1, 2); v != 1 || loaded {
		t.Errorf("first store: %d, %v", v, loaded)
	}
	if v, loaded := m.LoadOrStore("a", 2, 2); v != 1 || !loaded {
		t.Errorf("second store of a: %d, %v; want the first value, loaded", v, loaded)
	}
	m.LoadOrStore("b", 3, 2)
	if v, loaded := m.LoadOrStore("c", 4, 2); v != 4 || loaded || m.Len() != 2 {
		t.Errorf("beyond the bound: %d, %v, Len %d; want 4 returned, not stored, Len 2", v, loaded, m.Len())
	}
	if _, ok := m.Load("c"); ok {
		t.Error("c was stored beyond the bound")
	}
}

func TestConcurrentReadersAndWriters(t *testing.T) {
	var m Map[int, int]
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if v, _ := m.LoadOrStore(i, w, 0); v < 0 {
					t.Error("negative")
				}
				if v, ok := m.Load(i); !ok || v < 0 || v > 7 {
					t.Errorf("Load(%d) = %d, %v", i, v, ok)
				}
			}
		})
	}
	wg.Wait()
	if m.Len() != 200 {
		t.Errorf("Len = %d, want 200", m.Len())
	}
}

func BenchmarkLoad(b *testing.B) {
	var m Map[uintptr, int]
	m.LoadOrStore(12345, 1, 0)
	b.ReportAllocs()
	for b.Loop() {
		m.Load(12345)
	}
}
