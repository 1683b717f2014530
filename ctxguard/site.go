package ctxguard

import (
	"runtime"
	"strconv"
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
	return Site{Function: f.Function, File: f.File, Line: f.Line}
}

// siteStats counts one site's events.
type siteStats struct {
	pc         uintptr
	site       Site
	resolved   bool
	total      uint64 // events ever
	unreported uint64 // events since the last report
}

func (s *siteStats) resolve() Site {
	if !s.resolved {
		s.site, s.resolved = siteOf(s.pc), true
	}
	return s.site
}

// siteTable holds per-site statistics for at most max sites, then folds
// further sites into one overflow entry. Callers hold the Monitor's mutex.
type siteTable struct {
	max      int
	bySite   map[uintptr]*siteStats
	overflow *siteStats
}

func (t *siteTable) get(pc uintptr) *siteStats {
	if s := t.bySite[pc]; s != nil {
		return s
	}
	if len(t.bySite) >= t.max {
		if t.overflow == nil {
			t.overflow = &siteStats{site: OverflowSite, resolved: true}
		}
		return t.overflow
	}
	if t.bySite == nil {
		t.bySite = make(map[uintptr]*siteStats)
	}
	s := &siteStats{pc: pc}
	t.bySite[pc] = s
	return s
}

// all returns every entry, overflow last.
func (t *siteTable) all() []*siteStats {
	out := make([]*siteStats, 0, len(t.bySite)+1)
	for _, s := range t.bySite {
		out = append(out, s)
	}
	if t.overflow != nil {
		out = append(out, t.overflow)
	}
	return out
}
