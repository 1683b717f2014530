package main

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/tools/go/packages"
)

const (
	contextPath      = "context"
	ctxguardPath     = "github.com/ctxguard/ctxguard/ctxguard"
	spawnPath        = "github.com/ctxguard/ctxguard/spawn"
	ctxguardtestPath = "github.com/ctxguard/ctxguard/ctxguard/ctxguardtest"

	// ignoreDirective, trailing a go statement or alone on the line above
	// it, keeps the statement as it is. A reason must follow.
	ignoreDirective = "//ctxguard:ignore"
)

// A statement is the outcome for one go statement.
type statement struct {
	Pos       token.Position
	Converted bool
	Reason    string // why it was left; empty when converted
}

// rewriteOptions say how to rewrite.
type rewriteOptions struct {
	// build rewrites for a build overlay: imports under names of
	// ctxguard's own, and line directives so that positions are the
	// original file's, instead of code meant for people to read.
	build bool
	// testContexts, with build, also turns t.Context() into
	// ctxguardtest.Goroutines(t, ...) so that a test fails for the
	// goroutines it leaves running.
	testContexts bool
	grace        time.Duration
}

// An edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// fileRewrite is what rewriting did to one file.
type fileRewrite struct {
	name       string
	src        []byte
	edits      []edit
	imports    map[string]string // path → name the new code uses, for imports to add ("" for the path's own name)
	statements []statement
	module     *packages.Module // the module the file belongs to
}

// fileRewriter rewrites one file of a type-checked package.
type fileRewriter struct {
	fset  *token.FileSet
	pkg   *types.Package
	info  *types.Info
	facts *varFacts
	file  *ast.File
	tf    *token.File
	opts  rewriteOptions
	out   *fileRewrite

	ignored map[int]string // line → reason, from directives ("" reason: a directive without one)
	// excluded are the names the package declares in files build
	// constraints leave out (excludedNames): no import takes one.
	excluded map[string]bool
}

// rewriteFile finds the go statements of file and rewrites those it can;
// excluded are the names its package declares in files left out of the
// build.
func rewriteFile(fset *token.FileSet, pkg *types.Package, info *types.Info, facts *varFacts, excluded map[string]bool, file *ast.File, src []byte, opts rewriteOptions) *fileRewrite {
	tf := fset.File(file.Pos())
	r := &fileRewriter{
		fset: fset, pkg: pkg, info: info, facts: facts, excluded: excluded, file: file, tf: tf, opts: opts,
		out: &fileRewrite{name: tf.Name(), src: src, imports: make(map[string]string)},
	}
	r.ignored = ignoredLines(fset, file, src)
	generated := ast.IsGenerated(file)
	// Inner statements first: an outer one's new text carries theirs.
	var nodes []ast.Node
	ast.Inspect(file, func(n ast.Node) bool {
		switch n.(type) {
		case *ast.GoStmt, *ast.CallExpr, *ast.FuncDecl:
			nodes = append(nodes, n)
		}
		return true
	})
	testFile := strings.HasSuffix(tf.Name(), "_test.go")
	var statements []statement
	for i := len(nodes) - 1; i >= 0; i-- {
		switch n := nodes[i].(type) {
		case *ast.GoStmt:
			st := statement{Pos: r.position(n.Pos())}
			switch reason, ok := r.ignoredAt(st.Pos.Line); {
			case generated:
				st.Reason = "generated file"
			case ok && reason == "":
				st.Reason = "directive without a reason (" + ignoreDirective + " REASON)"
			case ok:
				st.Reason = "directive: " + reason
			default:
				st.Reason = r.convert(n)
				st.Converted = st.Reason == ""
			}
			statements = append(statements, st)
		case *ast.CallExpr:
			if opts.build && opts.testContexts && !generated {
				r.testContext(n)
				if testFile {
					r.subtestStart(n)
				}
			}
		case *ast.FuncDecl:
			if opts.build && opts.testContexts && !generated && testFile && strings.HasPrefix(n.Name.Name, "Test") && n.Recv == nil {
				r.testStart(n.Type, n.Body)
			}
		}
	}
	for i := len(statements) - 1; i >= 0; i-- {
		r.out.statements = append(r.out.statements, statements[i])
	}
	return r.out
}

