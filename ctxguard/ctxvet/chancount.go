package ctxvet

import (
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/ast/edge"
	"golang.org/x/tools/go/ast/inspector"
)

// count is how many times something runs: a sum of terms, each a constant
// times the number of iterations of loops whose bound is no constant. The
// key of a term names those bounds (their expressions, sorted, joined by
// " * "); the constant term's key is "". A nil count is not known.
//
// Bounds are compared by their text: `for range len(items)` and
// `for _, it := range items` both run len(items) times. A variable
// reassigned between two loops over it is not noticed.
type count map[string]int64

// one is a count of 1.
func one() count { return count{"": 1} }

// plus returns c + d; nil if either is not known.
func (c count) plus(d count) count {
	if c == nil || d == nil {
		return nil
	}
	sum := make(count, len(c)+len(d))
	for k, v := range c {
		sum[k] += v
	}
	for k, v := range d {
		sum[k] += v
	}
	return sum
}

// times returns c times the bound of a loop: n when key is "", else the
// term key once.
func (c count) times(key string, n int64) count {
	if c == nil {
		return nil
	}
	prod := make(count, len(c))
	for k, v := range c {
		if key == "" {
			prod[k] += v * n
			continue
		}
		factors := []string{key}
		if k != "" {
			factors = append(strings.Split(k, " * "), key)
		}
		slices.Sort(factors)
		prod[strings.Join(factors, " * ")] += v
	}
	return prod
}

// covers reports whether c is at least d term by term: both known, and
// every term of d has at most the coefficient c has for it.
func (c count) covers(d count) bool {
	if c == nil || d == nil {
		return false
	}
	for k, v := range d {
		if v > 0 && c[k] < v {
			return false
		}
	}
	return true
}

// loopTrips returns how many times the body of loop runs when nothing
// leaves it early: a constant n (key ""), or the loop's bound as text
// (key). ok is false for a loop of unknown length: a for with a
// condition other than i < N counting up from a constant by one, or a
// range over a channel or a function.
func loopTrips(p *passInfo, loop ast.Node) (key string, n int64, ok bool) {
	switch loop := loop.(type) {
	case *ast.RangeStmt:
		t := p.info.TypeOf(loop.X)
		if t == nil {
			return "", 0, false
		}
		if ptr, isPtr := t.Underlying().(*types.Pointer); isPtr {
			t = ptr.Elem()
		}
		switch u := t.Underlying().(type) {
		case *types.Basic:
			if u.Info()&types.IsInteger != 0 {
				if n, ok := constInt(p, loop.X); ok {
					return "", n, true
				}
				return types.ExprString(ast.Unparen(loop.X)), 0, true
			}
			if u.Info()&types.IsString != 0 {
				return "len(" + types.ExprString(ast.Unparen(loop.X)) + ")", 0, true
			}
		case *types.Array:
			return "", u.Len(), true
		case *types.Slice, *types.Map:
			return "len(" + types.ExprString(ast.Unparen(loop.X)) + ")", 0, true
		}
	case *ast.ForStmt:
		init, ok := loop.Init.(*ast.AssignStmt)
		if !ok || init.Tok != token.DEFINE || len(init.Lhs) != 1 || len(init.Rhs) != 1 {
			return "", 0, false
		}
		i, ok := init.Lhs[0].(*ast.Ident)
		from, isConst := constInt(p, init.Rhs[0])
		if !ok || !isConst {
			return "", 0, false
		}
		iv := p.info.Defs[i]
		cond, ok := ast.Unparen(loop.Cond).(*ast.BinaryExpr)
		if !ok || cond.Op != token.LSS && cond.Op != token.LEQ {
			return "", 0, false
		}
		if x, ok := ast.Unparen(cond.X).(*ast.Ident); !ok || p.info.Uses[x] != iv {
			return "", 0, false
		}
		post, ok := loop.Post.(*ast.IncDecStmt)
		if !ok || post.Tok != token.INC {
			return "", 0, false
		}
		if x, ok := ast.Unparen(post.X).(*ast.Ident); !ok || p.info.Uses[x] != iv {
			return "", 0, false
		}
		if to, ok := constInt(p, cond.Y); ok {
			if cond.Op == token.LEQ {
				to++
			}
			return "", max(to-from, 0), true
		}
		if from == 0 && cond.Op == token.LSS {
			return types.ExprString(ast.Unparen(cond.Y)), 0, true
		}
	}
	return "", 0, false
}

