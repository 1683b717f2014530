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
	"golang.org/x/tools/go/types/typeutil"
)

// ChanLeak reports goroutines that block forever on a channel their
// starting function made and then abandoned, the goroutine leak found most
// often in real programs.
//
// The sender side: a goroutine sends on an unbuffered channel that the
// function which made it (and started the goroutine) is the only one to
// receive from, and that function never receives from it, or, outside
// test files, leaves the select that waits for the result through a
// timer's case (time.After, a Timer's C), and with -done (chanleak.done)
// through a case on a context's Done. Once it does, the send never
// completes.
// Where one goroutine sends once, the diagnostic carries a fix that makes
// the channel buffered with capacity 1, so the send completes whether or
// not anyone receives; it suggests a select on the context's Done where
// the waiting select has that case and the send can see the context.
//
// With -all (chanleak.all) every way out without a receive counts: a
// context's Done and any other case of that select (a stop channel, a
// default), in test files too, a return before the receive (an error
// check), a loop over the channel it leaves early, fewer receives than
// goroutines send (the first answer wins). On real code most of those
// were left on purpose (a command or a test helper giving up) or followed
// a protocol the check cannot see, so they are not reported by default.
//
// The receiver side: a goroutine ranges over a channel its starting
// function made and nobody ever closes (or receives from one nobody sends
// on or closes), while that function can return: the loop never ends.
//
// Only channels the function made itself (v := make(chan T)) and that stay
// within it are considered: one stored in a field, returned, passed to any
// call but the go statement that starts a goroutine of this package, or
// used in a function literal that is returned or stored may be served by
// someone else. A send or receive inside a select with
// another case, or a receive in a function literal the function defers or
// calls, counts as having a way out. A select case that fails the test or
// ends the program (t.Fatal, t.Error, panic, os.Exit, log.Fatal), that
// receives the other result the same goroutines send or close, or, in a
// test file, that waits for a timer, is no way out: the leak would follow
// a failure, or there is none. spawn.Go and a Group's Go are no go
// statements: their functions are joined (Wait) or tracked at run time.
// Neither main nor init is checked: their goroutines end with the program.
//
// Sends and receives are counted where that is known: a goroutine whose
// sends are each followed by a return or a close of the channel sends
// once, times the iterations of the loops that start it (a constant, or
// the loop's bound as text: n, len(items)); a receive outside an if, a
// switch or a select case's body is sure, times the iterations of the
// loops around it that nothing leaves early. When the sure receives before
// a way out cover every value that can be sent, the way out leaves no
// sender behind, and neither do as many receives as values sent.
//
// It is the one check on by default: on set M, 122 modules it was never
// measured or tuned on, 2 of its 4 findings were worth changing the code
// for, and 9 of 15 with the timer findings of sets H to L (README.md). A
// select left through a context's Done (-done) was 12 of 41.
var ChanLeak = &analysis.Analyzer{
	Name:     "chanleak",
	Doc:      "report goroutines left blocked on a channel their starting function made and abandoned",
	URL:      "https://pkg.go.dev/github.com/ctxguard/ctxguard/ctxguard/ctxvet#ChanLeak",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      runChanLeak,
}

// useKind is what one mention of a channel does with it.
type useKind int

const (
	useNeutral useKind = iota // len, cap, a comparison
	useRecv                   // <-ch
	useRange                  // for v := range ch
	useSend                   // ch <- v
	useClose                  // close(ch)
	useEscape                 // anything else: stored, returned, passed on
)

// chanUse is one mention of a channel made by the function under study.
type chanUse struct {
	kind  useKind
	node  ast.Node         // the receive, range, send or close
	cur   inspector.Cursor // where node is
	owner *ast.GoStmt      // the goroutine it runs in; nil for the making function
	body  ast.Node         // owner's code (a literal or a declaration), or the making function
	inLit bool             // inside a function literal of owner that is no goroutine
	sel   *ast.SelectStmt  // the select a receive or send is a case of
}

// blocking reports whether the use, a send or receive, waits with no
// other way out: it is no select case, or the select's only case.
func (u chanUse) blocking() bool {
	return u.sel == nil || len(u.sel.Body.List) == 1
}

// chanFacts gathers what a function does with a channel it made.
type chanFacts struct {
	v       *types.Var
	make    *ast.CallExpr
	fn      inspector.Cursor // the function that made it
	fnName  string
	uses    []chanUse
	escapes bool
}

// chanLeakTests is chanleak's -tests flag: report in test files too
// (_test.go files and files that import package testing: isTestFile).
// Off by default: on modules the check was not tuned on, few of its
// findings in test files were worth fixing (3 of 9 on one set, 6 of 35 on
// the next, both with every way out, before -all); most of the others are
// left only once the test has already failed, or follow a protocol the
// check cannot see. See the README.
var chanLeakTests bool

// chanLeakAll is chanleak's -all flag: report every way out, not only the
// shapes that were worth fixing on real code (a channel its function
// never receives from; outside test files, a select that leaves on a
// timer, and with -done on a context's Done). The others (an early
// return, the first of several answers, a stop channel, a default case, a range left early)
// were mostly left behind on purpose or followed a protocol the check
// cannot see: 8 of 42 findings worth fixing on set G, 5 of 14 on sets H
// and I. See the README.
var chanLeakAll bool