// position returns the position of pos in the file as read, not as line
// directives would have it.
func (r *fileRewriter) position(pos token.Pos) token.Position {
	return r.fset.PositionFor(pos, false)
}

func (r *fileRewriter) offset(pos token.Pos) int { return r.tf.Offset(pos) }

// text returns the source of n with the edits already made inside it.
func (r *fileRewriter) text(n ast.Node) string {
	start, end := r.offset(n.Pos()), r.offset(n.End())
	var inner []edit
	for _, e := range r.out.edits {
		if e.start >= start && e.end <= end {
			inner = append(inner, edit{e.start - start, e.end - start, e.text})
		}
	}
	return string(apply(r.out.src[start:end], inner))
}

// ignoredLines returns the lines silenced by the ignore directive.
func ignoredLines(fset *token.FileSet, file *ast.File, src []byte) map[int]string {
	lines := make(map[int]string)
	for _, group := range file.Comments {
		for _, c := range group.List {
			rest, ok := strings.CutPrefix(c.Text, ignoreDirective)
			if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
				continue
			}
			p := fset.PositionFor(c.Pos(), false)
			line := p.Line
			if aloneOnLine(src, p.Offset) {
				line++
			}
			lines[line] = strings.TrimSpace(rest)
		}
	}
	return lines
}

func (r *fileRewriter) ignoredAt(line int) (string, bool) {
	reason, ok := r.ignored[line]
	return reason, ok
}

// aloneOnLine reports whether only blanks precede offset on its line.
func aloneOnLine(src []byte, offset int) bool {
	for i := offset - 1; i >= 0 && src[i] != '\n'; i-- {
		if src[i] != ' ' && src[i] != '\t' {
			return false
		}
	}
	return true
}

// contextInScope is the context a go statement is converted under.
type contextInScope struct {
	expr  string     // the expression handing it over: ctx, or r.Context()
	name  string     // the name the goroutine's parameter takes: the variable's, if it never changes; else ""
	v     *types.Var // the variable
	viaRq bool       // v is the *http.Request of a handler
}

// findContext returns the context stmt is converted under, or the reason
// there is none usable: of the contexts in scope, innermost scope first
// and the latest declared first within a scope, the first that the
// statement itself refers to, else the first.
func (r *fileRewriter) findContext(stmt *ast.GoStmt) (contextInScope, string) {
	pos := stmt.Pos()
	inner := r.pkg.Scope().Innermost(pos)
	shadowed := ""
	var candidates []*types.Var // contexts, and handler requests after the contexts of their scope
	for s := inner; s != nil && s != r.pkg.Scope() && s != types.Universe; s = s.Parent() {
		var contexts, requests []*types.Var
		for _, name := range s.Names() {
			v, ok := s.Lookup(name).(*types.Var)
			if !ok || v.Pos() >= pos || name == "_" {
				continue
			}
			if _, obj := inner.LookupParent(name, pos); obj != v {
				if isContext(v.Type()) && shadowed == "" {
					shadowed = name
				}
				continue // shadowed at pos
			}
			switch {
			case isContext(v.Type()):
				contexts = append(contexts, v)
			case r.facts.handler[v]:
				requests = append(requests, v)
			}
		}
		sort.Slice(contexts, func(i, j int) bool { return contexts[i].Pos() > contexts[j].Pos() })
		candidates = append(append(candidates, contexts...), requests...)
	}
	if len(candidates) == 0 {
		if shadowed != "" {
			return contextInScope{}, fmt.Sprintf("context %s is shadowed here", shadowed)
		}
		return contextInScope{}, "no context in scope"
	}
	used := make(map[*types.Var]bool)
	ast.Inspect(stmt, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			if v, ok := r.info.Uses[id].(*types.Var); ok {
				used[v] = true
			}
		}
		return true
	})
	best := candidates[0]
	for _, v := range candidates {
		if used[v] {
			best = v
			break
		}
	}
	if r.facts.handler[best] {
		return contextInScope{expr: best.Name() + ".Context()", v: best, viaRq: true}, ""
	}
	if !r.facts.surelySet(r.info, best) {
		return contextInScope{}, fmt.Sprintf("context %s may be nil here (declared without a value, or given one that may be nil)", best.Name())
	}
	c := contextInScope{expr: best.Name(), v: best}
	if r.facts.final(best) {
		c.name = best.Name()
	}
	return c, ""
}

