package ctxvet

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
)

// SelectDone reports a blocking select (one without a default case) in a
// function with a context in scope (see GoCtx) that nothing but its data
// channels can end: no case receives from a context's Done channel, a
// timer, or a signal channel (element type struct{}), so cancelling the
// context does not unblock it (P2 in docs/design.md). Done of any context counts,
// so a select on a context derived from the one in scope (or held in a
// field) is fine, and so is a receive from a variable set from Done().
// select {} (block forever) is deliberate and never reported.
//
// A timer (time.After, a time.Timer) or a signal channel, an owner's stop
// channel as much as the call's own, bounds the wait on purpose: on real
// code, such selects were ended by what their authors chose, not by the
// context at hand, and adding a Done case was no fix. A ticker is no bound:
// it fires again and the select goes on waiting.
//
// Off by default (see OffByDefault): on real code, fewer than half of its
// findings were worth a change.
var SelectDone = switchedOff(&analysis.Analyzer{
	Name:     "selectdone",
	Doc:      "report blocking selects that do not watch the context's Done channel (P2)",
	URL:      "https://pkg.go.dev/github.com/ctxguard/ctxguard/ctxguard/ctxvet#SelectDone",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      runSelectDone,
})

func runSelectDone(pass *analysis.Pass) (any, error) {
	p := newPassInfo(pass)
	doneVars := doneChannelVars(p)
	for cur := range p.insp.Root().Preorder((*ast.SelectStmt)(nil)) {
		sel := cur.Node().(*ast.SelectStmt)
		if len(sel.Body.List) == 0 || p.inGeneratedFile(sel.Pos()) {
			continue
		}
		blocking, stoppable := true, false
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
			stoppable = stoppable || isDoneChannel(p, doneVars, ch) || isSignal(p, ch) || isTimerChannel(p, ch)
		}
		if !blocking || stoppable {
			continue
		}
		ctxs := contextsInScope(p, sel.Pos())
		if len(ctxs) == 0 {
			continue
		}
		ctx := ctxs[0].Name()
		p.reportf(sel, "select waits only for data and does not watch %s.Done(), so cancelling %s does not unblock it: add case <-%s.Done():", ctx, ctx, ctx)
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
// a time.Timer's C, or a local variable only ever set to those (a
// deadline rearmed with scriptTime = time.After(next)).
func isTimerChannel(p *passInfo, ch ast.Expr) bool {
	if id, ok := ch.(*ast.Ident); ok {
		v, ok := p.info.Uses[id].(*types.Var)
		if !ok {
			return false
		}
		values := p.assignments(v)
		for _, value := range values {
			if _, isIdent := ast.Unparen(value).(*ast.Ident); isIdent || !isTimerChannel(p, ast.Unparen(value)) {
				return false
			}
		}
		return len(values) > 0
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

// isSignal reports whether ch is a signal channel: its element type is
// struct{}, as for a stop channel, an event's Done() or a closing channel
// of an owner.
func isSignal(p *passInfo, ch ast.Expr) bool {
	t := p.info.TypeOf(ch)
	if t == nil {
		return false
	}
	c, ok := t.Underlying().(*types.Chan)
	if !ok {
		return false
	}
	st, ok := c.Elem().Underlying().(*types.Struct)
	return ok && st.NumFields() == 0
}
