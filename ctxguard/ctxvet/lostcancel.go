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
	"golang.org/x/tools/go/cfg"
	"golang.org/x/tools/go/types/typeutil"
)

// LostCancel reports a cancel func of WithCancel, WithTimeout, WithDeadline
// or their Cause forms, from package context or ctxguard under any import
// name, that is discarded or not called on every path out of the function
// that made it; and likewise a Group of spawn.WithContext (or errgroup's)
// that is not waited for on every path, since only Wait cancels its
// context.
//
// It stands in for go vet's lostcancel, which recognises only the import
// path "context" and so goes silent once a file switches to ctxguard.
// A cancel func that is returned, passed on, stored (in a struct field, a
// map, a package variable) or referenced in a closure (a deferred func, a
// goroutine) counts as called: where it goes, this function no longer
// decides when it runs. A path ending in a call that never returns (see
// neverReturns) is no way out.
//
// Off by default (see OffByDefault): on real code, none of its findings
// were worth a change.
var LostCancel = switchedOff(&analysis.Analyzer{
	Name:     "lostcancel",
	Doc:      "report cancel funcs of context or ctxguard, and spawn/errgroup Groups, not released on every path",
	URL:      "https://pkg.go.dev/github.com/ctxguard/ctxguard/ctxguard/ctxvet#LostCancel",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      runLostCancel,
})

// releaser describes a constructor whose result at index must be released
// by the function that calls it.
type releaser struct {
	name  string // as the reader knows it: context.WithTimeout
	index int    // result to release
	group bool   // the result is a Group, released by Wait; else a cancel func, released by a call
}

// releaserOf recognises the constructors whose results must be released.
func releaserOf(info *types.Info, call *ast.CallExpr) *releaser {
	fn := typeutil.StaticCallee(info, call)
	if fn == nil || fn.Pkg() == nil || fn.Signature().Recv() != nil {
		return nil
	}
	switch path := fn.Pkg().Path(); {
	case isContextPackage(path):
		switch fn.Name() {
		case "WithCancel", "WithCancelCause", "WithTimeout", "WithTimeoutCause", "WithDeadline", "WithDeadlineCause":
			return &releaser{name: qualifiedName(info, call, fn), index: 1}
		}
	case path == spawnPath || path == errgroupPath:
		if fn.Name() == "WithContext" {
			return &releaser{name: qualifiedName(info, call, fn), index: 0, group: true}
		}
	}
	return nil
}

func runLostCancel(pass *analysis.Pass) (any, error) {
	p := newPassInfo(pass)
	cfgs := make(map[ast.Node]*cfg.CFG)
	for cur := range p.insp.Root().Preorder((*ast.CallExpr)(nil)) {
		call := cur.Node().(*ast.CallExpr)
		rel := releaserOf(p.info, call)
		if rel == nil || p.inGeneratedFile(call.Pos()) {
			continue
		}
		var target ast.Expr // where the result to release goes
		var stmt ast.Node   // the statement that receives it
		switch parent := cur.Parent().Node().(type) {
		case *ast.AssignStmt:
			if len(parent.Lhs) == 2 && len(parent.Rhs) == 1 {
				target, stmt = parent.Lhs[rel.index], parent
			}
		case *ast.ValueSpec:
			if len(parent.Names) == 2 && len(parent.Values) == 1 {
				target, stmt = parent.Names[rel.index], parent
			}
		case *ast.ExprStmt:
			p.reportf(call, "the results of %s are discarded, so %s: %s", rel.name, rel.consequence(), rel.remedy("assign the "+rel.what()))
			continue
		}
		if target == nil {
			continue // returned, passed on, or used in an expression: released elsewhere
		}
		if id, ok := target.(*ast.Ident); ok && id.Name == "_" {
			p.reportf(call, "the %s of %s is discarded, so %s: %s", rel.what(), rel.name, rel.consequence(), rel.remedy("assign it"))
			continue
		}
		fnCur, ok := enclosingFunc(cur)
		if !ok {
			continue // a package-level var: lives as long as the program
		}
		checkReleased(p, cfgs, rel, fnCur, stmt, target)
	}
	return nil, nil
}