// chanLeakDone is chanleak's -done flag: also report, outside test files,
// a select that leaves on a context's Done, the shape of the snippet in
// issue 26. Off by itself: on the modules of sets H to M, 12 of its 41
// findings were worth fixing; most of the others leave on a context that
// ends only when the program does (a command that gives up and exits, a
// component stopped at shutdown). See the README.
var chanLeakDone bool

func init() {
	ChanLeak.Flags.BoolVar(&chanLeakTests, "tests", false, "also report in test code: _test.go files, files importing testing, packages under a test, tests or e2e directory (measured on untuned modules with -all: 6 of 35 findings there worth fixing)")
	ChanLeak.Flags.BoolVar(&chanLeakDone, "done", false, "also report a select that leaves on a context's Done without receiving (measured on untuned modules: 12 of 41 findings worth fixing)")
	ChanLeak.Flags.BoolVar(&chanLeakAll, "all", false, "report every way out without a receive: early returns, the first of several answers, stop channels, default cases (measured on untuned modules: 13 of 56 findings worth fixing)")
}

func runChanLeak(pass *analysis.Pass) (any, error) {
	p := newPassInfo(pass)
	for cur := range p.insp.Root().Preorder((*ast.CallExpr)(nil)) {
		call := cur.Node().(*ast.CallExpr)
		if !isMakeChan(p.info, call) || p.inGeneratedFile(call.Pos()) {
			continue
		}
		if !chanLeakTests && p.isTestFile(call.Pos()) {
			continue
		}
		v := madeVar(p, cur)
		if v == nil || p.onlyValue(v) != call {
			continue
		}
		fn, ok := enclosingFunc(cur)
		if !ok || isMainOrInit(p, fn.Node()) {
			continue
		}
		f := &chanFacts{v: v, make: call, fn: fn, fnName: funcName(fn.Node())}
		collectUses(p, f)
		if f.escapes {
			continue
		}
		checkBlockedSenders(p, f)
		checkUnclosedRange(p, f)
	}
	return nil, nil
}

// isMakeChan reports whether call is make(chan T) or make(chan T, n).
func isMakeChan(info *types.Info, call *ast.CallExpr) bool {
	id, ok := ast.Unparen(call.Fun).(*ast.Ident)
	if !ok || len(call.Args) == 0 {
		return false
	}
	if b, ok := info.Uses[id].(*types.Builtin); !ok || b.Name() != "make" {
		return false
	}
	t := info.TypeOf(call.Args[0])
	if t == nil {
		return false
	}
	_, ok = t.Underlying().(*types.Chan)
	return ok
}

// isUnbuffered reports whether make call has no capacity or a constant 0.
func isUnbuffered(info *types.Info, call *ast.CallExpr) bool {
	if len(call.Args) < 2 {
		return true
	}
	tv, ok := info.Types[call.Args[1]]
	return ok && tv.Value != nil && tv.Value.String() == "0"
}

// madeVar returns the local variable the make call at cur is assigned to
// (v := make(...), var v = make(...)), or nil.
func madeVar(p *passInfo, cur inspector.Cursor) *types.Var {
	var id *ast.Ident
	switch parent := cur.Parent().Node().(type) {
	case *ast.AssignStmt:
		if len(parent.Lhs) != len(parent.Rhs) || cur.ParentEdgeKind() != edge.AssignStmt_Rhs {
			return nil
		}
		id, _ = parent.Lhs[cur.ParentEdgeIndex()].(*ast.Ident)
	case *ast.ValueSpec:
		if len(parent.Names) != len(parent.Values) || cur.ParentEdgeKind() != edge.ValueSpec_Values {
			return nil
		}
		id = parent.Names[cur.ParentEdgeIndex()]
	}
	if id == nil {
		return nil
	}
	v, ok := p.info.ObjectOf(id).(*types.Var)
	if !ok || v.Kind() != types.LocalVar {
		return nil
	}
	return v
}

// isMainOrInit reports whether fn is main of package main or an init.
func isMainOrInit(p *passInfo, fn ast.Node) bool {
	decl, ok := fn.(*ast.FuncDecl)
	return ok && decl.Recv == nil && (decl.Name.Name == "init" || decl.Name.Name == "main" && p.pkg.Name() == "main")
}

// funcName names fn for a message.
func funcName(fn ast.Node) string {
	if decl, ok := fn.(*ast.FuncDecl); ok {
		return decl.Name.Name
	}
	return "the enclosing function"
}

// collectUses records every mention of f.v in the function that made it,
// and of the parameters it is passed to by go statements, in the started
// function's code.
func collectUses(p *passInfo, f *chanFacts) {
	for idCur := range f.fn.Preorder((*ast.Ident)(nil)) {
		if p.info.Uses[idCur.Node().(*ast.Ident)] != f.v {
			continue
		}
		owner, body, inLit, handedOn := ownerOf(f.fn, idCur)
		if handedOn {
			f.escapes = true // in a callback or a returned closure
			return
		}
		if body == nil {
			body = f.fn.Node()
		}
		if goStmt, i, ok := goArgument(idCur); ok {
			if !collectParamUses(p, f, goStmt, i) {
				f.escapes = true
				return
			}
			continue
		}
		u := classifyUse(p, idCur)
		if u.kind == useEscape {
			f.escapes = true
			return
		}
		u.owner, u.body, u.inLit = owner, body, inLit
		f.uses = append(f.uses, u)
	}
}

