package ctxvet

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
)

// SelectDone reports a blocking select (one without a default case) in a
// function with a context in scope (see GoCtx), none of whose cases
// receives from a context's Done channel: cancelling the context does not
// unblock it (DESIGN's P2). Done of any context counts, so a select on a
// context derived from the one in scope (or held in a field) is fine, and
// so is a receive from a variable set from Done(). A select with a
// time.After or time.Timer case is still reported: the timer bounds the
// wait, but cancellation is not seen until it fires. select {} (block
// forever) is deliberate and never reported.
//
// In test files a select bounded by a timer is not reported: that is how
// tests bound their waits, often on purpose after cancelling.
//
// A select that receives from a signal channel (element type struct{}) of
// the call at hand, a local variable, a parameter or a call's result such
// as an event's Done(), has a way out of its caller's choosing and is not
// reported. One whose signals are fields or package-level variables is:
// those end with an object or with the program, not with the request.
var SelectDone = &analysis.Analyzer{
	Name:     "selectdone",
	Doc:      "report blocking selects that do not watch the context's Done channel (P2)",
	URL:      "https://pkg.go.dev/github.com/ctxguard/ctxguard/ctxguard/ctxvet#SelectDone",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      runSelectDone,
}

func runSelectDone(pass *analysis.Pass) (any, error) {
	p := newPassInfo(pass)
	doneVars := doneChannelVars(p)
	for cur := range p.insp.Root().Preorder((*ast.SelectStmt)(nil)) {
		sel := cur.Node().(*ast.SelectStmt)
		if len(sel.Body.List) == 0 || p.inGeneratedFile(sel.Pos()) {
			continue
		}
		blocking, stoppable, timer := true, false, false
		for _, clause := range sel.Body.List {
			comm := clause.(*ast.CommClause).Comm
			if comm == nil {
				blocking = false
				break
			}
			ch := receivedChannel(comm)
			if ch == nil {
				continue
			}
			stoppable = stoppable || isDoneChannel(p, doneVars, ch) || isCallSignal(p, ch)
			timer = timer || isTimerChannel(p, ch)
		}
		if !blocking || stoppable || timer && p.isTestFile(sel.Pos()) {
			continue // a test bounds its waits with timers, and its context is the test's
		}
		ctxs := contextsInScope(p, sel.Pos())
		if len(ctxs) == 0 {
			continue
		}
		ctx := ctxs[0].Name()
		if timer {
			p.reportf(sel, "select is bounded by a timer but does not watch %s.Done(), so it waits out the timer after %s is cancelled: add case <-%s.Done():", ctx, ctx, ctx)
		} else {
			p.reportf(sel, "select does not watch %s.Done(), so cancelling %s does not unblock it: add case <-%s.Done():", ctx, ctx, ctx)
		}
	}
	return nil, nil
}

// receivedChannel returns the channel a select case receives from, or nil
// for a send.
func receivedChannel(comm ast.Stmt) ast.Expr {
	var x ast.Expr
	switch comm := comm.(type) {
	case *ast.ExprStmt:
		x = comm.X
	case *ast.AssignStmt:
		x = comm.Rhs[0]
	default:
		return nil
	}
	if recv, ok := ast.Unparen(x).(*ast.UnaryExpr); ok && recv.Op == token.ARROW {
		return ast.Unparen(recv.X)
	}
	return nil
}

// isDoneCall reports whether e is ctx.Done() for some context ctx.
func isDoneCall(info *types.Info, e ast.Expr) bool {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok || len(call.Args) != 0 {
		return false
	}
	sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Done" && isContextType(info.TypeOf(sel.X))
}

// doneChannelVars finds the variables that are ever set from a context's
// Done(), as in done := ctx.Done() or, when ctx may be nil,
// if ctx != nil { done = ctx.Done() }.
func doneChannelVars(p *passInfo) map[*types.Var]bool {
	vars := make(map[*types.Var]bool)
	mark := func(lhs ast.Expr, rhs ast.Expr) {
		if id, ok := lhs.(*ast.Ident); ok && isDoneCall(p.info, rhs) {
			if v, ok := p.info.ObjectOf(id).(*types.Var); ok {
				vars[v] = true
			}
		}
	}
	for n := range p.insp.PreorderSeq((*ast.AssignStmt)(nil), (*ast.ValueSpec)(nil)) {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if len(n.Lhs) == len(n.Rhs) {
				for i := range n.Lhs {
					mark(n.Lhs[i], n.Rhs[i])
				}
			}
		case *ast.ValueSpec:
			if len(n.Names) == len(n.Values) {
				for i := range n.Names {
					mark(n.Names[i], n.Values[i])
				}
			}
		}
	}
	return vars
}

// isDoneChannel reports whether ch is a context's Done channel.
func isDoneChannel(p *passInfo, doneVars map[*types.Var]bool, ch ast.Expr) bool {
	if isDoneCall(p.info, ch) {
		return true
	}
	id, ok := ch.(*ast.Ident)
	if !ok {
		return false
	}
	v, ok := p.info.Uses[id].(*types.Var)
	return ok && doneVars[v]
}

// isTimerChannel reports whether ch fires once after a delay: time.After(d),
// a time.Timer's C, or a variable set from time.After.
func isTimerChannel(p *passInfo, ch ast.Expr) bool {
	if id, ok := ch.(*ast.Ident); ok {
		if v, ok := p.info.Uses[id].(*types.Var); ok {
			if init := p.onlyValue(v); init != nil {
				ch = ast.Unparen(init)
			}
		}
	}
	switch ch := ch.(type) {
	case *ast.CallExpr:
		fn, ok := calleeObject(p.info, ast.Unparen(ch.Fun)).(*types.Func)
		return ok && fn.Pkg() != nil && fn.Pkg().Path() == "time" && fn.Name() == "After"
	case *ast.SelectorExpr:
		return ch.Sel.Name == "C" && isNamedOrPointer(p.info.TypeOf(ch.X), "time", "Timer")
	}
	return false
}

// isCallSignal reports whether ch is a signal channel (element type
// struct{}) of the call at hand: a local variable, a parameter, or what a
// call returns (a stop channel, an event's Done()). A signal in a field or
// a package-level variable ends with its object or the program, not with
// the work the select waits for.
func isCallSignal(p *passInfo, ch ast.Expr) bool {
	t := p.info.TypeOf(ch)
	if t == nil {
		return false
	}
	c, ok := t.Underlying().(*types.Chan)
	if !ok {
		return false
	}
	if st, ok := c.Elem().Underlying().(*types.Struct); !ok || st.NumFields() != 0 {
		return false
	}
	switch ch := ch.(type) {
	case *ast.Ident:
		v, ok := p.info.Uses[ch].(*types.Var)
		return ok && (v.Kind() == types.LocalVar || v.Kind() == types.ParamVar)
	case *ast.CallExpr:
		return true
	}
	return false
}
