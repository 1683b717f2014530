package ctxdebug

import (
	"strconv"
	"strings"
	"time"
)

// A chart is one panel of the page's SVG chart: a series of the samples,
// drawn on the server as a path, with no script and no external asset.
type chart struct {
	Title string
	Class string // CSS class of the line: "live" or "lagging"
	Last  int    // the newest value
	Max   int    // the top of the y axis
	Path  string // the SVG path of the series, in the plot's coordinates
	DotX  int    // where the newest value is drawn
	DotY  int
	// Span and HalfSpan label the x axis: how far back it starts, and
	// its middle.
	Span, HalfSpan string
	// The geometry, for the template.
	Width, Height, Left, Right, Top, Mid, Bottom, Center int
}

// The plot area within the chart's viewBox (0 0 chartWidth chartHeight).
const (
	chartWidth  = 520
	chartHeight = 120
	plotLeft    = 44
	plotRight   = 512
	plotTop     = 10
	plotBottom  = 96
	// gapBreak is the longest gap between samples drawn as a line: across
	// a longer one (nobody looked, nothing happened) the line breaks.
	gapBreak = time.Minute
)

// spans are the lengths of the x axis: the shortest that reaches back to
// the oldest sample.
var spans = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, ChartWindow}

// charts draws the live and lagging series of samples up to now.
func charts(samples []Sample, now time.Time) []chart {
	span := spans[len(spans)-1]
	if len(samples) > 0 {
		for _, s := range spans {
			if now.Sub(samples[0].Time) <= s {
				span = s
				break
			}
		}
	}
	live := make([]int, len(samples))
	lagging := make([]int, len(samples))
	for i, s := range samples {
		live[i], lagging[i] = s.Live, s.Lagging
	}
	return []chart{
		drawChart("live goroutines", "live", samples, live, now, span),
		drawChart("lagging goroutines", "lagging", samples, lagging, now, span),
	}
}

func drawChart(title, class string, samples []Sample, values []int, now time.Time, span time.Duration) chart {
	c := chart{Title: title, Class: class, Max: 1,
		Span: "−" + minutes(span), HalfSpan: "−" + minutes(span/2),
		Width: chartWidth, Height: chartHeight, Left: plotLeft, Right: plotRight,
		Top: plotTop, Mid: (plotTop + plotBottom) / 2, Bottom: plotBottom, Center: (plotLeft + plotRight) / 2}
	for _, v := range values {
		c.Max = max(c.Max, v)
	}
	c.Max = niceCeil(c.Max)
	if len(values) == 0 {
		return c
	}
	c.Last = values[len(values)-1]
	start := now.Add(-span)
	x := func(t time.Time) int {
		f := float64(t.Sub(start)) / float64(span)
		f = min(max(f, 0), 1)
		return plotLeft + int(f*float64(plotRight-plotLeft)+0.5)
	}
	y := func(v int) int {
		return plotBottom - int(float64(v)/float64(c.Max)*float64(plotBottom-plotTop)+0.5)
	}
	// Steps: a value holds until the next sample, the last one known. A
	// sample alone between gaps is a short dash.
	breaks := func(i int) bool {
		return i == 0 || i == len(samples) || samples[i].Time.Sub(samples[i-1].Time) > gapBreak
	}
	var b strings.Builder
	for i, s := range samples {
		px, py := strconv.Itoa(x(s.Time)), strconv.Itoa(y(values[i]))
		switch {
		case breaks(i) && breaks(i+1):
			b.WriteString("M" + px + " " + py + "h2")
		case breaks(i):
			b.WriteString("M" + px + " " + py)
		default:
			b.WriteString("H" + px + "V" + py)
		}
	}
	c.Path = b.String()
	c.DotX, c.DotY = x(samples[len(samples)-1].Time), y(c.Last)
	return c
}

// minutes labels a span: "10 min", "30 s".
func minutes(d time.Duration) string {
	if d < time.Minute {
		return strconv.Itoa(int(d/time.Second)) + " s"
	}
	return strconv.FormatFloat(d.Minutes(), 'f', -1, 64) + " min"
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten.
func niceCeil(n int) int {
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}
