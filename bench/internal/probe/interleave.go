// Package probe holds what both the compare command and its helper built
// with the goroutine leak profile run: the interleaving benchmark
// runner, the population of lagging goroutines that the detection costs
// are measured on, and the ways of asking about it.
package probe

import (
	"flag"
	"slices"
	"testing"
)

// A Result is the median, over rounds, of one side's benchmark results.
type Result struct {
	NsPerOp     float64            `json:"ns_per_op"`
	AllocsPerOp float64            `json:"allocs_per_op"`
	BytesPerOp  float64            `json:"bytes_per_op"`
	Extra       map[string]float64 `json:"extra,omitempty"` // units reported with b.ReportMetric
	Rounds      int                `json:"rounds"`
}

// Metric returns the median of unit: "ns/op", "allocs/op", "B/op" or a
// unit reported with b.ReportMetric.
func (r Result) Metric(unit string) float64 {
	switch unit {
	case "ns/op":
		return r.NsPerOp
	case "allocs/op":
		return r.AllocsPerOp
	case "B/op":
		return r.BytesPerOp
	}
	return r.Extra[unit]
}

// Interleave runs sides in turn, A B C A B C ..., rounds times, each run
// being one testing.Benchmark with -test.benchtime set to benchtime (a
// duration, or Nx for N iterations), and returns each side's medians.
// Alternating short runs and taking medians keeps load that comes and goes
// on the machine from favouring one side.
//
// It sets the testing package's benchtime flag for its runs and restores
// it after; it must not run concurrently with other benchmarks.
func Interleave(rounds int, benchtime string, sides ...func(*testing.B)) []Result {
	testing.Init()
	f := flag.Lookup("test.benchtime")
	old := f.Value.String()
	if err := f.Value.Set(benchtime); err != nil {
		panic("probe: bad benchtime " + benchtime + ": " + err.Error())
	}
	defer f.Value.Set(old)

	runs := make([][]testing.BenchmarkResult, len(sides))
	for range rounds {
		for i, side := range sides {
			runs[i] = append(runs[i], testing.Benchmark(side))
		}
	}
	out := make([]Result, len(sides))
	for i, rs := range runs {
		out[i] = medians(rs)
	}
	return out
}

func medians(rs []testing.BenchmarkResult) Result {
	r := Result{Rounds: len(rs)}
	var ns, allocs, bytes []float64
	extra := map[string][]float64{}
	for _, x := range rs {
		if x.N == 0 {
			continue
		}
		ns = append(ns, float64(x.T.Nanoseconds())/float64(x.N))
		allocs = append(allocs, float64(x.MemAllocs)/float64(x.N))
		bytes = append(bytes, float64(x.MemBytes)/float64(x.N))
		for unit, v := range x.Extra {
			extra[unit] = append(extra[unit], v)
		}
	}
	r.NsPerOp, r.AllocsPerOp, r.BytesPerOp = Median(ns), Median(allocs), Median(bytes)
	if len(extra) > 0 {
		r.Extra = map[string]float64{}
		for unit, vs := range extra {
			r.Extra[unit] = Median(vs)
		}
	}
	return r
}

// Median returns the median of vs (the mean of the middle two for an even
// count), 0 for none.
func Median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
