package ctxotel

import (
	"strings"

	"go.opentelemetry.io/otel/attribute"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/series"
)

// seriesStats are the counts of one goroutine series, the sum of the
// Snapshot entries folded into it (package internal/series says which
// (name, scope) pairs get a series), with the series' attributes.
type seriesStats struct {
	attrs          attribute.Set
	live, lagging  int
	lagged, panics uint64
}

// newSeriesTable returns the table of at most max series.
func newSeriesTable(max int) *series.Table[attribute.Set] {
	return series.New(max, valid, seriesAttrs)
}

// foldSeries sums gs into their series.
func foldSeries(t *series.Table[attribute.Set], gs []ctxguard.GoroutineStats) []*seriesStats {
	groups := t.Fold(gs)
	out := make([]*seriesStats, 0, len(groups))
	for _, g := range groups {
		st := &seriesStats{attrs: g.Value}
		for _, e := range g.Entries {
			st.live += e.Live
			st.lagging += e.Lagging
			st.lagged += e.Lagged
			st.panics += e.Panics
		}
		out = append(out, st)
	}
	return out
}

// seriesAttrs are the attributes of a goroutine series; an empty scope is
// left out, as on the spans.
func seriesAttrs(k series.Key) attribute.Set {
	if k.Scope == "" {
		return attribute.NewSet(keyMetricName.String(k.Name))
	}
	return attribute.NewSet(keyMetricName.String(k.Name), keyScope.String(k.Scope))
}

// siteKey is the code location of dropped cancel funcs' data points:
// distinct call sites on one line share one.
type siteKey struct {
	function, file string
	line           int
}

// siteAttrSet are the code.* attributes of a site; the overflow site and
// sites the runtime could not symbolize have only a function name, such
// as "(other sites)".
func siteAttrSet(k siteKey) attribute.Set {
	kvs := make([]attribute.KeyValue, 0, 3)
	kvs = append(kvs, keyFunction.String(k.function))
	if k.file != "" {
		kvs = append(kvs, keyFile.String(k.file), keyLine.Int(k.line))
	}
	return attribute.NewSet(kvs...)
}

// valid makes s valid UTF-8, as OpenTelemetry requires of string
// attributes; goroutine names and scopes are arbitrary strings.
func valid(s string) string {
	return strings.ToValidUTF8(s, "\uFFFD")
}