// what names the result to release.
func (rel *releaser) what() string {
	if rel.group {
		return "Group"
	}
	return "cancel func"
}

// consequence says what happens when the result is never released.
func (rel *releaser) consequence() string {
	if rel.group {
		return "Wait is never called and its context is not cancelled until its parent ends"
	}
	return "the context is not cancelled until its parent ends (a context leak)"
}

// remedy says what to do, starting with first.
func (rel *releaser) remedy(first string) string {
	if rel.group {
		return first + " and call Wait on every path"
	}
	return first + " and call it when the work is done (defer cancel())"
}

// enclosingFunc returns the innermost function declaration or literal
// around cur.
func enclosingFunc(cur inspector.Cursor) (inspector.Cursor, bool) {
	for fn := range cur.Enclosing((*ast.FuncDecl)(nil), (*ast.FuncLit)(nil)) {
		return fn, true
	}
	return inspector.Cursor{}, false
}

// funcBodyAndCFG returns the body of the function fn and its control-flow
// graph, built once per function. A call that never returns (panic,
// os.Exit, log.Fatal, t.Fatal, ...) ends its path. The graph is built
// here rather than by the ctrlflow pass, whose facts would make every
// driver load the standard library from source: a Go 1.26 build of ctxvet
// cannot parse Go 1.27's, and go/packages type-checks it at the wrong
// language version when GOTOOLCHAIN selects a newer go command.
func funcBodyAndCFG(p *passInfo, cfgs map[ast.Node]*cfg.CFG, fn ast.Node) (*ast.BlockStmt, *cfg.CFG) {
	var body *ast.BlockStmt
	switch fn := fn.(type) {
	case *ast.FuncDecl:
		body = fn.Body
	case *ast.FuncLit:
		body = fn.Body
	}
	if body == nil {
		return nil, nil
	}
	g, ok := cfgs[fn]
	if !ok {
		g = cfg.New(body, func(call *ast.CallExpr) bool { return !neverReturns(p.info, call) })
		cfgs[fn] = g
	}
	return body, g
}

// neverReturns reports whether call is one of the standard calls that do
// not return: panic, os.Exit, syscall.Exit, runtime.Goexit, log's Fatal
// and Panic functions and methods, and testing's Fatal, FailNow and Skip.
func neverReturns(info *types.Info, call *ast.CallExpr) bool {
	switch fn := typeutil.Callee(info, call).(type) {
	case *types.Builtin:
		return fn.Name() == "panic"
	case *types.Func:
		if fn.Pkg() == nil {
			return false
		}
		name := fn.Name()
		switch fn.Pkg().Path() {
		case "os", "syscall":
			return name == "Exit"
		case "runtime":
			return name == "Goexit"
		case "log":
			return strings.HasPrefix(name, "Fatal") || strings.HasPrefix(name, "Panic")
		case "testing":
			return strings.HasPrefix(name, "Fatal") || strings.HasPrefix(name, "Skip") || name == "FailNow"
		}
	}
	return false
}

// checkReleased reports target, assigned by stmt in the function at fnCur,
// if some path from stmt leaves the function without releasing it.
func checkReleased(p *passInfo, cfgs map[ast.Node]*cfg.CFG, rel *releaser, fnCur inspector.Cursor, stmt ast.Node, target ast.Expr) {
	id, ok := target.(*ast.Ident)
	if !ok {
		return // stored in a field, a map, through a pointer: released elsewhere
	}
	v, ok := p.info.ObjectOf(id).(*types.Var)
	body, g := funcBodyAndCFG(p, cfgs, fnCur.Node())
	if !ok || g == nil || v.Pos() < body.Pos() || v.Pos() >= body.End() {
		return // a result parameter, a captured or package variable: released elsewhere
	}

	releases, escapes := releasesOf(p, rel, fnCur, v)
	if escapes {
		return
	}
	ret := unreleasedExit(g, stmt, releases)
	if ret == nil {
		return
	}
	defLine := p.pass.Fset.Position(stmt.Pos()).Line
	var defMsg, retMsg string
	if rel.group {
		defMsg = fmt.Sprintf("%s (the Group of %s) is not waited for on every path, so its context is not cancelled until its parent ends: call %s.Wait() on every path",
			v.Name(), rel.name, v.Name())
		retMsg = fmt.Sprintf("%s skips %s.Wait() (%s on line %d): wait on this path too",
			exitWording(ret, body), v.Name(), rel.name, defLine)
	} else {
		defMsg = fmt.Sprintf("%s (the cancel func of %s) is not called on every path, so the context can outlive this function: defer %s() right after this line",
			v.Name(), rel.name, v.Name())
		retMsg = fmt.Sprintf("%s leaves %s uncalled (%s on line %d): call it on this path too, or defer it after that line",
			exitWording(ret, body), v.Name(), rel.name, defLine)
	}
	if p.skipped(stmt.Pos()) || p.skipped(ret.Pos()) {
		return // one finding in two places: silencing either silences both
	}
	p.report(analysis.Diagnostic{Pos: stmt.Pos(), End: stmt.End(), Message: defMsg})
	p.report(analysis.Diagnostic{Pos: ret.Pos(), Message: retMsg})
}

