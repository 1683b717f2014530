package ctxvet

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
)

// BrokenChain reports context.Background() or context.TODO() (package
// context or ctxguard) called in a function that has a context parameter,
// its own or an enclosing function's: the chain of contexts breaks there,
// so the caller's cancellation, deadline and values do not reach what is
// called with it (DESIGN's P4). A deliberate detach keeps the values and
// says what it means: context.WithoutCancel(ctx).
//
// Not reported: the functions main and init, test files, an argument of
// WithoutCancel, and the nil-context default
// if ctx == nil { ctx = context.Background() }.
var BrokenChain = &analysis.Analyzer{
	Name:     "brokenchain",
	Doc:      "report context.Background() and TODO() where a context parameter is at hand (P4)",
	URL:      "https://pkg.go.dev/github.com/ctxguard/ctxguard/ctxguard/ctxvet#BrokenChain",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      runBrokenChain,
}

func runBrokenChain(pass *analysis.Pass) (any, error) {
	p := newPassInfo(pass)
	for cur := range p.insp.Root().Preorder((*ast.CallExpr)(nil)) {
		call := cur.Node().(*ast.CallExpr)
		fn := contextFunc(p.info, call)
		if fn == nil || (fn.Name() != "Background" && fn.Name() != "TODO") {
			continue
		}
		if p.inGeneratedFile(call.Pos()) || p.isTestFile(call.Pos()) {
			continue
		}
		name, ok := contextParam(p, cur)
		if !ok || isWithoutCancelArg(p, cur) || isNilContextDefault(p, cur) {
			continue
		}
		if name == "" || name == "_" {
			name = "ctx"
		}
		p.reportf(call, "%s() drops the context parameter %s, so its cancellation and values stop here: pass %s on, or detach deliberately with %s.WithoutCancel(%s)",
			qualifiedName(fn), name, name, fn.Pkg().Name(), name)
	}
	return nil, nil
}

// contextParam returns the name of a context parameter of a function
// enclosing cur, the innermost one ("" for an unnamed one); ok is false
// when there is none, or when cur is inside main or init.
func contextParam(p *passInfo, cur inspector.Cursor) (name string, ok bool) {
	for fn := range cur.Enclosing((*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)) {
		var ftype *ast.FuncType
		switch fn := fn.Node().(type) {
		case *ast.FuncDecl:
			if fn.Recv == nil && (fn.Name.Name == "init" || fn.Name.Name == "main" && p.pkg.Name() == "main") {
				return "", false
			}
			ftype = fn.Type
		case *ast.FuncLit:
			ftype = fn.Type
		}
		if ok {
			continue // keep looking for main or init
		}
		for _, field := range ftype.Params.List {
			if isContextType(p.info.TypeOf(field.Type)) {
				if len(field.Names) > 0 {
					name = field.Names[0].Name
				}
				ok = true
				break
			}
		}
	}
	return name, ok
}

// isWithoutCancelArg reports whether the call at cur is the argument of
// WithoutCancel, a detach already.
func isWithoutCancelArg(p *passInfo, cur inspector.Cursor) bool {
	parent, ok := cur.Parent().Node().(*ast.CallExpr)
	return ok && isCallTo(p.info, parent, "WithoutCancel")
}

// isNilContextDefault reports whether the call at cur is inside
// if x == nil {...} with x a context: the default for a caller that passed
// no context, not a break in the chain.
func isNilContextDefault(p *passInfo, cur inspector.Cursor) bool {
	for c := range cur.Enclosing((*ast.IfStmt)(nil), (*ast.FuncLit)(nil), (*ast.FuncDecl)(nil)) {
		ifStmt, ok := c.Node().(*ast.IfStmt)
		if !ok {
			return false
		}
		if cond, ok := ast.Unparen(ifStmt.Cond).(*ast.BinaryExpr); ok && cond.Op == token.EQL &&
			(isNilCompare(p.info, cond.X, cond.Y) || isNilCompare(p.info, cond.Y, cond.X)) &&
			ifStmt.Body.Pos() <= cur.Node().Pos() && cur.Node().End() <= ifStmt.Body.End() {
			return true
		}
	}
	return false
}

func isNilCompare(info *types.Info, x, nilExpr ast.Expr) bool {
	tv, ok := info.Types[nilExpr]
	return ok && tv.IsNil() && isContextType(info.TypeOf(x))
}
