package ctxvet

import "golang.org/x/tools/go/analysis"

// Analyzers returns every ctxvet check, in the order the package doc lists
// them; each is also exported on its own for drivers that pick. The checks
// [OffByDefault] lists are among them but report nothing unless enabled.
func Analyzers() []*analysis.Analyzer {
	return []*analysis.Analyzer{LostCancel, GoCtx, SelectDone, BrokenChain, BuiltinKey, ChanLeak}
}

// OffByDefault returns the checks that report nothing unless their flag
// -NAME.enable is set (command ctxvet also sets it when a check is named
// on its own, -NAME): on real code, fewer than half of their findings
// were worth changing the code for (README.md has the figures).
func OffByDefault() []*analysis.Analyzer {
	return offByDefault
}

var offByDefault []*analysis.Analyzer

// switchedOff makes a off by default: its Run does nothing unless its
// flag enable is set.
func switchedOff(a *analysis.Analyzer) *analysis.Analyzer {
	enabled := a.Flags.Bool("enable", false, "run this check, which is off by default")
	run := a.Run
	a.Run = func(pass *analysis.Pass) (any, error) {
		if !*enabled {
			return nil, nil
		}
		return run(pass)
	}
	offByDefault = append(offByDefault, a)
	return a
}
