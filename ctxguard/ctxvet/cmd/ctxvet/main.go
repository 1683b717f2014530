// Command ctxvet runs the ctxvet checks (package
// github.com/ctxguard/ctxguard/ctxguard/ctxvet) on Go packages, standalone
// or as a vet tool:
//
//	ctxvet ./...
//	go vet -vettool=$(which ctxvet) ./...
//
// A flag named after a check turns it off (-selectdone=false) or, set to
// true, runs only the checks so named (-lostcancel). ctxvet -help lists them.
package main

import (
	"golang.org/x/tools/go/analysis/multichecker"

	"github.com/ctxguard/ctxguard/ctxguard/ctxvet"
)

func main() { multichecker.Main(ctxvet.Analyzers()...) }