// constInt returns the value of e when it is an integer constant.
func constInt(p *passInfo, e ast.Expr) (int64, bool) {
	tv, ok := p.info.Types[e]
	if !ok || tv.Value == nil || tv.Value.Kind() != constant.Int {
		return 0, false
	}
	return constant.Int64Val(tv.Value)
}

// sendsAtMost returns how many values the goroutines send on f's channel
// at most, or nil when that is not known: a send may repeat within its
// goroutine (a loop it does not return from or close the channel after,
// a callback), or a goroutine is started in a loop of unknown length or
// from a function literal. A goroutine whose every send is followed by a
// return or a close of the channel sends once.
func sendsAtMost(p *passInfo, f *chanFacts, sends []chanUse) count {
	byGo := make(map[*ast.GoStmt][]chanUse)
	var order []*ast.GoStmt
	for _, u := range sends {
		if _, seen := byGo[u.owner]; !seen {
			order = append(order, u.owner)
		}
		byGo[u.owner] = append(byGo[u.owner], u)
	}
	total := count{}
	for _, g := range order {
		per, once := int64(0), true
		for _, u := range byGo[g] {
			if repeatsInGoroutine(p, u) {
				return nil
			}
			once = once && endsSending(p, u.cur)
			per++
		}
		if once {
			per = 1
		}
		total = total.plus(goRuns(p, f, g).times("", per))
	}
	return total
}

// goRuns returns how many times the go statement g runs per channel: the
// product of the bounds of the loops around it that do not also make the
// channel; nil when one is of unknown length, or g is in a function
// literal.
func goRuns(p *passInfo, f *chanFacts, g *ast.GoStmt) count {
	goCur, ok := f.fn.FindNode(g)
	if !ok {
		return nil
	}
	runs := one()
	for c := range goCur.Enclosing() {
		if c == f.fn {
			break
		}
		switch n := c.Node().(type) {
		case *ast.FuncLit:
			return nil
		case *ast.ForStmt, *ast.RangeStmt:
			if c == goCur {
				continue
			}
			if n.Pos() <= f.make.Pos() && f.make.End() <= n.End() {
				return runs // a channel per iteration
			}
			key, trips, ok := loopTrips(p, n)
			if !ok {
				return nil
			}
			runs = runs.times(key, trips)
		}
	}
	return runs
}

// receivesAtLeast returns how many values the making function surely
// receives from f's channel before pos, unless one of the select cases
// around those receives that wayOut judges on its own is taken: each
// receive counts the iterations of the loops around it, and nothing when
// it is conditional (in an if, a switch case, a select case's body, a
// loop of unknown length or one it may leave early, the right operand
// of && or ||) or is a select case whose select can go round a loop
// without receiving.
func receivesAtLeast(p *passInfo, f *chanFacts, own, blocked []chanUse, pos token.Pos) count {
	total := count{}
	for _, u := range own {
		if u.kind != useRecv || u.node.Pos() >= pos {
			continue
		}
		total = total.plus(surelyRuns(p, f, own, blocked, u))
	}
	return total
}

