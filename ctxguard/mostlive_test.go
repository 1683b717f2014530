package ctxguard

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// mostLive keeps exactly what a full sort would put first, and sums the
// rest, for every bound from none to more than there are keys.
func TestMostLiveKeepsWhatASortPutsFirst(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	live := make(map[goroutineStatsKey]int)
	for i := range 500 {
		live[goroutineStatsKey{name: fmt.Sprint("g", r.IntN(50)), scope: fmt.Sprint("s", i%3), site: uintptr(i)}] = 1 + r.IntN(20) // many ties
	}
	var all []liveCount
	total := 0
	for k, n := range live {
		all = append(all, liveCount{k, n})
		total += n
	}
	slices.SortFunc(all, moreLive)
	for _, k := range []int{0, 1, 2, 7, 100, 499, 500, 600} {
		top, rest := mostLive(live, k)
		want := all[:min(k, len(all))]
		if !slices.Equal(top, want) {
			t.Fatalf("k=%d: top differs from the sorted prefix", k)
		}
		kept := 0
		for _, c := range top {
			kept += c.n
		}
		if kept+rest != total {
			t.Fatalf("k=%d: kept %d + rest %d, want %d in all", k, kept, rest, total)
		}
	}
}