// ownerOf returns the goroutine the identifier at cur runs in, if it is in
// the literal of a go statement inside fn, with that literal; inLit tells
// whether a function literal that is no goroutine lies in between, and
// handedOn whether such a literal is returned or stored (in a variable, a
// field, a composite literal) rather than called or passed to a call: it
// runs when and where someone else decides, the channel with it.
func ownerOf(fn, cur inspector.Cursor) (owner *ast.GoStmt, body ast.Node, inLit, handedOn bool) {
	for lit := range cur.Enclosing((*ast.FuncLit)(nil), (*ast.FuncDecl)(nil)) {
		if lit == fn {
			break
		}
		if g, ok := goOfLiteral(lit); ok {
			return g, lit.Node(), inLit, handedOn
		}
		inLit = true
		switch lit.ParentEdgeKind() {
		case edge.CallExpr_Fun, edge.CallExpr_Args:
			// run on the spot, deferred, or run by the callee
		default:
			handedOn = true
		}
	}
	return nil, nil, inLit, handedOn
}

// goOfLiteral returns the go statement whose function is the literal at
// cur: go func() {...}().
func goOfLiteral(cur inspector.Cursor) (*ast.GoStmt, bool) {
	if cur.ParentEdgeKind() != edge.CallExpr_Fun {
		return nil, false
	}
	g, ok := cur.Parent().Parent().Node().(*ast.GoStmt)
	return g, ok
}

// goArgument reports whether the identifier at cur is argument i of the
// call of a go statement: go f(ch).
func goArgument(cur inspector.Cursor) (*ast.GoStmt, int, bool) {
	if cur.ParentEdgeKind() != edge.CallExpr_Args {
		return nil, 0, false
	}
	call := cur.Parent()
	if call.ParentEdgeKind() != edge.GoStmt_Call {
		return nil, 0, false
	}
	return call.Parent().Node().(*ast.GoStmt), cur.ParentEdgeIndex(), true
}

// collectParamUses records the uses of the parameter that argument i of
// the go statement g binds, in the code g starts. It reports false when
// that code cannot be seen (a function of another package, a func value)
// or passes the channel on.
func collectParamUses(p *passInfo, f *chanFacts, g *ast.GoStmt, i int) bool {
	var ftype *ast.FuncType
	var body ast.Node
	switch fun := ast.Unparen(g.Call.Fun).(type) {
	case *ast.FuncLit:
		ftype, body = fun.Type, fun
	default:
		fn, ok := calleeObject(p.info, fun).(*types.Func)
		if !ok {
			return false
		}
		decl := p.funcDecl(fn.Origin())
		if decl == nil || decl.Body == nil {
			return false
		}
		ftype, body = decl.Type, decl
	}
	param := paramAt(p, ftype, i)
	if param == nil {
		return false
	}
	bodyCur, ok := p.insp.Root().FindNode(body)
	if !ok {
		return false
	}
	for idCur := range bodyCur.Preorder((*ast.Ident)(nil)) {
		if p.info.Uses[idCur.Node().(*ast.Ident)] != param {
			continue
		}
		if _, _, ok := goArgument(idCur); ok {
			return false // handed on to yet another goroutine
		}
		u := classifyUse(p, idCur)
		if u.kind == useEscape {
			return false
		}
		var handedOn bool
		_, _, u.inLit, handedOn = ownerOf(bodyCur, idCur)
		if handedOn {
			return false
		}
		u.owner, u.body = g, body
		f.uses = append(f.uses, u)
	}
	return true
}

// paramAt returns the variable of parameter i of ftype; nil for a
// variadic one.
func paramAt(p *passInfo, ftype *ast.FuncType, i int) *types.Var {
	n := 0
	for _, field := range ftype.Params.List {
		if _, variadic := field.Type.(*ast.Ellipsis); variadic {
			return nil
		}
		for _, name := range field.Names {
			if n == i {
				v, _ := p.info.Defs[name].(*types.Var)
				return v
			}
			n++
		}
		if len(field.Names) == 0 {
			n++
		}
	}
	return nil
}

// classifyUse tells what the mention of a channel at cur does with it.
func classifyUse(p *passInfo, cur inspector.Cursor) chanUse {
	for cur.ParentEdgeKind() == edge.ParenExpr_X {
		cur = cur.Parent()
	}
	parent := cur.Parent()
	switch n := parent.Node().(type) {
	case *ast.UnaryExpr:
		if n.Op == token.ARROW {
			return chanUse{kind: useRecv, node: n, cur: parent, sel: selectOfComm(parent)}
		}
	case *ast.SendStmt:
		if cur.ParentEdgeKind() == edge.SendStmt_Chan {
			return chanUse{kind: useSend, node: n, cur: parent, sel: selectOfComm(parent)}
		}
	case *ast.RangeStmt:
		if cur.ParentEdgeKind() == edge.RangeStmt_X {
			return chanUse{kind: useRange, node: n, cur: parent}
		}
	case *ast.CallExpr:
		if b, ok := typeutil.Callee(p.info, n).(*types.Builtin); ok && cur.ParentEdgeKind() == edge.CallExpr_Args {
			switch b.Name() {
			case "close":
				return chanUse{kind: useClose, node: n, cur: parent}
			case "len", "cap":
				return chanUse{kind: useNeutral}
			}
		}
	case *ast.BinaryExpr:
		if n.Op == token.EQL || n.Op == token.NEQ {
			return chanUse{kind: useNeutral}
		}
	}
	return chanUse{kind: useEscape}
}

