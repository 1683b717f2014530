package ctxvet

import (
	"go/ast"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
)

// BuiltinKey reports WithValue (package context or ctxguard) called with a
// key of a built-in basic type, such as a string or an int: any other
// package using the same value as a key reads and overwrites the same
// entry (P5 in docs/design.md). A key of an unexported type of its own cannot
// collide.
//
// Off by default (see OffByDefault): on real code, fewer than half of its
// findings were worth a change.
var BuiltinKey = switchedOff(&analysis.Analyzer{
	Name:     "builtinkey",
	Doc:      "report context.WithValue keys of built-in types (P5)",
	URL:      "https://pkg.go.dev/github.com/ctxguard/ctxguard/ctxguard/ctxvet#BuiltinKey",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      runBuiltinKey,
})

func runBuiltinKey(pass *analysis.Pass) (any, error) {
	p := newPassInfo(pass)
	for n := range p.insp.PreorderSeq((*ast.CallExpr)(nil)) {
		call := n.(*ast.CallExpr)
		if len(call.Args) != 3 || !isCallTo(p.info, call, "WithValue") {
			continue
		}
		key := call.Args[1]
		basic, ok := types.Unalias(p.info.TypeOf(key)).(*types.Basic)
		if !ok || basic.Kind() == types.UntypedNil || basic.Kind() == types.Invalid {
			continue
		}
		fn := contextFunc(p.info, call)
		p.reportf(key, "%s key of built-in type %s can collide with any other package's %s keys: use a value of an unexported type of your own (type ctxKey struct{})",
			qualifiedName(p.info, call, fn), types.Default(basic), types.Default(basic))
	}
	return nil, nil
}