// importName returns the name under which the code at pos reaches one of
// paths, adding an import of paths[0] if the file has none; ok is false
// when no name can be used there.
func (r *fileRewriter) importName(pos token.Pos, paths []string, want string) (string, bool) {
	inner := r.pkg.Scope().Innermost(pos)
	for _, spec := range r.file.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil || !contains(paths, path) {
			continue
		}
		pn := r.info.PkgNameOf(spec)
		if pn == nil || pn.Name() == "_" || pn.Name() == "." {
			continue
		}
		if _, obj := inner.LookupParent(pn.Name(), pos); obj == pn {
			return pn.Name(), true
		}
	}
	if name, ok := r.out.imports[paths[0]]; ok {
		if name == "" {
			name = want
		}
		if _, obj := inner.LookupParent(name, pos); obj == nil {
			return name, true
		}
		return "", false
	}
	names := []string{want, "ctxguard" + want}
	if r.opts.build {
		names = []string{"ctxguard_" + want}
	}
	for _, name := range names {
		if !r.nameFree(pos, name) {
			continue
		}
		if name == want && !r.opts.build && lastElem(paths[0]) == want {
			r.out.imports[paths[0]] = ""
		} else {
			r.out.imports[paths[0]] = name
		}
		return name, true
	}
	return "", false
}

// nameFree reports whether an import named name could be added to the file
// and reached at pos.
func (r *fileRewriter) nameFree(pos token.Pos, name string) bool {
	if _, obj := r.pkg.Scope().Innermost(pos).LookupParent(name, pos); obj != nil {
		return false
	}
	if r.pkg.Scope().Lookup(name) != nil || r.excluded[name] {
		return false
	}
	for _, spec := range r.file.Imports {
		if spec.Name != nil && spec.Name.Name == name {
			return false
		}
		if p, _ := strconv.Unquote(spec.Path.Value); spec.Name == nil && lastElem(p) == name {
			return false
		}
	}
	return true
}

