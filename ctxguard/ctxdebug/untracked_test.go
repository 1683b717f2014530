package ctxdebug

import (
	"testing"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// The page lists at most MaxSites untracked groups, counting the
// goroutines of the others as omitted, and leaves the runtime's goexit
// frame out of a group's stack.
func TestUntrackedGroupsAreBounded(t *testing.T) {
	site := func(fn string, line int) ctxguard.Site {
		return ctxguard.Site{Function: "example.com/app." + fn, File: "example.com/app/app.go", Line: line}
	}
	group := func(fn string, count, leaked int) ctxguard.UntrackedStats {
		return ctxguard.UntrackedStats{Start: site(fn, 10), Count: count, Leaked: leaked,
			BlockedAt: ctxguard.BlockedAt{Site: site(fn, 11), Reason: "chan send", Count: count,
				Frames: []ctxguard.Site{site(fn, 11), {Function: "runtime.goexit", File: "runtime/asm_amd64.s", Line: 1700}}}}
	}
	s := ctxguard.Snapshot{UntrackedAt: t0, UntrackedLive: 900, UntrackedOmitted: 7,
		Untracked: []ctxguard.UntrackedStats{group("a", 300, 300), group("b", 200, 0), group("c", 150, 0)}}
	u := untrackedOf(&s, 2)
	if !u.Watched || u.At == nil || !u.At.Equal(t0) || u.Live != 900 || u.Omitted != 7+150 || len(u.Groups) != 2 {
		t.Fatalf("untracked %+v, want watched at t0, 900 live, 157 omitted, 2 groups", u)
	}
	want := UntrackedGroup{Start: Site(site("a", 10)), BlockedAt: Site(site("a", 11)), Reason: "chan send",
		Frames: []Site{Site(site("a", 11))}, Count: 300, Leaked: 300}
	if g := u.Groups[0]; g.Start != want.Start || g.BlockedAt != want.BlockedAt || g.Reason != want.Reason ||
		len(g.Frames) != 1 || g.Frames[0] != want.Frames[0] || g.Count != want.Count || g.Leaked != want.Leaked {
		t.Errorf("first group %+v, want %+v", g, want)
	}
	if u := untrackedOf(&ctxguard.Snapshot{}, 2); u.Watched || u.At != nil || u.Groups == nil {
		t.Errorf("before a look: %+v, want not watched, no time, an empty list", u)
	}
}
