// Command ctxvet runs the ctxvet checks (package
// github.com/ctxguard/ctxguard/ctxguard/ctxvet) on Go packages, standalone
// or as a vet tool:
//
//	ctxvet ./...
//	go vet -vettool=$(which ctxvet) ./...
//
// A flag named after a check turns it off (-selectdone=false) or, set to
// true, runs only the checks so named (-lostcancel). ctxvet -help lists them.
//
// Standalone, ctxvet prints each finding once (not again for a package's
// test variant), exits with status 3 when it reports something, with
// -json too, and honours GOFLAGS=-modfile=... as go vet does.
package main

import (
	"log"
	"os"
	"path/filepath"

	"golang.org/x/tools/go/analysis/multichecker"

	"github.com/ctxguard/ctxguard/ctxguard/ctxvet"
)

func main() {
	analyzers := ctxvet.Analyzers()
	if cfg, ok := parseStandalone(analyzers, os.Args[1:]); ok {
		log.SetFlags(0)
		log.SetPrefix(filepath.Base(os.Args[0]) + ": ")
		os.Exit(runStandalone(cfg, os.Stdout, os.Stderr))
	}
	multichecker.Main(analyzers...)
}