// exitWording names the exit: an explicit return, or the closing brace
// where the CFG materialises the implicit one.
func exitWording(ret *ast.ReturnStmt, body *ast.BlockStmt) string {
	if ret.Return == body.Rbrace {
		return "the end of the function"
	}
	return "this return"
}

// releasesOf finds the places in the function at fnCur that release v:
// for a cancel func every reference but an assignment to it; for a Group
// a call to Wait, or any reference other than Go, TryGo and SetLimit (it
// may reach a Wait elsewhere). escapes is true when one of them is inside
// a closure, which may run at any time: v then counts as released.
func releasesOf(p *passInfo, rel *releaser, fnCur inspector.Cursor, v *types.Var) (releases []token.Pos, escapes bool) {
	fn := fnCur.Node()
	for cur := range fnCur.Preorder((*ast.Ident)(nil)) {
		id := cur.Node().(*ast.Ident)
		if p.info.Uses[id] != v || cur.ParentEdgeKind() == edge.AssignStmt_Lhs {
			continue
		}
		if rel.group && cur.ParentEdgeKind() == edge.SelectorExpr_X {
			switch cur.Parent().Node().(*ast.SelectorExpr).Sel.Name {
			case "Go", "TryGo", "SetLimit":
				continue
			}
		}
		if inner, _ := enclosingFunc(cur); inner.Node() != fn {
			return nil, true
		}
		releases = append(releases, id.Pos())
	}
	return releases, false
}

// unreleasedExit returns a return statement reachable from def without
// passing a node that holds one of releases, or nil if every path from def
// releases. A path that comes round to def again stops there: the next
// definition starts afresh.
func unreleasedExit(g *cfg.CFG, def ast.Node, releases []token.Pos) *ast.ReturnStmt {
	holdsRelease := func(n ast.Node) bool {
		for _, pos := range releases {
			if n.Pos() <= pos && pos < n.End() {
				return true
			}
		}
		return false
	}
	var defBlock *cfg.Block
	defIndex := -1
	for _, b := range g.Blocks {
		for i, n := range b.Nodes {
			if n == def {
				defBlock, defIndex = b, i
			}
		}
	}
	if defBlock == nil || !defBlock.Live {
		return nil
	}

	// walk follows b from node index start; it reports whether the path
	// ends there (released, or back at def) and the exit it reached, if any.
	walk := func(b *cfg.Block, start int) (stop bool, exit *ast.ReturnStmt) {
		for _, n := range b.Nodes[start:] {
			if n == def || holdsRelease(n) {
				return true, nil
			}
		}
		if ret := b.Return(); ret != nil {
			return true, ret
		}
		return false, nil
	}
	stop, exit := walk(defBlock, defIndex+1)
	if stop {
		return exit
	}
	seen := make(map[*cfg.Block]bool)
	stack := append([]*cfg.Block(nil), defBlock.Succs...)
	for len(stack) > 0 {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[b] {
			continue
		}
		seen[b] = true
		stop, exit := walk(b, 0)
		if exit != nil {
			return exit
		}
		if !stop {
			stack = append(stack, b.Succs...)
		}
	}
	return nil
}
