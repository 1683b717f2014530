package ctxguard

import (
	"path"
	"reflect"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/ctxguard/ctxguard/internal/cowmap"
)

// A Site is a place in the program's source: where a cancel func was
// created or a goroutine was spawned, or a frame of a goroutine's stack.
type Site struct {
	// Function is the package-qualified function name, as in a goroutine
	// dump: "github.com/acme/api/handlers.(*Orders).Get.func1".
	Function string
	// File is the file's package path and base name,
	// "github.com/acme/api/handlers/order.go": the same wherever and
	// however the program was built (with or without -trimpath), so that
	// it can label metrics. Functions of package main are under the main
	// package's import path.
	File string
	Line int
}

// OverflowName is the Function of the site that stands for every site
// beyond [Config.MaxSites] (see [Site.IsOverflow]): their events are
// counted under it instead of under a site of their own, and exporters
// label them with it.
const OverflowName = "(other sites)"

// otherSites is the site named OverflowName.
var otherSites = Site{Function: OverflowName}

// IsOverflow reports whether s is the site that stands for every site
// beyond [Config.MaxSites], named [OverflowName].
func (s Site) IsOverflow() bool { return s == otherSites }

// String returns "file:line", or the Function for sites without a file.
func (s Site) String() string {
	if s.File == "" {
		return s.Function
	}
	return s.File + ":" + strconv.Itoa(s.Line)
}

// siteOf symbolizes a return pc as recorded by callerPC or runtime.Callers.
// It runs off the hot path; results are cached by pc, which the program's
// code bounds.
func siteOf(pc uintptr) Site {
	if pc == 0 {
		return Site{Function: "(unknown)"}
	}
	if s, ok := sites.Load(pc); ok {
		return s
	}
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	s := frameSite(f)
	sites.LoadOrStore(pc, s, 0)
	return s
}

// sites caches siteOf.
var sites cowmap.Map[uintptr, Site]

// frameSite is the Site of a symbolized frame.
func frameSite(f runtime.Frame) Site {
	if name, ok := strings.CutSuffix(f.Function, "-fm"); ok {
		// The wrapper of a method value, which has no source position:
		// name the method.
		return Site{Function: truncateLabel(name)}
	}
	return Site{Function: truncateLabel(f.Function), File: truncateLabel(stablePath(f.Function, f.File)), Line: f.Line}
}

// stablePath is file as its package path and base name. The runtime
// reports absolute build paths (or module-relative ones with -trimpath);
// the package path comes from the function's symbol name instead.
func stablePath(function, file string) string {
	if file == "" {
		return ""
	}
	pkg := funcPackage(function)
	if pkg == "" {
		return path.Base(file)
	}
	base := path.Base(file)
	switch {
	case pkg == "main":
		pkg = mainPackage()
	case strings.HasSuffix(base, "_test.go"):
		// An external test package's path is its directory's plus "_test".
		pkg = strings.TrimSuffix(pkg, "_test")
	}
	return pkg + "/" + base
}

// funcPackage is the import path of the package of a function named as
// runtime.Frame.Function names it, "" if it cannot tell.
func funcPackage(function string) string {
	name, _, _ := strings.Cut(function, "[") // type arguments may hold dots and slashes
	slash := strings.LastIndexByte(name, '/')
	dot := strings.IndexByte(name[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	pkg := name[:slash+1+dot]
	// The symbol escapes dots in the last path element ("yaml%2ev3").
	return strings.ReplaceAll(pkg, "%2e", ".")
}

// buildInfo is what the binary says about its packages and modules.
var buildInfo = sync.OnceValue(func() (b struct {
	mainPkg string   // import path of package main
	modules []string // paths of the main module and its dependencies
}) {
	b.mainPkg = "main"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Path != "" {
			b.mainPkg = bi.Path
		}
		b.modules = append(b.modules, bi.Main.Path)
		for _, d := range bi.Deps {
			b.modules = append(b.modules, d.Path)
		}
	}
	return b
})

func mainPackage() string { return buildInfo().mainPkg }

// isStdPackage reports whether pkg is in the standard library: its first
// path element has no dot, and it is not package main nor in a module of
// the build (a module path may have no dot either).
func isStdPackage(pkg string) bool {
	first, _, _ := strings.Cut(pkg, "/")
	if strings.Contains(first, ".") || pkg == "main" {
		return false
	}
	for _, mod := range buildInfo().modules {
		if mod != "" && (pkg == mod || strings.HasPrefix(pkg, mod+"/")) {
			return false
		}
	}
	return true
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
var overflowSite = lazySite{site: otherSites, resolved: true}

// siteStats counts the dropped cancels of one creation site.
type siteStats struct {
	lazySite
	total      uint64 // events ever
	unreported uint64 // events since the last report
	reporting
	dirty bool // listed in Monitor.dirtyCancels
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

// funcNames caches function names by code pointer; the program's code
// bounds it.
var funcNames cowmap.Map[uintptr, string]

// typeName names a handler type that is not a func.
func typeName(t reflect.Type) string { return truncateLabel(t.String()) }

// pcName is the name of the function whose code starts at pc.
func pcName(pc uintptr) string {
	if name, ok := funcNames.Load(pc); ok {
		return name
	}
	name := "(unknown)"
	if f := runtime.FuncForPC(pc); f != nil {
		// Method values show as T.m-fm; a dump shows the method.
		name = truncateLabel(strings.TrimSuffix(f.Name(), "-fm"))
	}
	funcNames.LoadOrStore(pc, name, 0)
	return name
}