func lastElem(path string) string { return path[strings.LastIndex(path, "/")+1:] }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// convert rewrites stmt into a spawn.Go call, or returns why it did not.
func (r *fileRewriter) convert(stmt *ast.GoStmt) string {
	ctx, reason := r.findContext(stmt)
	if reason != "" {
		return reason
	}
	spawnName, ok := r.importName(stmt.Pos(), []string{spawnPath}, "spawn")
	if !ok {
		return "the name spawn is taken here"
	}
	ctxPkg, ok := r.importName(stmt.Pos(), []string{contextPath, ctxguardPath}, "context")
	if !ok {
		return "the name context is taken here"
	}
	call := stmt.Call
	fun := ast.Unparen(call.Fun)
	lit, isLit := fun.(*ast.FuncLit)
	if isLit && len(call.Args) == 0 && ctx.name != "" && r.info.Scopes[lit.Type].Lookup(ctx.name) != nil {
		// The body, which becomes the goroutine's, declares a ctx of its
		// own in the parameter's block: the parameter stays unnamed.
		ctx.name = ""
	}
	param := ctxPkg + ".Context"
	if ctx.name != "" {
		param = ctx.name + " " + param
	}
	head := spawnName + ".Go(" + ctx.expr + ", func(" + param + ")"

	if isLit && len(call.Args) == 0 && lit.Type.Results.NumFields() == 0 {
		// go func() { ... }(): keep the body where it is.
		r.replace(stmt.Pos(), lit.Type.End(), head)
		r.replace(lit.End(), call.End(), ")")
		return ""
	}

	// The go statement evaluates the function value and the arguments
	// before the goroutine starts; whatever could change between then
	// and the goroutine's call is evaluated into a temporary first.
	used := identNames(stmt)
	for _, n := range []string{spawnName, ctxPkg, ctx.name, rootName(ctx.expr)} {
		used[n] = true
	}
	var decls []string // temporaries: name := expr, evaluated in one assignment
	var tupleDecl string
	fresh := func(base string) string {
		name := base
		for i := 1; used[name]; i++ {
			name = base + strconv.Itoa(i)
		}
		used[name] = true
		return name
	}

	sig, _ := types.Unalias(r.info.TypeOf(call.Fun)).Underlying().(*types.Signature)
	funText := r.text(call.Fun)
	var funLit *ast.FuncLit
	switch how := r.funKind(fun); how {
	case "inline":
		if lit, ok := fun.(*ast.FuncLit); ok {
			funLit = lit
		}
	case "temp":
		name := fresh("fn")
		decls = append(decls, name+" := "+funText)
		funText = name
	default:
		return how
	}

	var args []string
	if len(call.Args) == 1 {
		if tuple, ok := r.info.TypeOf(call.Args[0]).(*types.Tuple); ok {
			var names []string
			for range tuple.Len() {
				names = append(names, fresh("arg"))
			}
			tupleDecl = strings.Join(names, ", ") + " := " + r.text(call.Args[0])
			args = names
		}
	}
	if args == nil {
		for i, arg := range call.Args {
			how, why := r.argKind(arg, sig, i)
			switch how {
			case "inline":
				args = append(args, r.text(arg))
			case "temp":
				name := fresh("arg")
				decls = append(decls, name+" := "+r.text(arg))
				args = append(args, name)
			default:
				return why
			}
		}
	}
	callText := "(" + strings.Join(args, ", ")
	if call.Ellipsis.IsValid() {
		callText += "..."
	}
	callText += ")"

	var prefix strings.Builder
	block := len(decls) > 0 || tupleDecl != ""
	if block {
		prefix.WriteString("{ ")
		if len(decls) > 0 {
			var names, values []string
			for _, d := range decls {
				n, v, _ := strings.Cut(d, " := ")
				names, values = append(names, n), append(values, v)
			}
			fmt.Fprintf(&prefix, "%s := %s; ", strings.Join(names, ", "), strings.Join(values, ", "))
		}
		if tupleDecl != "" {
			prefix.WriteString(tupleDecl + "; ")
		}
	}
	prefix.WriteString(head + " { ")
	suffix := callText + " })"
	if block {
		suffix += " }"
	}
	if funLit != nil {
		// Keep a function literal's body where it is, for line numbers.
		r.replace(stmt.Pos(), call.Fun.Pos(), prefix.String())
		r.replace(call.Fun.End(), call.End(), suffix)
		return ""
	}
	r.replace(stmt.Pos(), call.End(), prefix.String()+funText+suffix)
	return ""
}

