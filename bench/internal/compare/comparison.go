package compare

import (
	"fmt"
	"math"
	"testing"

	"github.com/ctxguard/ctxguard/bench/internal/probe"
)

// A Side is one side of a comparison: what runs and what it is called.
type Side struct {
	Label string
	Bench func(b *testing.B)
}

// A Comparison is an operation done by ctxguard (Ours) and by what it is
// compared with (Theirs).
type Comparison struct {
	// Name is the benchmark name: go test -bench shows Name/impl=ours and
	// Name/impl=theirs.
	Name string
	// Op names the table row; Metrics, if any, add their own suffix.
	Op           string
	Ours, Theirs Side
	// Metrics are the rows the comparison gives; nil means one row of
	// ns/op with Goal.
	Metrics []Metric
	Goal    *Goal
	// Once runs each side for one iteration per round (-benchtime 1x):
	// its body is one measurement reported with b.ReportMetric.
	Once bool
	// MaxRounds, if not 0, caps the group's rounds: for a comparison
	// whose one round takes many seconds and whose sides differ by orders
	// of magnitude, where a median of more rounds would tell nothing more.
	MaxRounds int
	// Instr counts the instructions of one operation of each side under
	// valgrind, if it is installed (instr.go).
	Instr bool
	// InstrSides, if set, are what is counted instead of Ours and Theirs.
	InstrSides *[2]Side
}

// A Metric is one row of a comparison: which unit of the results, and how
// it is judged.
type Metric struct {
	Suffix string // appended to the comparison's Op
	Unit   string // "ns/op" or a unit reported with b.ReportMetric
	Goal   *Goal
	// Format shows a side's result; nil formats the Unit's median.
	Format func(probe.Result) string
}

func (c Comparison) metrics() []Metric {
	if c.Metrics != nil {
		return c.Metrics
	}
	return []Metric{{Unit: "ns/op", Goal: c.Goal}}
}

// A Goal is a target the project set for a comparison.
type Goal struct {
	Text string
	Met  func(ours, theirs float64) bool
}

// RatioAtMost is met when ours / theirs <= x.
func RatioAtMost(x float64) *Goal {
	return &Goal{fmt.Sprintf("≤%gx", x), func(o, t float64) bool { return o <= x*t }}
}

// AtMost is met when ours <= v.
func AtMost(v float64, unit string) *Goal {
	return &Goal{fmt.Sprintf("≤%g%s", v, unit), func(o, _ float64) bool { return o <= v }}
}

// OverAtMost is met when ours - theirs <= v.
func OverAtMost(v float64, unit string) *Goal {
	return &Goal{fmt.Sprintf("≤%g%s over theirs", v, unit), func(o, t float64) bool { return o-t <= v }}
}

func (g *Goal) judge(ours, theirs float64) string {
	if g == nil {
		return ""
	}
	if math.IsNaN(ours) || math.IsNaN(theirs) {
		return "n/a (" + g.Text + ")"
	}
	if g.Met(ours, theirs) {
		return "met (" + g.Text + ")"
	}
	return "MISSED (" + g.Text + ")"
}

// A Group is a set of comparisons printed as one table.
type Group struct {
	Title string
	// About says what the group measures, printed above its table.
	About string
	// Setup, if set, runs before the group's comparisons; the returned
	// func runs after them.
	Setup       func() (teardown func(), err error)
	Comparisons []Comparison
	// Derive, if set, adds rows computed from the group's results, keyed
	// by Comparison.Name: [0] ours, [1] theirs.
	Derive func(results map[string][2]probe.Result) []Row
	// External, if set, adds rows measured by other programs.
	External func(*runner) ([]Row, error)
	// Notes are printed under the table.
	Notes []string

	rounds    int
	benchtime string
}

// A Row is one line of a table, formatted.
type Row struct {
	Op, Ours, Theirs, Ratio, Allocs, Instr, Goal string
}

// ratio formats ours/theirs.
func ratio(ours, theirs float64) string {
	if theirs <= 0 || math.IsNaN(ours) || math.IsNaN(theirs) {
		return "—"
	}
	if r := ours / theirs; r < 0.1 {
		return fmt.Sprintf("%.2gx", r) // 0.0044x, not 0.00x
	}
	return fmt.Sprintf("%.2fx", ours/theirs)
}

// formatUnit formats a median of unit for a table cell.
func formatUnit(v float64, unit string) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	switch unit {
	case "ns/op":
		return formatNs(v)
	case "cpu-%":
		return fmt.Sprintf("%.2f%% of a core", v)
	case "B/goroutine":
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprintf("%.3g %s", v, unit)
}

func formatNs(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.2f s", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.1f ns", ns)
}

func formatAllocs(ours, theirs float64) string {
	f := func(v float64) string {
		if math.Abs(v-math.Round(v)) < 0.05 {
			return fmt.Sprintf("%.0f", v)
		}
		return fmt.Sprintf("%.1f", v)
	}
	return f(ours) + "/" + f(theirs)
}

// rows formats a comparison's results.
func (c Comparison) rows(ours, theirs probe.Result) []Row {
	var out []Row
	for _, m := range c.metrics() {
		o, t := ours.Metric(m.Unit), theirs.Metric(m.Unit)
		r := Row{Op: c.Op + m.Suffix, Ratio: ratio(o, t), Goal: m.Goal.judge(o, t)}
		if m.Format != nil {
			r.Ours, r.Theirs = m.Format(ours), m.Format(theirs)
		} else {
			r.Ours, r.Theirs = formatUnit(o, m.Unit), formatUnit(t, m.Unit)
		}
		if m.Unit == "ns/op" {
			r.Allocs = formatAllocs(ours.AllocsPerOp, theirs.AllocsPerOp)
		}
		out = append(out, r)
	}
	return out
}