// selectOfComm returns the select whose case the receive or send at cur
// is (case v := <-ch:, case <-ch:, case ch <- v:), or nil.
func selectOfComm(cur inspector.Cursor) *ast.SelectStmt {
	switch cur.ParentEdgeKind() {
	case edge.ExprStmt_X, edge.AssignStmt_Rhs:
		cur = cur.Parent()
	}
	if cur.ParentEdgeKind() != edge.CommClause_Comm {
		return nil
	}
	sel, _ := cur.Parent().Parent().Parent().Node().(*ast.SelectStmt)
	return sel
}

// checkBlockedSenders reports goroutines whose send on f's channel can
// block forever: the channel is unbuffered, only the making function
// receives from it, and that function has a way out without receiving.
func checkBlockedSenders(p *passInfo, f *chanFacts) {
	if !isUnbuffered(p.info, f.make) {
		return
	}
	var blocked, sends []chanUse
	var own []chanUse // the making function's receives
	for _, u := range f.uses {
		switch {
		case u.kind == useSend && u.owner == nil:
			return // the function sends too: a protocol this check does not follow
		case u.kind == useClose && u.owner == nil:
			return // the function closes it (deferred, say): a late send panics, it does not block
		case u.kind == useSend:
			sends = append(sends, u)
			if u.blocking() {
				blocked = append(blocked, u)
			}
		case (u.kind == useRecv || u.kind == useRange) && (u.owner != nil || u.inLit):
			return // another goroutine, or a deferred drain, receives too
		case u.kind == useRecv || u.kind == useRange:
			own = append(own, u)
		}
	}
	if len(blocked) == 0 {
		return
	}
	many := len(sends) > 1 || len(senders(sends)) > 1 || sendsRepeat(p, f, sends[0])
	out := wayOut(p, f, own, blocked, many, !chanLeakAll)
	if out == "" {
		return
	}
	for _, u := range blocked {
		pos := ast.Node(u.node)
		if _, isLit := u.body.(*ast.FuncLit); !isLit {
			pos = u.owner // the send is in a function others may start too
		}
		msg := fmt.Sprintf("this send on %s blocks forever %s, leaking the goroutine: %s",
			f.v.Name(), out, senderRemedy(p, f, u, own, many))
		if len(own) == 0 {
			msg = fmt.Sprintf("%s never receives from %s, so this send blocks forever, leaking the goroutine: receive from %s where its value is wanted, or %s",
				f.fnName, f.v.Name(), f.v.Name(), senderRemedy(p, f, u, own, many))
		}
		d := analysis.Diagnostic{Pos: pos.Pos(), End: pos.End(), Message: msg}
		if !many {
			d.SuggestedFixes = []analysis.SuggestedFix{bufferFix(p, f)}
		}
		p.report(d)
	}
}

// sendsRepeat reports whether the send u may run more than once per
// channel: it is in a callback inside the goroutine's code (a function
// literal passed to a call), or in a loop there (and no return follows
// it), or the go statement is in a loop the make call is not in.
func sendsRepeat(p *passInfo, f *chanFacts, u chanUse) bool {
	if repeatsInGoroutine(p, u) {
		return true
	}
	goCur, ok := f.fn.FindNode(u.owner)
	return !ok || inLoopWithin(goCur, f.fn.Node()) && !loopEncloses(goCur, f.make)
}

// repeatsInGoroutine reports whether the send u may run more than once
// in one run of its goroutine: it is in a callback (a function literal
// passed to a call), or in a loop and neither a return nor a close of the
// channel follows it.
func repeatsInGoroutine(p *passInfo, u chanUse) bool {
	return inCallback(u.cur, u.body) || inLoopWithin(u.cur, u.body) && !endsSending(p, u.cur)
}

// inCallback reports whether the node at cur is in a function literal
// passed to a call, inside stop: a callback may run any number of times.
// One called on the spot or deferred runs once.
func inCallback(cur inspector.Cursor, stop ast.Node) bool {
	for lit := range cur.Enclosing((*ast.FuncLit)(nil), (*ast.FuncDecl)(nil)) {
		if lit.Node() == stop {
			return false
		}
		if lit.ParentEdgeKind() == edge.CallExpr_Args {
			return true
		}
	}
	return false
}

