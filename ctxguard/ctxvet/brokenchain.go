package ctxvet

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/edge"
	"golang.org/x/tools/go/ast/inspector"
)

// BrokenChain reports context.Background() or context.TODO() (package
// context or ctxguard) called in a function that has a context parameter,
// its own or an enclosing function's: the chain of contexts breaks there,
// so the caller's cancellation, deadline and values do not reach what is
// called with it (P4 in docs/design.md). A deliberate detach keeps the values and
// says what it means: context.WithoutCancel(ctx).
//
// The context parameter must be at hand: one of the function the call is
// in, or of an enclosing function when the literals in between run on the
// spot (func() {...}() or deferred). A literal stored for later or started
// as a goroutine runs when that parameter may mean nothing to it.
//
// Not reported either: the functions main and init, test files, an
// argument of WithoutCancel, a comparison (ctx != context.Background()),
// the nil-context default if ctx == nil { ctx = context.Background() },
// and a detach explained by a comment on the line above (one that says
// TODO, FIXME or XXX explains nothing): on real code those were
// deliberate, a shutdown or a long-lived object's own context.
//
// The message suggests context.WithoutCancel(ctx) only where the detached
// context serves one call whose result is not kept (a flush, a log line):
// elsewhere it may end up in a long-lived object, where WithoutCancel would
// keep the request's values, and all they reference, alive with it.
//
// Off by default (see OffByDefault): on real code, fewer than half of its
// findings were worth a change.
var BrokenChain = switchedOff(&analysis.Analyzer{
	Name:     "brokenchain",
	Doc:      "report context.Background() and TODO() where a context parameter is at hand (P4)",
	URL:      "https://pkg.go.dev/github.com/ctxguard/ctxguard/ctxguard/ctxvet#BrokenChain",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      runBrokenChain,
})

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
		if !ok || isWithoutCancelArg(p, cur) || isNilContextDefault(p, cur) || isCompared(cur) || isExplained(p, cur) {
			continue
		}
		what, pass := "the context parameter "+name, "pass "+name+" on"
		if name == "_" {
			what, pass, name = "the function's unnamed context parameter", "name it ctx and pass it on", "ctx"
		}
		detach := "; if it must outlive this call on purpose, keep it and say why in a comment on the line above"
		if servesOneCall(cur) {
			detach = fmt.Sprintf(", or detach deliberately with %s.WithoutCancel(%s)", packageQualifier(p.info, call, fn), name)
		}
		p.reportf(call, "%s() drops %s, so its cancellation and values stop here: %s%s",
			qualifiedName(p.info, call, fn), what, pass, detach)
	}
	return nil, nil
}

// contextParam returns the name of the context parameter that is at hand
// where cur is: one of the innermost function, or of an enclosing one when
// the functions in between are literals run on the spot (called at once
// or deferred). A literal stored or started as a goroutine runs at another
// time, when the enclosing call's context may mean nothing to it. The name
// of an unnamed parameter is _. ok is false when there is none, or inside
// main or init.
func contextParam(p *passInfo, cur inspector.Cursor) (name string, ok bool) {
	for fn := range cur.Enclosing((*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)) {
		var ftype *ast.FuncType
		switch decl := fn.Node().(type) {
		case *ast.FuncDecl:
			if decl.Recv == nil && (decl.Name.Name == "init" || decl.Name.Name == "main" && p.pkg.Name() == "main") {
				return "", false
			}
			ftype = decl.Type
		case *ast.FuncLit:
			ftype = decl.Type
		}
		for _, field := range ftype.Params.List {
			if !isContextType(p.info.TypeOf(field.Type)) {
				continue
			}
			name, ok = "_", true
			if len(field.Names) > 0 {
				name = field.Names[0].Name
			}
			break
		}
		if ok {
			return name, !insideMainOrInit(p, fn)
		}
		if lit, isLit := fn.Node().(*ast.FuncLit); !isLit || !runsOnTheSpot(fn, lit) {
			return "", false
		}
	}
	return "", false
}

// runsOnTheSpot reports whether lit, at cur, is called where it stands:
// func() {...}() or defer func() {...}().
func runsOnTheSpot(cur inspector.Cursor, lit *ast.FuncLit) bool {
	if cur.ParentEdgeKind() != edge.CallExpr_Fun {
		return false
	}
	_, inGo := cur.Parent().Parent().Node().(*ast.GoStmt)
	return !inGo
}

// insideMainOrInit reports whether cur is inside the function main of
// package main or an init function.
func insideMainOrInit(p *passInfo, cur inspector.Cursor) bool {
	for fn := range cur.Enclosing((*ast.FuncDecl)(nil)) {
		decl := fn.Node().(*ast.FuncDecl)
		return decl.Recv == nil && (decl.Name.Name == "init" || decl.Name.Name == "main" && p.pkg.Name() == "main")
	}
	return false
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

// isExplained reports whether a comment on the line above the statement
// of the call at cur explains it; one that says TODO, FIXME or XXX does
// not. (A comment at the end of the line is too often about something
// else.)
func isExplained(p *passInfo, cur inspector.Cursor) bool {
	file := enclosingFile(cur)
	if file == nil {
		return false
	}
	fset := p.pass.Fset
	stmtLine := fset.Position(cur.Node().Pos()).Line
	for stmt := range cur.Enclosing((*ast.ExprStmt)(nil), (*ast.AssignStmt)(nil), (*ast.ReturnStmt)(nil), (*ast.DeclStmt)(nil), (*ast.DeferStmt)(nil), (*ast.GoStmt)(nil), (*ast.IfStmt)(nil)) {
		stmtLine = fset.Position(stmt.Node().Pos()).Line
		break
	}
	for _, group := range file.Comments {
		end := fset.Position(group.End()).Line
		if end != stmtLine-1 {
			continue
		}
		text := strings.ToUpper(group.Text())
		if strings.HasPrefix(strings.TrimSpace(group.List[0].Text), ignorePrefix) {
			continue // a directive for another check explains nothing here
		}
		if !strings.Contains(text, "TODO") && !strings.Contains(text, "FIXME") && !strings.Contains(text, "XXX") {
			return true
		}
	}
	return false
}

// servesOneCall reports whether the call at cur is an argument of a call
// whose result is dropped (a statement, deferred or not): the detached
// context lives as long as that call.
func servesOneCall(cur inspector.Cursor) bool {
	if cur.ParentEdgeKind() != edge.CallExpr_Args {
		return false
	}
	switch cur.Parent().Parent().Node().(type) {
	case *ast.ExprStmt, *ast.DeferStmt:
		return true
	}
	return false
}

// isCompared reports whether the call at cur is an operand of == or !=,
// as in if ctx != context.Background(): a test, not a use.
func isCompared(cur inspector.Cursor) bool {
	bin, ok := cur.Parent().Node().(*ast.BinaryExpr)
	return ok && (bin.Op == token.EQL || bin.Op == token.NEQ)
}
