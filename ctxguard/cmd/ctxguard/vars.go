package main

import (
	"go/ast"
	"go/token"
	"go/types"
	"go/version"
)

// varFacts says, for the local variables of one package, which keep the
// value they were declared with and which are sure to hold a value.
type varFacts struct {
	assigned    map[*types.Var]bool // assigned after its declaration, or its address taken
	nilAssigned map[*types.Var]bool // assigned the predeclared nil
	initialized map[*types.Var]bool // declared with a value: a parameter, x := v, var x = v
	handler     map[*types.Var]bool // a *http.Request parameter of a func that also takes an http.ResponseWriter
	param       map[*types.Var]bool
	// values holds the expressions assigned to each variable, its
	// initializer included; a nil one for a value from elsewhere (a range
	// clause, an element of a multi-valued non-call).
	values map[*types.Var][]ast.Expr
}

// collectVarFacts walks every file of a package.
func collectVarFacts(info *types.Info, files []*ast.File) *varFacts {
	f := &varFacts{
		assigned:    make(map[*types.Var]bool),
		nilAssigned: make(map[*types.Var]bool),
		initialized: make(map[*types.Var]bool),
		handler:     make(map[*types.Var]bool),
		param:       make(map[*types.Var]bool),
		values:      make(map[*types.Var][]ast.Expr),
	}
	for _, file := range files {
		oldLoops := false
		if v := info.FileVersions[file]; v != "" && version.Compare(v, "go1.22") < 0 {
			oldLoops = true // one variable for the whole loop, assigned each iteration
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncType:
				f.params(info, n)
			case *ast.FuncDecl:
				if n.Recv != nil {
					f.fieldList(info, n.Recv)
				}
			case *ast.AssignStmt:
				for i, lhs := range n.Lhs {
					if id, ok := lhs.(*ast.Ident); ok {
						if v, ok := info.ObjectOf(id).(*types.Var); ok {
							f.values[v] = append(f.values[v], valueOf(n.Lhs, n.Rhs, i, n.Tok))
						}
					}
					if id, ok := lhs.(*ast.Ident); ok && n.Tok == token.DEFINE {
						if v, ok := info.Defs[id].(*types.Var); ok {
							f.initialized[v] = true
							continue
						}
					}
					f.assign(info, lhs)
					if len(n.Lhs) == len(n.Rhs) && isNil(info, n.Rhs[i]) {
						if v := rootVar(info, lhs); v != nil {
							f.nilAssigned[v] = true
						}
					}
				}
			case *ast.ValueSpec:
				for i, id := range n.Names {
					if v, ok := info.Defs[id].(*types.Var); ok && len(n.Values) > 0 {
						f.values[v] = append(f.values[v], valueOf(nil, n.Values, i, token.DEFINE))
					}
				}
				if len(n.Values) > 0 {
					for _, id := range n.Names {
						if v, ok := info.Defs[id].(*types.Var); ok {
							f.initialized[v] = true
						}
					}
					for i, val := range n.Values {
						if i < len(n.Names) && isNil(info, val) {
							if v, ok := info.Defs[n.Names[i]].(*types.Var); ok {
								f.nilAssigned[v] = true
							}
						}
					}
				}
			case *ast.IncDecStmt:
				f.assign(info, n.X)
			case *ast.RangeStmt:
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if e == nil {
						continue
					}
					switch {
					case n.Tok == token.ASSIGN || oldLoops:
						f.assign(info, e)
					case n.Tok == token.DEFINE:
						// A variable per iteration, set by the loop.
						if v, ok := info.Defs[e.(*ast.Ident)].(*types.Var); ok {
							f.initialized[v] = true
							f.values[v] = append(f.values[v], nil) // an element may be nil
						}
					}
				}
			case *ast.UnaryExpr:
				if n.Op == token.AND {
					f.assign(info, n.X)
				}
			case *ast.SliceExpr:
				// Slicing an array variable takes its address: the slice
				// writes into it.
				if _, arr := types.Unalias(info.TypeOf(n.X)).Underlying().(*types.Array); arr {
					f.assign(info, n.X)
				}
			case *ast.SelectorExpr:
				// x.M() with M on *T and x a T variable takes x's address.
				if sel := info.Selections[n]; sel != nil && sel.Kind() == types.MethodVal {
					_, ptrRecv := sel.Obj().Type().(*types.Signature).Recv().Type().(*types.Pointer)
					_, ptrX := types.Unalias(info.TypeOf(n.X)).Underlying().(*types.Pointer)
					if ptrRecv && !ptrX && !sel.Indirect() {
						f.assign(info, n.X)
					}
				}
			}
			return true
		})
	}
	return f
}

// params records the parameters of a function as initialized, and its
// named results as assigned (a return statement assigns them).
func (f *varFacts) params(info *types.Info, ft *ast.FuncType) {
	f.fieldList(info, ft.Params)
	var request *types.Var
	writer := false
	if ft.Params != nil {
		for _, field := range ft.Params.List {
			t := info.TypeOf(field.Type)
			if isNamed(t, "net/http", "ResponseWriter") {
				writer = true
			}
			if p, ok := types.Unalias(t).(*types.Pointer); ok && isNamed(p.Elem(), "net/http", "Request") && len(field.Names) == 1 {
				request, _ = info.Defs[field.Names[0]].(*types.Var)
			}
		}
	}
	if writer && request != nil {
		f.handler[request] = true
	}
	if ft.Results != nil {
		for _, field := range ft.Results.List {
			for _, id := range field.Names {
				if v, ok := info.Defs[id].(*types.Var); ok {
					f.assigned[v] = true
				}
			}
		}
	}
}

