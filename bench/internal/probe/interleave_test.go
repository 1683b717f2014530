package probe

import (
	"flag"
	"slices"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := Median(c.in); got != c.want {
			t.Errorf("Median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// Interleave alternates the sides round by round, runs each for the
// benchtime given, and leaves the testing package's benchtime as it was.
func TestInterleaveAlternatesAndRestoresBenchtime(t *testing.T) {
	before := flag.Lookup("test.benchtime").Value.String()
	var order []string
	side := func(name string, extra float64) func(*testing.B) {
		return func(b *testing.B) {
			order = append(order, name)
			for b.Loop() {
			}
			b.ReportMetric(extra, "things")
		}
	}
	rs := Interleave(3, "5x", side("a", 1), side("b", 2))
	if got := flag.Lookup("test.benchtime").Value.String(); got != before {
		t.Errorf("benchtime left at %s, was %s", got, before)
	}
	if want := []string{"a", "b", "a", "b", "a", "b"}; !slices.Equal(order, want) {
		t.Errorf("runs in order %v, want %v", order, want)
	}
	if rs[0].Rounds != 3 || rs[0].Metric("things") != 1 || rs[1].Metric("things") != 2 {
		t.Errorf("results %+v", rs)
	}
}
