package ctxvet

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// GoCtx reports a go statement in request- or task-scoped code whose
// goroutine neither receives nor references a context, and is not joined
// by the code that starts it: cancelling the request cannot reach it, and
// it may run on after the work it belongs to was abandoned (P1 in docs/design.md).
//
// Request- or task-scoped code is an HTTP handler (a function taking an
// http.ResponseWriter and an *http.Request), a gRPC handler (a method
// taking a context and a request message, or a server stream), a function
// literal handed to spawn.Go or to a Group's Go or TryGo (spawn or
// errgroup), and the closures inside them. With -goctx.everywhere, every
// function with a context in scope (a parameter or a local of an enclosing
// function not made from Background, TODO or WithoutCancel) counts: that is
// the check as first specified, but on libraries it mostly finds
// goroutines that live as long as a connection or an object, by design.
//
// A goroutine sees a context when an argument of the go statement, or
// anything in its code, is a context or carries one (a value with a method
// Context() context.Context, such as *http.Request); its code is the
// function literal, or the body of a function of the same package. It is
// joined when its code uses a channel or a sync.WaitGroup (it reports
// back, or waits for a stop signal), or when the function that starts it
// later selects on a context's Done. spawn.Go and Group.Go are no go
// statements and are never reported.
//
// Where the rewrite is known to compile and to evaluate the same things at
// the same moment (go func() {...}() and go f() with f a package-level
// function), the diagnostic carries a fix to spawn.Go(ctx, func(ctx
// context.Context) {...}), adding the imports it needs.
//
// Off by default (see OffByDefault): on real code, fewer than half of its
// findings were worth a change.
var GoCtx = switchedOff(newGoCtx())

func newGoCtx() *analysis.Analyzer {
	a := &analysis.Analyzer{
		Name:     "goctx",
		Doc:      "report goroutines started in request-scoped code without its context (P1)",
		URL:      "https://pkg.go.dev/github.com/ctxguard/ctxguard/ctxguard/ctxvet#GoCtx",
		Requires: []*analysis.Analyzer{inspect.Analyzer},
	}
	everywhere := a.Flags.Bool("everywhere", false, "report go statements wherever a context is in scope, not only in request-scoped code")
	a.Run = func(pass *analysis.Pass) (any, error) { return runGoCtx(pass, *everywhere) }
	return a
}

func runGoCtx(pass *analysis.Pass, everywhere bool) (any, error) {
	p := newPassInfo(pass)
	for cur := range p.insp.Root().Preorder((*ast.GoStmt)(nil)) {
		stmt := cur.Node().(*ast.GoStmt)
		if p.inGeneratedFile(stmt.Pos()) {
			continue
		}
		scope := requestScopeOf(p, cur)
		if !scope.ok && !everywhere {
			continue
		}
		var ctx string // the context the goroutine should get, as code
		if ctxs := contextsInScope(p, stmt.Pos()); len(ctxs) > 0 {
			ctx = ctxs[0].Name()
		} else if scope.request != "" {
			ctx = scope.request + ".Context()"
		}
		if ctx == "" || goroutineSeesContext(p, stmt.Call) || goroutineIsJoined(p, cur, stmt) {
			continue
		}
		d := analysis.Diagnostic{
			Pos: stmt.Pos(),
			End: stmt.End(),
			Message: fmt.Sprintf("goroutine does not receive %s, so cancellation cannot stop it: pass %s to it, or start it with spawn.Go(%s, func(ctx context.Context) {...})",
				ctx, ctx, ctx),
		}
		if fix := spawnGoFix(p, cur, stmt, ctx); fix != nil {
			d.SuggestedFixes = []analysis.SuggestedFix{*fix}
		}
		p.report(d)
	}
	return nil, nil
}

// goroutineSeesContext reports whether the goroutine that call starts gets
// or reaches a context.
func goroutineSeesContext(p *passInfo, call *ast.CallExpr) bool {
	if referencesContext(p.info, call) {
		return true // an argument, the function literal, or the receiver
	}
	body := goroutineBody(p, call)
	return body != nil && referencesContext(p.info, body)
}

// goroutineIsJoined reports whether the goroutine of stmt has a lifetime
// someone else holds: its code sends, receives, selects, ranges over a
// channel, closes one, or waits on or signals a sync.WaitGroup (a worker
// reporting back, a closer waiting for workers, a loop that ends on a stop
// channel); or the function that starts it goes on to select on a
// context's Done channel, the pattern that makes a blocking call
// cancellable by leaving its goroutine behind.
func goroutineIsJoined(p *passInfo, cur inspector.Cursor, stmt *ast.GoStmt) bool {
	if body := goroutineBody(p, stmt.Call); body != nil && synchronizes(p.info, body) {
		return true
	}
	fn, ok := enclosingFunc(cur)
	if !ok {
		return false
	}
	for c := range fn.Preorder((*ast.SelectStmt)(nil)) {
		sel := c.Node().(*ast.SelectStmt)
		if sel.Pos() < stmt.End() {
			continue
		}
		for _, clause := range sel.Body.List {
			if comm := clause.(*ast.CommClause).Comm; comm != nil {
				if ch := receivedChannel(comm); ch != nil && isDoneCall(p.info, ch) {
					return true
				}
			}
		}
	}
	return false
}

// synchronizes reports whether n uses a channel or a sync.WaitGroup.
func synchronizes(info *types.Info, n ast.Node) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SendStmt, *ast.SelectStmt:
			found = true
		case *ast.UnaryExpr:
			found = n.Op == token.ARROW
		case *ast.RangeStmt:
			if t := info.TypeOf(n.X); t != nil {
				_, found = t.Underlying().(*types.Chan)
			}
		case *ast.CallExpr:
			switch fn := typeutil.Callee(info, n).(type) {
			case *types.Builtin:
				found = fn.Name() == "close"
			case *types.Func:
				recv := fn.Signature().Recv()
				found = recv != nil && isNamedOrPointer(recv.Type(), "sync", "WaitGroup")
			}
		}
		return !found
	})
	return found
}

// goroutineBody returns the code the goroutine of call runs, where it can
// be seen: a function literal, a local func value declared as one, or a
// function or method of this package.
func goroutineBody(p *passInfo, call *ast.CallExpr) *ast.BlockStmt {
	var body *ast.BlockStmt
	switch fun := ast.Unparen(call.Fun).(type) {
	case *ast.Ident: // go f(): a function of this package, or a local func value
		switch obj := p.info.Uses[fun].(type) {
		case *types.Func:
			if decl := p.funcDecl(obj.Origin()); decl != nil {
				body = decl.Body
			}
		case *types.Var:
			if lit, ok := p.onlyValue(obj).(*ast.FuncLit); ok {
				body = lit.Body
			}
		}
	case *ast.SelectorExpr: // go x.m() or go pkg.F()
		if fn, ok := p.info.Uses[fun.Sel].(*types.Func); ok {
			if decl := p.funcDecl(fn.Origin()); decl != nil {
				body = decl.Body
			}
		}
	case *ast.FuncLit:
		body = fun.Body
	}
	return body
}