// endsSending reports whether the statement after the send at cur is a
// return, or closes the channel sent on (any later send would panic, not
// block), also when the send ends an if or else block and such a statement
// follows the if: in a loop, the goroutine sends once.
func endsSending(p *passInfo, cur inspector.Cursor) bool {
	ch := sentVar(p, cur.Node().(*ast.SendStmt))
	for {
		if next, ok := cur.NextSibling(); ok {
			switch n := next.Node().(type) {
			case *ast.ReturnStmt:
				return true
			case *ast.ExprStmt:
				return ch != nil && closes(p, n.X, ch)
			}
			return false
		}
		// The last statement of an if or else block: what follows the if.
		block := cur.Parent()
		if _, ok := block.Node().(*ast.BlockStmt); !ok {
			return false
		}
		switch block.ParentEdgeKind() {
		case edge.IfStmt_Body, edge.IfStmt_Else:
			cur = block.Parent()
			for cur.ParentEdgeKind() == edge.IfStmt_Else {
				cur = cur.Parent() // else if: the outermost if
			}
		default:
			return false
		}
	}
}

// sentVar returns the variable a send sends on, or nil.
func sentVar(p *passInfo, send *ast.SendStmt) types.Object {
	if id, ok := ast.Unparen(send.Chan).(*ast.Ident); ok {
		return p.info.Uses[id]
	}
	return nil
}

// closes reports whether e is close(ch) of the variable ch.
func closes(p *passInfo, e ast.Expr, ch types.Object) bool {
	call, ok := ast.Unparen(e).(*ast.CallExpr)
	if !ok || len(call.Args) != 1 {
		return false
	}
	if b, ok := typeutil.Callee(p.info, call).(*types.Builtin); !ok || b.Name() != "close" {
		return false
	}
	id, ok := ast.Unparen(call.Args[0]).(*ast.Ident)
	return ok && p.info.Uses[id] == ch
}

// inLoopWithin reports whether a for or range loop inside stop encloses
// the node at cur.
func inLoopWithin(cur inspector.Cursor, stop ast.Node) bool {
	for c := range cur.Enclosing() {
		switch c.Node().(type) {
		case *ast.ForStmt, *ast.RangeStmt:
			if c != cur {
				return true
			}
		case *ast.FuncLit, *ast.FuncDecl:
			if c.Node() == stop {
				return false
			}
		}
	}
	return false
}

// loopEncloses reports whether the innermost loop around cur also
// encloses n: both run once per iteration.
func loopEncloses(cur inspector.Cursor, n ast.Node) bool {
	for c := range cur.Enclosing((*ast.ForStmt)(nil), (*ast.RangeStmt)(nil), (*ast.FuncLit)(nil), (*ast.FuncDecl)(nil)) {
		if c == cur {
			continue
		}
		return c.Node().Pos() <= n.Pos() && n.End() <= c.Node().End()
	}
	return false
}

// wayOut finds how the making function can return or move on without
// receiving what the goroutines send: it returns a phrase such as
// "once fetch returns through case <-ctx.Done() (line 12) without
// receiving it", or "". With narrow (chanleak without -all) it looks
// only for a select case that reportedCase accepts and for no receive at
// all.
func wayOut(p *passInfo, f *chanFacts, own, blocked []chanUse, many, narrow bool) string {
	line := func(pos token.Pos) int { return p.pass.Fset.Position(pos).Line }
	if len(own) == 0 {
		return "once " + f.fnName + " returns without ever receiving it"
	}
	for _, u := range own {
		if u.sel == nil {
			continue
		}
		inLoop := inLoopWithin(p.cursorOf(u.sel), f.fn.Node())
		for _, stmt := range u.sel.Body.List {
			clause := stmt.(*ast.CommClause)
			if clause.Comm != nil && clause.Comm.Pos() <= u.node.Pos() && u.node.End() <= clause.Comm.End() {
				continue // the case that receives
			}
			if narrow && !reportedCase(p, clause) {
				continue
			}
			if receivesIn(f, clause) || endsRun(p, clause) || alternativeResult(p, clause, blocked) || testTimeout(p, clause) {
				continue // it drains the channel, fails the test or the program, or hears from the senders
			}
			leaves := !inLoop && !receivesAfter(f, u.sel)
			if inLoop {
				leaves = leavesLoop(p, p.cursorOf(clause), u.sel)
			}
			if leaves && !drained(p, f, own, blocked, u.sel.Pos()) {
				return fmt.Sprintf("once %s %s (line %d) without receiving it", f.fnName, describeClause(p, clause), line(clause.Pos()))
			}
		}
	}
	if narrow {
		return ""
	}
	if many {
		for _, u := range own {
			if u.kind != useRange {
				continue
			}
			if exit := exitFromLoop(p, p.cursorOf(u.node), u.node); exit != nil {
				return fmt.Sprintf("once %s stops ranging over %s (line %d) before the goroutines are done", f.fnName, f.v.Name(), line(exit.Pos()))
			}
		}
	}
	repeats := false
	for _, u := range blocked {
		repeats = repeats || sendsRepeat(p, f, u)
	}
	if n, last := receivesAtMost(p, f, own); n > 0 && (repeats || n < len(senders(blocked))) && !drained(p, f, own, blocked, f.fn.Node().End()) {
		if n == 1 {
			return fmt.Sprintf("when it is not the one value %s receives (line %d)", f.fnName, line(last))
		}
		return fmt.Sprintf("when it is not among the %d values %s receives (line %d)", n, f.fnName, line(last))
	}
	for _, s := range blocked {
		if ret := earlyReturn(p, f, s.owner, own); ret != nil {
			return fmt.Sprintf("once %s returns (line %d) before receiving it", f.fnName, line(ret.Pos()))
		}
	}
	return ""
}

