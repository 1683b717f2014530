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
	attrs                 attribute.Set
	live, lagging, leaked int
	lagged, panics        uint64
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
			st.leaked += e.Leaked
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

// untrackedKey is the attributes of an untracked group's data points: the
// function its goroutines started with and where they are blocked.
// Groups blocked at one line for different reasons share one.
type untrackedKey struct{ start, blockedAt string }

// untrackedOverflow is the data point of the untracked goroutines of
// groups beyond Config.MaxSites.
var untrackedOverflow = untrackedKey{start: ctxguard.OverflowName}

// untrackedCounts are an untracked data point's goroutines and leaked ones.
type untrackedCounts struct{ count, leaked int }

// foldUntracked sums the Snapshot's untracked groups by their attributes,
// with the overflow point; nil until the Monitor has looked.
func foldUntracked(s *ctxguard.Snapshot) map[untrackedKey]untrackedCounts {
	if s.UntrackedAt.IsZero() {
		return nil
	}
	out := make(map[untrackedKey]untrackedCounts, len(s.Untracked)+1)
	for _, u := range s.Untracked {
		k := untrackedKey{valid(u.Start.Function), valid(u.BlockedAt.Site.String())}
		n := out[k]
		out[k] = untrackedCounts{n.count + u.Count, n.leaked + u.Leaked}
	}
	out[untrackedOverflow] = untrackedCounts{count: s.UntrackedOmitted}
	return out
}

// untrackedAttrs are the attributes of an untracked data point; the
// overflow's has no ctxguard.blocked_at.
func untrackedAttrs(k untrackedKey) attribute.Set {
	if k.blockedAt == "" {
		return attribute.NewSet(keyStart.String(k.start))
	}
	return attribute.NewSet(keyStart.String(k.start), keyBlockedAt.String(k.blockedAt))
}