func (f *varFacts) fieldList(info *types.Info, fl *ast.FieldList) {
	if fl == nil {
		return
	}
	for _, field := range fl.List {
		for _, id := range field.Names {
			if v, ok := info.Defs[id].(*types.Var); ok {
				f.initialized[v] = true
				f.param[v] = true
			}
		}
	}
}

// valueOf returns the expression assigned to the i'th of lhs: rhs[i], or
// the call whose results are assigned, or nil when there is none (x, ok
// := m[k] and the like, or a compound assignment).
func valueOf(lhs, rhs []ast.Expr, i int, tok token.Token) ast.Expr {
	if tok != token.ASSIGN && tok != token.DEFINE {
		return nil
	}
	if len(rhs) == len(lhs) || lhs == nil && i < len(rhs) {
		return rhs[i]
	}
	if len(rhs) == 1 {
		if call, ok := ast.Unparen(rhs[0]).(*ast.CallExpr); ok {
			return call
		}
	}
	return nil
}

// assign records that the variable at the root of e is written through e.
func (f *varFacts) assign(info *types.Info, e ast.Expr) {
	if v := rootVar(info, e); v != nil {
		f.assigned[v] = true
	}
}

// rootVar returns the variable that e writes into when assigned or
// addressed: x for x, x.f, x[i], (x); nil for anything reached through a
// pointer or a call.
func rootVar(info *types.Info, e ast.Expr) *types.Var {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			v, _ := info.Uses[x].(*types.Var)
			if v == nil {
				v, _ = info.Defs[x].(*types.Var)
			}
			return v
		case *ast.ParenExpr:
			e = x.X
		case *ast.SelectorExpr:
			if sel := info.Selections[x]; sel == nil || sel.Indirect() {
				return nil
			}
			if _, ptr := types.Unalias(info.TypeOf(x.X)).Underlying().(*types.Pointer); ptr {
				return nil
			}
			e = x.X
		case *ast.IndexExpr:
			if _, arr := types.Unalias(info.TypeOf(x.X)).Underlying().(*types.Array); !arr {
				// Writing into a slice or map element leaves the variable
				// as it was; be conservative all the same.
				e = x.X
				continue
			}
			e = x.X
		default:
			return nil
		}
	}
}

// final reports whether v is a local variable that keeps, for its whole
// life, the value it was declared with, so that reading it later reads
// the same value as reading it now.
func (f *varFacts) final(v *types.Var) bool {
	if v == nil || v.IsField() || v.Parent() == nil || v.Pkg() == nil || v.Parent() == v.Pkg().Scope() {
		return false
	}
	return f.initialized[v] && !f.assigned[v]
}

// surelySet reports whether the context variable v can be relied on to
// hold a Context when read: a parameter (a nil Context argument breaks the
// context package's contract) or a variable declared with a value, and
// every value it is given is the result of a call (context.WithCancel(...),
// r.Context(), any function returning a Context: returning a nil one
// breaks the contract too) or a variable that is itself surely set. A
// field, map element or type assertion, often nil until set, is not.
func (f *varFacts) surelySet(info *types.Info, v *types.Var) bool {
	return f.surelySetDepth(info, v, 0)
}

func (f *varFacts) surelySetDepth(info *types.Info, v *types.Var, depth int) bool {
	if depth > 4 || (!f.initialized[v] && !f.param[v]) || f.nilAssigned[v] {
		return false
	}
	for _, e := range f.values[v] {
		switch e := ast.Unparen(e).(type) {
		case *ast.CallExpr:
			if tv, ok := info.Types[e.Fun]; ok && tv.IsType() {
				return false // a conversion of what may be nil
			}
		case *ast.Ident:
			w, ok := info.Uses[e].(*types.Var)
			if !ok || !f.surelySetDepth(info, w, depth+1) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// nonNilFunc reports whether the function-typed local variable v surely
// holds a function: declared with a value, never a parameter, and given
// only function literals, declared functions and method values.
func (f *varFacts) nonNilFunc(info *types.Info, v *types.Var) bool {
	if f.param[v] || !f.initialized[v] || f.nilAssigned[v] || v.Parent() == nil || v.Pkg() == nil || v.Parent() == v.Pkg().Scope() {
		return false
	}
	for _, e := range f.values[v] {
		switch e := ast.Unparen(e).(type) {
		case *ast.FuncLit:
		case *ast.Ident:
			if _, ok := info.Uses[e].(*types.Func); !ok {
				return false
			}
		case *ast.SelectorExpr:
			if _, ok := info.Uses[e.Sel].(*types.Func); !ok {
				return false
			}
		default:
			return false
		}
	}
	return len(f.values[v]) > 0
}

func isNil(info *types.Info, e ast.Expr) bool {
	id, ok := ast.Unparen(e).(*ast.Ident)
	if !ok {
		return false
	}
	_, isNil := info.Uses[id].(*types.Nil)
	return isNil
}

// isNamed reports whether t is the named type pkg.name.
func isNamed(t types.Type, pkg, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == pkg && n.Obj().Name() == name
}

// isContext reports whether t is context.Context (ctxguard.Context is an
// alias of it).
func isContext(t types.Type) bool { return isNamed(t, "context", "Context") }