// funKind says how the function value of a go statement's call is carried
// into the goroutine: "inline" when evaluating it later gives the same
// function (a declared function, a function literal, a variable that never
// changes), "temp" when it must be evaluated now; anything else is the
// reason it cannot be converted.
func (r *fileRewriter) funKind(fun ast.Expr) string {
	// A go statement of a nil function value panics at once, where it
	// stands; spawn.Go would call it in the new goroutine. A function
	// value that may be nil is left.
	const mayBeNil = "function value may be nil (a go statement panics at once, the goroutine would panic later)"
	switch f := fun.(type) {
	case *ast.FuncLit:
		return "inline"
	case *ast.Ident:
		switch obj := r.info.Uses[f].(type) {
		case *types.Builtin, *types.Func:
			return "inline"
		case *types.Var:
			switch {
			case !r.facts.nonNilFunc(r.info, obj):
				return mayBeNil
			case r.facts.final(obj):
				return "inline"
			}
			return "temp"
		}
	case *ast.SelectorExpr:
		if id, ok := f.X.(*ast.Ident); ok {
			if _, isPkg := r.info.Uses[id].(*types.PkgName); isPkg {
				if _, isFunc := r.info.Uses[f.Sel].(*types.Func); isFunc {
					return "inline"
				}
				return mayBeNil // a package's variable
			}
		}
		sel := r.info.Selections[f]
		switch {
		case sel == nil:
			return "unusual function expression"
		case sel.Kind() == types.MethodExpr:
			return "inline"
		case sel.Kind() == types.FieldVal:
			return mayBeNil
		case types.IsInterface(sel.Recv()):
			return "temp" // evaluating i.m panics now if i is nil, as the go statement would
		}
		// x.m with x a variable that never changes: evaluating it later
		// binds the same receiver, unless a pointer is followed to a
		// value receiver (its target may change meanwhile).
		if id, ok := f.X.(*ast.Ident); ok && len(sel.Index()) == 1 {
			if v, ok := r.info.Uses[id].(*types.Var); ok && r.facts.final(v) {
				_, xPtr := types.Unalias(v.Type()).Underlying().(*types.Pointer)
				_, recvPtr := types.Unalias(sel.Obj().Type().(*types.Signature).Recv().Type()).(*types.Pointer)
				if xPtr == recvPtr {
					return "inline"
				}
			}
		}
		return "temp"
	case *ast.IndexExpr, *ast.IndexListExpr:
		if r.instantiated(f) {
			return "inline" // a generic function instantiated: no evaluation
		}
		return mayBeNil
	}
	if _, isSig := types.Unalias(r.info.TypeOf(fun)).Underlying().(*types.Signature); isSig {
		return mayBeNil
	}
	return "unusual function expression"
}

// instantiated reports whether e, an index expression, is a generic
// function instantiated (f[T], pkg.F[T1, T2]): a value that never changes.
func (r *fileRewriter) instantiated(e ast.Expr) bool {
	var x ast.Expr
	switch ix := e.(type) {
	case *ast.IndexExpr:
		x = ix.X
	case *ast.IndexListExpr:
		x = ix.X
	default:
		return false
	}
	_, inst := r.info.Instances[identOf(x)]
	return inst
}

func identOf(e ast.Expr) *ast.Ident {
	switch x := ast.Unparen(e).(type) {
	case *ast.Ident:
		return x
	case *ast.SelectorExpr:
		return x.Sel
	}
	return nil
}

// argKind says how argument i of a call is carried into the goroutine:
// "inline" when evaluating it later gives the same value, "temp" when it
// must be evaluated now; else "" and why it cannot be.
func (r *fileRewriter) argKind(arg ast.Expr, sig *types.Signature, i int) (string, string) {
	tv, ok := r.info.Types[arg]
	if !ok {
		return "", "argument without type information"
	}
	if tv.Value != nil || tv.IsNil() {
		return "inline", ""
	}
	switch a := ast.Unparen(arg).(type) {
	case *ast.FuncLit:
		return "inline", ""
	case *ast.Ident:
		switch obj := r.info.Uses[a].(type) {
		case *types.Func:
			return "inline", ""
		case *types.Var:
			if r.facts.final(obj) {
				return "inline", ""
			}
		}
	case *ast.SelectorExpr:
		// A package's function: the same value later, and a generic one
		// instantiated by the parameter's type cannot go into a temporary.
		if id, ok := a.X.(*ast.Ident); ok {
			if _, isPkg := r.info.Uses[id].(*types.PkgName); isPkg {
				if _, isFunc := r.info.Uses[a.Sel].(*types.Func); isFunc {
					return "inline", ""
				}
			}
		}
	case *ast.IndexExpr, *ast.IndexListExpr:
		if r.instantiated(a) { // perhaps partly
			return "inline", ""
		}
	}
	// x == y and the like are untyped: the call converts them to the
	// parameter's type, a temporary would take the default type.
	if def, ok := r.untypedDefault(arg); ok && !types.Identical(def, tv.Type) {
		return "", "untyped argument whose value must be taken at the go statement"
	}
	return "temp", ""
}

