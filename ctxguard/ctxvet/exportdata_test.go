package ctxvet_test

import (
	"runtime"
	"runtime/debug"
	"testing"

	"golang.org/x/tools/go/packages"
)

// The x/tools this module requires must read the export data that the Go
// release running the tests writes: the go command type-checks "sync" with
// that release and ctxvet's loader imports it. An x/tools older than the
// release fails here, by name, instead of as an "internal error in
// importing" in every analyzer test (see docs/modules.md: commands
// track the newest Go).
func TestReadsThisGoExportData(t *testing.T) {
	pkgs, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedTypes}, "sync")
	if err != nil {
		t.Fatal(err)
	}
	var errs []packages.Error
	packages.Visit(pkgs, nil, func(p *packages.Package) { errs = append(errs, p.Errors...) })
	if len(errs) > 0 || len(pkgs) != 1 || pkgs[0].Types == nil || pkgs[0].Types.Scope().Lookup("WaitGroup") == nil {
		t.Fatalf("golang.org/x/tools %s cannot read the export data of %s; require a newer one: %v",
			xtoolsVersion(), runtime.Version(), errs)
	}
}

// xtoolsVersion is the version of golang.org/x/tools linked in.
func xtoolsVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "golang.org/x/tools" {
				return m.Version
			}
		}
	}
	return "(unknown version)"
}