// reportedCase reports whether clause, outside a test file, is a way out
// chanleak reports without -all: a timer's case, and with -done a case on
// a context's Done. In a test file a timer is the test failing, and a
// context's Done mostly the test's own deadline.
func reportedCase(p *passInfo, clause *ast.CommClause) bool {
	if clause.Comm == nil || p.isTestFile(clause.Pos()) {
		return false
	}
	ch := receivedChannel(clause.Comm)
	return ch != nil && (isTimerChannel(p, ch) || chanLeakDone && isDoneCall(p.info, ch))
}

// testTimeout reports whether clause is a timer case in a test file: tests
// bound their waits with timers, and the test fails when one fires.
func testTimeout(p *passInfo, clause *ast.CommClause) bool {
	if clause.Comm == nil || !p.isTestFile(clause.Pos()) {
		return false
	}
	ch := receivedChannel(clause.Comm)
	return ch != nil && isTimerChannel(p, ch)
}

// receivesAtMost returns how many values the making function's receives
// take at most, and where the last one is; n is 0 when one of them may
// repeat: a range, or a receive in a loop, unless it is a select case that
// returns.
func receivesAtMost(p *passInfo, f *chanFacts, own []chanUse) (n int, last token.Pos) {
	for _, u := range own {
		if u.kind == useRange {
			return 0, token.NoPos
		}
		if inLoopWithin(p.cursorOf(u.node), f.fn.Node()) && !caseReturns(p, u) {
			return 0, token.NoPos
		}
		n++
		last = max(last, u.node.Pos())
	}
	return n, last
}

// caseReturns reports whether the receive u is a select case whose body
// ends in a return.
func caseReturns(p *passInfo, u chanUse) bool {
	if u.sel == nil {
		return false
	}
	for _, stmt := range u.sel.Body.List {
		clause := stmt.(*ast.CommClause)
		if clause.Comm == nil || u.node.Pos() < clause.Comm.Pos() || clause.Comm.End() < u.node.End() {
			continue
		}
		if len(clause.Body) == 0 {
			return false
		}
		_, ok := clause.Body[len(clause.Body)-1].(*ast.ReturnStmt)
		return ok
	}
	return false
}

// senders returns the goroutines of the sends.
func senders(sends []chanUse) map[*ast.GoStmt]bool {
	gs := make(map[*ast.GoStmt]bool)
	for _, u := range sends {
		gs[u.owner] = true
	}
	return gs
}

// cursorOf returns the cursor of n, which is in the package.
func (p *passInfo) cursorOf(n ast.Node) inspector.Cursor {
	c, _ := p.insp.Root().FindNode(n)
	return c
}

// receivesIn reports whether the making function receives from the
// channel inside n.
func receivesIn(f *chanFacts, n ast.Node) bool {
	for _, u := range f.uses {
		if (u.kind == useRecv || u.kind == useRange) && u.owner == nil && n.Pos() <= u.node.Pos() && u.node.End() <= n.End() {
			return true
		}
	}
	return false
}

// receivesAfter reports whether the making function receives from the
// channel somewhere after sel.
func receivesAfter(f *chanFacts, sel *ast.SelectStmt) bool {
	for _, u := range f.uses {
		if (u.kind == useRecv || u.kind == useRange) && u.owner == nil && u.node.Pos() > sel.End() {
			return true
		}
	}
	return false
}

// leavesLoop reports whether the select clause at cur, inside a loop, can
// leave that loop: it returns, jumps with goto, or breaks to a label
// outside sel.
func leavesLoop(p *passInfo, cur inspector.Cursor, sel *ast.SelectStmt) bool {
	leaves := false
	cur.Inspect([]ast.Node{(*ast.FuncLit)(nil), (*ast.ReturnStmt)(nil), (*ast.BranchStmt)(nil)}, func(c inspector.Cursor) bool {
		switch n := c.Node().(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			leaves = true
		case *ast.BranchStmt:
			if n.Tok == token.GOTO || n.Tok == token.BREAK && n.Label != nil && !labelWithin(p.info, n.Label, sel) {
				leaves = true
			}
		}
		return !leaves
	})
	return leaves
}

// labelWithin reports whether the statement label refers to is inside n.
func labelWithin(info *types.Info, label *ast.Ident, n ast.Node) bool {
	obj, ok := info.Uses[label].(*types.Label)
	return ok && n.Pos() <= obj.Pos() && obj.Pos() < n.End()
}

// exitFromLoop returns a statement that leaves the loop at cur early: a
// return, or a break that targets it, or nil.
func exitFromLoop(p *passInfo, cur inspector.Cursor, loop ast.Node) ast.Node {
	if exits := loopExits(p, cur, loop, true); len(exits) > 0 {
		return exits[0]
	}
	return nil
}