// surelyRuns returns how many times the receive u surely runs; see
// receivesAtLeast.
func surelyRuns(p *passInfo, f *chanFacts, own, blocked []chanUse, u chanUse) count {
	runs := one()
	for c := u.cur; c != f.fn; c = c.Parent() {
		parent := c.Parent()
		switch n := parent.Node().(type) {
		case *ast.FuncLit, *ast.FuncDecl:
			if parent != f.fn {
				return count{}
			}
		case *ast.IfStmt:
			if k := c.ParentEdgeKind(); k == edge.IfStmt_Body || k == edge.IfStmt_Else {
				return count{}
			}
		case *ast.CaseClause:
			if c.ParentEdgeKind() == edge.CaseClause_Body {
				return count{}
			}
		case *ast.BinaryExpr:
			if (n.Op == token.LAND || n.Op == token.LOR) && c.ParentEdgeKind() == edge.BinaryExpr_Y {
				return count{}
			}
		case *ast.CommClause:
			if c.ParentEdgeKind() != edge.CommClause_Comm || u.sel == nil || !otherCasesReceiveOrLeave(p, f, blocked, u) {
				return count{}
			}
		case *ast.ForStmt, *ast.RangeStmt:
			var body bool
			switch c.ParentEdgeKind() {
			case edge.ForStmt_Body, edge.RangeStmt_Body:
				body = true
			case edge.RangeStmt_X, edge.ForStmt_Init:
				continue
			}
			if !body {
				return count{} // in the condition or the post statement
			}
			if n.Pos() <= f.make.Pos() && f.make.End() <= n.End() {
				return runs // a channel per iteration
			}
			key, trips, ok := loopTrips(p, n)
			if !ok || leftEarly(p, f, own, parent) {
				return count{}
			}
			runs = runs.times(key, trips)
		}
	}
	return runs
}

// otherCasesReceiveOrLeave reports whether every case of u's select but
// u's own either cannot be taken without the senders' work being over or
// the run failing (it receives from the channel, fails the test or ends
// the program, is a test's timer, or takes the senders' other result), or
// leaves the loop or function, which wayOut judges as a way out of its
// own. A case that does neither goes round without receiving.
func otherCasesReceiveOrLeave(p *passInfo, f *chanFacts, blocked []chanUse, u chanUse) bool {
	selCur := p.cursorOf(u.sel)
	inLoop := inLoopWithin(selCur, f.fn.Node())
	for _, stmt := range u.sel.Body.List {
		clause := stmt.(*ast.CommClause)
		if clause.Comm != nil && clause.Comm.Pos() <= u.node.Pos() && u.node.End() <= clause.Comm.End() {
			continue
		}
		if receivesIn(f, clause) || endsRun(p, clause) || alternativeResult(p, clause, blocked) || testTimeout(p, clause) {
			continue
		}
		if inLoop && leavesLoop(p, p.cursorOf(clause), u.sel) || !inLoop && returnsIn(clause) {
			continue
		}
		return false
	}
	return true
}

// returnsIn reports whether clause holds a return of its function.
func returnsIn(clause *ast.CommClause) bool {
	found := false
	ast.Inspect(clause, func(n ast.Node) bool {
		switch n.(type) {
		case *ast.FuncLit:
			return false
		case *ast.ReturnStmt:
			found = true
		}
		return !found
	})
	return found
}

// leftEarly reports whether the loop at cur can be left before its last
// iteration other than from a case of a select that receives from the
// channel (wayOut judges those).
func leftEarly(p *passInfo, f *chanFacts, own []chanUse, cur inspector.Cursor) bool {
	for _, exit := range loopExits(p, cur, cur.Node(), false) {
		inOwnSelect := false
		for _, u := range own {
			if u.sel != nil && u.sel.Pos() <= exit.Pos() && exit.End() <= u.sel.End() {
				inOwnSelect = true
				break
			}
		}
		if !inOwnSelect {
			return true
		}
	}
	return false
}

// drained reports whether, before pos, the making function surely
// receives every value the goroutines can send: then a way out after pos
// leaves no sender blocked.
func drained(p *passInfo, f *chanFacts, own, blocked []chanUse, pos token.Pos) bool {
	var sends []chanUse
	for _, u := range f.uses {
		if u.kind == useSend {
			sends = append(sends, u)
		}
	}
	return receivesAtLeast(p, f, own, blocked, pos).covers(sendsAtMost(p, f, sends))
}