// untypedDefault returns, for an expression that may be untyped although
// not constant (a comparison, a shift of a constant), the type x := e
// would give it; ok is false for any other expression.
func (r *fileRewriter) untypedDefault(e ast.Expr) (types.Type, bool) {
	switch x := e.(type) {
	case *ast.ParenExpr:
		return r.untypedDefault(x.X)
	case *ast.UnaryExpr:
		switch x.Op {
		case token.NOT:
			return r.untypedDefault(x.X)
		case token.SUB, token.ADD, token.XOR:
			if _, ok := r.untypedDefault(x.X); ok {
				return types.Typ[types.Invalid], true // a shift of a constant inside: left
			}
		}
	case *ast.BinaryExpr:
		switch x.Op {
		case token.ADD, token.SUB, token.MUL, token.QUO, token.REM, token.AND, token.OR, token.XOR, token.AND_NOT:
			// Untyped when both sides are: a constant and a shift of a
			// constant, say.
			_, l := r.untypedDefault(x.X)
			_, rr := r.untypedDefault(x.Y)
			lc, rc := r.info.Types[x.X].Value != nil, r.info.Types[x.Y].Value != nil
			if (l || lc) && (rr || rc) && (l || rr) {
				return types.Typ[types.Invalid], true
			}
		case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ:
			return types.Typ[types.Bool], true
		case token.LAND, token.LOR:
			_, l := r.untypedDefault(x.X)
			_, rr := r.untypedDefault(x.Y)
			if l && rr {
				return types.Typ[types.Bool], true
			}
		case token.SHL, token.SHR:
			if r.info.Types[x.X].Value != nil {
				return types.Typ[types.Invalid], true // never identical: left
			}
		}
	}
	return nil, false
}

// paramType returns the type of the parameter that argument i is passed to.
func paramType(sig *types.Signature, i int) types.Type {
	n := sig.Params().Len()
	if n == 0 {
		return nil
	}
	if sig.Variadic() && i >= n-1 {
		return sig.Params().At(n - 1).Type().(*types.Slice).Elem()
	}
	if i >= n {
		return nil
	}
	return sig.Params().At(i).Type()
}

// identNames returns every identifier name under n.
func identNames(n ast.Node) map[string]bool {
	names := make(map[string]bool)
	ast.Inspect(n, func(x ast.Node) bool {
		if id, ok := x.(*ast.Ident); ok {
			names[id.Name] = true
		}
		return true
	})
	return names
}

// rootName returns the leading identifier of an expression text.
func rootName(expr string) string {
	if i := strings.IndexAny(expr, ".("); i >= 0 {
		return expr[:i]
	}
	return expr
}

