package ctxotel

import (
	"strings"
	"sync"

	"github.com/ctxguard/ctxguard/ctxguard"
	"go.opentelemetry.io/otel/attribute"
)

// seriesKey is the (name, scope) of one goroutine series.
type seriesKey struct{ name, scope string }

// overflowKey is the series of everything beyond the bound. It is the
// Monitor's own overflow entry too, so the two fold into one series.
var overflowKey = seriesKey{name: ctxguard.OverflowSite.Function}

// seriesStats are the counts of one series: the sum of the Snapshot entries
// folded into it.
type seriesStats struct {
	attrs          attribute.Set
	live, lagging  int
	lagged, panics uint64
}

// seriesTable decides which (name, scope) pairs get attributes of their
// own, as package ctxprom's collector does for its label pairs.
//
// Snapshot.Goroutines has one entry per name, scope and spawn site; the
// instruments have one data point per (name, scope), so entries are summed
// over sites. The first max pairs seen, at a collection or in a late exit,
// keep their attributes for as long as the registration lives; every later
// pair is folded into overflowKey. The choice never changes once made, so
// no data point takes counts from another and counters never go down; a
// pair once reported is reported at every collection, with zeros when its
// goroutines are gone.
type seriesTable struct {
	max      int
	mu       sync.Mutex // guards known and overflow: collections and late exits may come concurrently
	known    map[seriesKey]attribute.Set
	overflow bool // overflowKey has been reported
}

// fold sums gs into their series.
func (t *seriesTable) fold(gs []ctxguard.GoroutineStats) map[seriesKey]*seriesStats {
	out := make(map[seriesKey]*seriesStats)
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range gs {
		g := &gs[i]
		k, attrs := t.keyLocked(seriesKey{valid(g.Name), valid(g.Scope)})
		st := out[k]
		if st == nil {
			st = &seriesStats{attrs: attrs}
			out[k] = st
		}
		st.live += g.Live
		st.lagging += g.Lagging
		st.lagged += g.Lagged
		st.panics += g.Panics
	}
	for k, attrs := range t.known {
		if out[k] == nil {
			out[k] = &seriesStats{attrs: attrs}
		}
	}
	if t.overflow && out[overflowKey] == nil {
		out[overflowKey] = &seriesStats{attrs: seriesAttrs(overflowKey)}
	}
	return out
}

// attrs returns the attributes the series of name and scope is reported
// with.
func (t *seriesTable) attrs(name, scope string) attribute.Set {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, attrs := t.keyLocked(seriesKey{valid(name), valid(scope)})
	return attrs
}

// keyLocked returns the series k is counted in, and its attributes. The
// caller holds t.mu.
func (t *seriesTable) keyLocked(k seriesKey) (seriesKey, attribute.Set) {
	if attrs, ok := t.known[k]; ok {
		return k, attrs
	}
	if k == overflowKey || len(t.known) >= t.max {
		t.overflow = true
		return overflowKey, seriesAttrs(overflowKey)
	}
	if t.known == nil {
		t.known = make(map[seriesKey]attribute.Set)
	}
	attrs := seriesAttrs(k)
	t.known[k] = attrs
	return k, attrs
}

// seriesAttrs are the attributes of a goroutine series; an empty scope is
// left out, as on the spans.
func seriesAttrs(k seriesKey) attribute.Set {
	if k.scope == "" {
		return attribute.NewSet(keyMetricName.String(k.name))
	}
	return attribute.NewSet(keyMetricName.String(k.name), keyScope.String(k.scope))
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
