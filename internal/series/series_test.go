package series

import (
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// The first max pairs keep their series for good, later ones fold into
// Overflow, and every series chosen comes back in each Fold.
func TestTheFirstPairsKeepTheirSeries(t *testing.T) {
	made := 0
	tab := New(2, strings.ToUpper, func(k Key) string { made++; return k.Name + "/" + k.Scope })
	entry := func(name, scope string, live int) ctxguard.GoroutineStats {
		return ctxguard.GoroutineStats{Name: name, Scope: scope, Live: live}
	}
	got := tab.Fold([]ctxguard.GoroutineStats{entry("a", "s", 1), entry("b", "", 2), entry("a", "s", 3), entry("c", "", 4)})
	if len(got) != 3 || len(got[Key{"A", "S"}].Entries) != 2 || got[Key{"A", "S"}].Value != "A/S" ||
		len(got[Key{"B", ""}].Entries) != 1 || len(got[Overflow].Entries) != 1 || got[Overflow].Entries[0].Live != 4 {
		t.Fatalf("first fold: %v", got)
	}
	if k, v := tab.Lookup("d", "x"); k != Overflow || v != Overflow.Name+"/" {
		t.Errorf("Lookup of a new pair beyond the bound: %v %q, want Overflow", k, v)
	}
	got = tab.Fold(nil)
	if len(got) != 3 || len(got[Key{"A", "S"}].Entries) != 0 || got[Overflow] == nil {
		t.Errorf("fold of nothing: %v, want the three series chosen, empty", got)
	}
	if made != 3 {
		t.Errorf("values made %d times, want once per series", made)
	}
}
