package ctxvet

import "golang.org/x/tools/go/analysis"

// Analyzers returns every ctxvet check, in the order the package doc lists
// them; each is also exported on its own for drivers that pick.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{LostCancel, GoCtx, SelectDone, BrokenChain, BuiltinKey, ChanLeak}
}
