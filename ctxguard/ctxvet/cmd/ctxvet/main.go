// Command ctxvet runs the ctxvet checks (package
// github.com/ctxguard/ctxguard/ctxguard/ctxvet) on Go packages, standalone
// or as a vet tool:
//
//	ctxvet ./...
//	go vet -vettool=$(which ctxvet) ./...
//
// A flag named after a check turns it off (-goctx=false) or, set to true,
// runs only the checks so named (-lostcancel). A check that is off by
// default runs when named so, or with -NAME.enable beside the others.
// ctxvet -help lists them.
//
// Standalone, ctxvet prints each finding once (not again for a package's
// test variant), exits with status 3 when it reports something, with
// -json too, and honours GOFLAGS=-modfile=... as go vet does.
package main

import (
	"log"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/multichecker"

	"github.com/ctxguard/ctxguard/ctxguard/ctxvet"
)

func main() {
	analyzers := ctxvet.Analyzers()
	enableNamed(ctxvet.OffByDefault(), os.Args[1:])
	if cfg, ok := parseStandalone(analyzers, os.Args[1:]); ok {
		log.SetFlags(0)
		log.SetPrefix(filepath.Base(os.Args[0]) + ": ")
		os.Exit(runStandalone(cfg, os.Stdout, os.Stderr))
	}
	multichecker.Main(analyzers...)
}

// enableNamed sets -NAME.enable for each check of offByDefault that args
// name on its own (-NAME or -NAME=true): asking for a check by name runs
// it. go vet passes such flags on to each run of its tool, so this works
// under -vettool too.
func enableNamed(offByDefault []*analysis.Analyzer, args []string) {
	for _, arg := range args {
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !strings.HasPrefix(arg, "-") || hasValue && value != "true" && value != "1" && value != "t" {
			continue
		}
		for _, a := range offByDefault {
			if a.Name == name {
				a.Flags.Set("enable", "true")
			}
		}
	}
}