// loopExits returns the statements that leave the loop at cur early, in
// order: returns, gotos, and breaks (or continues) that target it or an
// outer statement; with first, only the first of them.
func loopExits(p *passInfo, cur inspector.Cursor, loop ast.Node, first bool) []ast.Node {
	var exits []ast.Node
	var label *ast.Ident
	if l, ok := cur.Parent().Node().(*ast.LabeledStmt); ok {
		label = l.Label
	}
	done := func() bool { return first && len(exits) > 0 }
	var visit func(c inspector.Cursor, depth int)
	visit = func(c inspector.Cursor, depth int) {
		for child := range c.Children() {
			if done() {
				return
			}
			switch n := child.Node().(type) {
			case *ast.FuncLit:
				continue
			case *ast.ReturnStmt:
				exits = append(exits, n)
				continue
			case *ast.BranchStmt:
				switch {
				case n.Tok == token.GOTO:
					exits = append(exits, n)
				case n.Tok == token.BREAK && n.Label == nil && depth == 0:
					exits = append(exits, n)
				case n.Label == nil || label != nil && n.Label.Name == label.Name && n.Tok == token.CONTINUE:
				case n.Tok == token.BREAK || n.Tok == token.CONTINUE:
					if !labelWithin(p.info, n.Label, loop) {
						exits = append(exits, n) // to this loop's label or an outer one
					}
				}
				continue
			case *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt, *ast.SelectStmt:
				visit(child, depth+1)
				continue
			}
			visit(child, depth)
		}
	}
	switch loop := loop.(type) {
	case *ast.RangeStmt:
		visit(cur.Child(loop.Body), 0)
	case *ast.ForStmt:
		visit(cur.Child(loop.Body), 0)
	}
	return exits
}

// earlyReturn returns a return statement of the making function that runs
// after the go statement g and before any receive from the channel: in
// the block that holds g (or one nested in it), after g, with no receive
// between them or inside it.
func earlyReturn(p *passInfo, f *chanFacts, g *ast.GoStmt, own []chanUse) *ast.ReturnStmt {
	goCur, ok := f.fn.FindNode(g)
	if !ok {
		return nil
	}
	if encl, _ := enclosingFunc(goCur); encl != f.fn {
		return nil // started from a literal (a callback): its returns are not the function's
	}
	block := goCur.Parent()
	if _, ok := block.Node().(*ast.BlockStmt); !ok {
		return nil
	}
returns:
	for c := range block.Preorder((*ast.ReturnStmt)(nil)) {
		ret := c.Node().(*ast.ReturnStmt)
		if ret.Pos() < g.End() || receivesIn(f, ret) || inSelectOnChannel(c, own) {
			continue
		}
		for lit := range c.Enclosing((*ast.FuncLit)(nil)) {
			if block.Contains(lit) {
				continue returns // a literal's return, not the function's
			}
		}
		for _, u := range own {
			if u.node.Pos() >= g.End() && u.node.Pos() < ret.Pos() {
				return nil
			}
		}
		return ret
	}
	return nil
}

// inSelectOnChannel reports whether the statement at cur is inside a
// select that has a case receiving from the channel: that select's other
// cases are judged by wayOut.
func inSelectOnChannel(cur inspector.Cursor, own []chanUse) bool {
	for c := range cur.Enclosing((*ast.SelectStmt)(nil)) {
		for _, u := range own {
			if u.sel == c.Node() {
				return true
			}
		}
	}
	return false
}

// alternativeResult reports whether clause receives from a channel that
// every blocked sender's code also sends on or closes: each sends one or
// the other (a result or an error), so the clause firing means the sender
// took the other branch.
func alternativeResult(p *passInfo, clause *ast.CommClause, blocked []chanUse) bool {
	if clause.Comm == nil {
		return false
	}
	ch, ok := receivedChannel(clause.Comm).(*ast.Ident)
	if !ok {
		return false
	}
	other := p.info.Uses[ch]
	if other == nil {
		return false
	}
	for _, u := range blocked {
		sends := false
		ast.Inspect(u.body, func(n ast.Node) bool {
			var ch ast.Expr
			switch n := n.(type) {
			case *ast.SendStmt:
				ch = n.Chan
			case *ast.CallExpr:
				if b, ok := typeutil.Callee(p.info, n).(*types.Builtin); ok && b.Name() == "close" && len(n.Args) == 1 {
					ch = n.Args[0]
				}
			}
			if id, ok := ast.Unparen(ch).(*ast.Ident); ok && p.info.Uses[id] == other {
				sends = true
			}
			return !sends
		})
		if !sends {
			return false
		}
	}
	return true
}

// endsRun reports whether n calls something that fails the test or ends
// the program: t.Fatal, t.Error and their kin, panic, os.Exit, log.Fatal.
// A goroutine left blocked then is the least of the failure.
func endsRun(p *passInfo, n ast.Node) bool {
	ends := false
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.CallExpr:
			switch fn := typeutil.Callee(p.info, n).(type) {
			case *types.Builtin:
				ends = fn.Name() == "panic"
			case *types.Func:
				ends = isRunEnder(fn)
			}
		}
		return !ends
	})
	return ends
}

// isRunEnder reports whether fn fails or ends the test, or ends the program.
func isRunEnder(fn *types.Func) bool {
	if fn.Pkg() == nil {
		return false
	}
	name := fn.Name()
	switch fn.Pkg().Path() {
	case "os":
		return name == "Exit"
	case "log":
		return strings.HasPrefix(name, "Fatal") || strings.HasPrefix(name, "Panic")
	case "testing":
		return strings.HasPrefix(name, "Fatal") || strings.HasPrefix(name, "Error") || strings.HasPrefix(name, "Skip") || strings.HasPrefix(name, "Fail")
	}
	return false
}