// testContext turns t.Context(), with t a *testing.T, *testing.B,
// *testing.F or testing.TB, into ctxguardtest.Goroutines(t, ...).
func (r *fileRewriter) testContext(call *ast.CallExpr) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || len(call.Args) != 0 || sel.Sel.Name != "Context" {
		return
	}
	s := r.info.Selections[sel]
	if s == nil || s.Kind() != types.MethodVal || s.Obj().Pkg() == nil || s.Obj().Pkg().Path() != "testing" {
		return
	}
	t := r.info.TypeOf(sel.X)
	if p, ok := types.Unalias(t).(*types.Pointer); ok {
		t = p.Elem()
	}
	if !isNamed(t, "testing", "T") && !isNamed(t, "testing", "B") && !isNamed(t, "testing", "F") && !isNamed(t, "testing", "TB") {
		return
	}
	name, ok := r.importName(call.Pos(), []string{ctxguardtestPath}, "ctxguardtest")
	if !ok {
		return
	}
	text := fmt.Sprintf("%s.Goroutines(%s, %s.WithWait(%d))", name, r.text(sel.X), name, r.opts.grace)
	r.replace(call.Pos(), call.End(), text)
}

// testStart makes a test function (or a subtest's) begin with
// ctxguardtest.Goroutines(t, ...): the check of its goroutines is then the
// test's first Cleanup, so it runs after all the others, which often stop
// what the test started (t.Cleanup(srv.Close)). The call goes on the line
// of the opening brace, so that no line moves.
func (r *fileRewriter) testStart(ft *ast.FuncType, body *ast.BlockStmt) {
	if body == nil || ft.Params == nil || len(ft.Params.List) != 1 || len(ft.Params.List[0].Names) != 1 {
		return
	}
	t := ft.Params.List[0].Names[0]
	if t.Name == "_" {
		return
	}
	p, ok := types.Unalias(r.info.TypeOf(ft.Params.List[0].Type)).(*types.Pointer)
	if !ok || !isNamed(p.Elem(), "testing", "T") {
		return
	}
	name, ok := r.importName(body.Lbrace+1, []string{ctxguardtestPath}, "ctxguardtest")
	if !ok {
		return
	}
	r.replace(body.Lbrace+1, body.Lbrace+1, fmt.Sprintf(" %s.Goroutines(%s, %s.WithWait(%d));", name, t.Name, name, r.opts.grace))
}

// subtestStart does testStart for the function literal of t.Run(name, func(t *testing.T) {...}).
func (r *fileRewriter) subtestStart(call *ast.CallExpr) {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Run" || len(call.Args) != 2 {
		return
	}
	if s := r.info.Selections[sel]; s == nil || s.Obj().Pkg() == nil || s.Obj().Pkg().Path() != "testing" {
		return
	}
	if lit, ok := call.Args[1].(*ast.FuncLit); ok {
		r.testStart(lit.Type, lit.Body)
	}
}

// replace records an edit of the source between two positions.
func (r *fileRewriter) replace(from, to token.Pos, text string) {
	start, end := r.offset(from), r.offset(to)
	if r.opts.build {
		// Keep what follows at its own line, so that the compiled code
		// reports the lines of the file as written.
		old := strings.Count(string(r.out.src[start:end]), "\n")
		if strings.Count(text, "\n") != old {
			// The position the compiler would have given, the file's
			// own //line directives applied.
			p := r.fset.PositionFor(to, true)
			if p.Column > 0 {
				text += fmt.Sprintf("/*line %s:%d:%d*/", p.Filename, p.Line, p.Column)
			} else {
				text += fmt.Sprintf("/*line %s:%d*/", p.Filename, p.Line)
			}
		}
	}
	// The new text carries the edits made inside the range (see text).
	kept := r.out.edits[:0]
	for _, e := range r.out.edits {
		if e.start < start || e.end > end {
			kept = append(kept, e)
		}
	}
	r.out.edits = append(kept, edit{start, end, text})
}

// apply returns src with edits applied; edits do not overlap.
func apply(src []byte, edits []edit) []byte {
	edits = append([]edit(nil), edits...)
	sort.Slice(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var b strings.Builder
	last := 0
	for _, e := range edits {
		b.Write(src[last:e.start])
		b.WriteString(e.text)
		last = e.end
	}
	b.Write(src[last:])
	return []byte(b.String())
}
