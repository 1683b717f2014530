package ctxguard

import (
	"runtime"
	"strconv"
	"strings"
)

// A Site is a place in the program's source: where a cancel func was
// created or a goroutine was spawned.
type Site struct {
	Function string // package-qualified function name, as in a goroutine dump
	File     string
	Line     int
}

// OverflowSite stands for every site beyond [Config.MaxSites]: their events
// are counted under it instead of under a site of their own.
var OverflowSite = Site{Function: "(other sites)"}

// String returns "file:line", or the Function for sites without a file.
func (s Site) String() string {
	if s.File == "" {
		return s.Function
	}
	return s.File + ":" + strconv.Itoa(s.Line)
}

// siteOf symbolizes a return pc as recorded by callerPC or runtime.Callers.
// It runs off the hot path, once per distinct pc.
func siteOf(pc uintptr) Site {
	if pc == 0 {
		return Site{Function: "(unknown)"}
	}
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	if name, ok := strings.CutSuffix(f.Function, "-fm"); ok {
		// The wrapper of a method value, which has no source position:
		// name the method.
		return Site{Function: name}
	}
	return Site{Function: f.Function, File: f.File, Line: f.Line}
}

// lazySite is a pc, symbolized on first use.
type lazySite struct {
	pc       uintptr
	site     Site
	resolved bool
}

func (l *lazySite) resolve() Site {
	if !l.resolved {
		l.site, l.resolved = siteOf(l.pc), true
	}
	return l.site
}

// overflowSite is the lazySite of overflow entries.
var overflowSite = lazySite{site: OverflowSite, resolved: true}

// siteStats counts the dropped cancels of one creation site.
type siteStats struct {
	lazySite
	total      uint64 // events ever
	unreported uint64 // events since the last report
}

// boundedTable holds statistics entries for at most max keys, then folds
// further keys into one overflow entry, so memory stays bounded whatever
// the program does. Callers hold the Monitor's mutex.
type boundedTable[K comparable, V any] struct {
	max      int
	byKey    map[K]*V
	overflow *V
}

// get returns k's entry, or the overflow entry once max keys are held.
// newEntry makes an entry on first use; for the overflow entry it is
// called with overflow set.
func (t *boundedTable[K, V]) get(k K, newEntry func(k K, overflow bool) *V) *V {
	if e := t.byKey[k]; e != nil {
		return e
	}
	if len(t.byKey) >= t.max {
		if t.overflow == nil {
			t.overflow = newEntry(k, true)
		}
		return t.overflow
	}
	if t.byKey == nil {
		t.byKey = make(map[K]*V)
	}
	e := newEntry(k, false)
	t.byKey[k] = e
	return e
}

// all returns every entry, overflow last.
func (t *boundedTable[K, V]) all() []*V {
	out := make([]*V, 0, len(t.byKey)+1)
	for _, e := range t.byKey {
		out = append(out, e)
	}
	if t.overflow != nil {
		out = append(out, t.overflow)
	}
	return out
}