// describeClause words the way out a select clause offers.
func describeClause(p *passInfo, clause *ast.CommClause) string {
	if clause.Comm == nil {
		return "moves on through the select's default case"
	}
	if ch := receivedChannel(clause.Comm); ch != nil {
		switch {
		case isDoneCall(p.info, ch):
			return "returns through case <-" + types.ExprString(ch)
		case isTimerChannel(p, ch):
			return "moves on when the timer fires"
		}
		return "moves on through case <-" + types.ExprString(ch)
	}
	return "moves on through another case"
}

// senderRemedy words the fix for a blocked send: room in the channel for
// every send, or, where the way out is a context's Done that the send can
// see, a select on it.
func senderRemedy(p *passInfo, f *chanFacts, u chanUse, own []chanUse, many bool) string {
	buffered := fmt.Sprintf("make %s buffered, make(%s, 1), so the send completes without a receiver", f.v.Name(), types.ExprString(f.make.Args[0]))
	if many {
		buffered = fmt.Sprintf("make %s buffered with room for every send", f.v.Name())
	}
	if ctx := doneContext(p, own); ctx != "" && visibleAt(p, ctx, u.node.Pos()) {
		return fmt.Sprintf("%s, or send in a select with case <-%s.Done()", buffered, ctx)
	}
	if many {
		return buffered + ", or give the sender a way out (a select on a channel closed when the receiver stops)"
	}
	return buffered
}

// doneContext returns the name of the context whose Done a select of the
// making function waits on beside the channel, or "".
func doneContext(p *passInfo, own []chanUse) string {
	for _, u := range own {
		if u.sel == nil {
			continue
		}
		for _, stmt := range u.sel.Body.List {
			comm := stmt.(*ast.CommClause).Comm
			if comm == nil {
				continue
			}
			ch := receivedChannel(comm)
			if ch == nil || !isDoneCall(p.info, ch) {
				continue
			}
			if id, ok := ast.Unparen(ast.Unparen(ch).(*ast.CallExpr).Fun).(*ast.SelectorExpr).X.(*ast.Ident); ok {
				return id.Name
			}
		}
	}
	return ""
}

// visibleAt reports whether name denotes a context variable at pos.
func visibleAt(p *passInfo, name string, pos token.Pos) bool {
	scope := p.pkg.Scope().Innermost(pos)
	if scope == nil {
		return false
	}
	_, obj := scope.LookupParent(name, pos)
	v, ok := obj.(*types.Var)
	return ok && isContextType(v.Type())
}

// bufferFix gives the channel capacity 1.
func bufferFix(p *passInfo, f *chanFacts) analysis.SuggestedFix {
	edit := analysis.TextEdit{Pos: f.make.Rparen, End: f.make.Rparen, NewText: []byte(", 1")}
	if len(f.make.Args) == 2 {
		edit = analysis.TextEdit{Pos: f.make.Args[1].Pos(), End: f.make.Args[1].End(), NewText: []byte("1")}
	}
	return analysis.SuggestedFix{
		Message:   fmt.Sprintf("make %s buffered (capacity 1)", f.v.Name()),
		TextEdits: []analysis.TextEdit{edit},
	}
}

// checkUnclosedRange reports goroutines that range over f's channel when
// nobody closes it, or wait on it when nobody sends or closes, while the
// making function can return.
func checkUnclosedRange(p *passInfo, f *chanFacts) {
	sent := false
	for _, u := range f.uses {
		switch u.kind {
		case useClose:
			return
		case useSend:
			sent = true
		}
	}
	if !canReturn(p, f.fn) {
		return
	}
	for _, u := range f.uses {
		if u.owner == nil {
			continue
		}
		switch {
		case u.kind == useRange:
			if exitFromLoop(p, u.cur, u.node) != nil {
				continue // it stops on a value of its choosing
			}
			p.reportf(u.node, "%s is never closed, so this range over it never ends and the goroutine outlives %s: close(%s) once the last value is sent",
				f.v.Name(), f.fnName, f.v.Name())
		case u.kind == useRecv && !sent && u.blocking():
			p.reportf(u.node, "nobody sends on %s or closes it, so this receive blocks forever and the goroutine outlives %s: close(%s) when the goroutine should go on",
				f.v.Name(), f.fnName, f.v.Name())
		}
	}
}

// canReturn reports whether the function at fn can return: it has a
// return statement, or does not end in a for loop without condition that
// nothing breaks out of.
func canReturn(p *passInfo, fn inspector.Cursor) bool {
	var body *ast.BlockStmt
	switch n := fn.Node().(type) {
	case *ast.FuncDecl:
		body = n.Body
	case *ast.FuncLit:
		body = n.Body
	}
	if body == nil || len(body.List) == 0 {
		return true
	}
	hasReturn := false
	for c := range fn.Preorder((*ast.ReturnStmt)(nil)) {
		if encl, _ := enclosingFunc(c); encl == fn {
			hasReturn = true
			break
		}
	}
	if hasReturn {
		return true
	}
	loop, ok := body.List[len(body.List)-1].(*ast.ForStmt)
	if !ok || loop.Cond != nil {
		return true
	}
	return exitFromLoop(p, p.cursorOf(loop), loop) != nil
}
