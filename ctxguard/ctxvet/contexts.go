package ctxvet

import (
	"cmp"
	"go/ast"
	"go/token"
	"go/types"
	"slices"

	"golang.org/x/tools/go/types/typeutil"
)

// Import paths the checks recognise, whatever name a file imports them under.
const (
	contextPath  = "context"
	ctxguardPath = "github.com/ctxguard/ctxguard/ctxguard"
	spawnPath    = "github.com/ctxguard/ctxguard/spawn"
	errgroupPath = "golang.org/x/sync/errgroup"
)

// isContextPackage reports whether path is package context or its drop-in.
func isContextPackage(path string) bool {
	return path == contextPath || path == ctxguardPath
}

// isContextType reports whether t is context.Context. ctxguard.Context is
// an alias of it, so both spellings land here.
func isContextType(t types.Type) bool {
	named, ok := types.Unalias(t).(*types.Named)
	if !ok {
		return false
	}
	obj := named.Obj()
	return obj.Pkg() != nil && obj.Pkg().Path() == contextPath && obj.Name() == "Context"
}

// carriesContext reports whether a value of type t is, or hands out, a
// context: context.Context itself, or a type with a method
// Context() context.Context such as *http.Request or a gRPC stream.
func carriesContext(t types.Type) bool {
	if t == nil {
		return false
	}
	if isContextType(t) {
		return true
	}
	obj, _, _ := types.LookupFieldOrMethod(t, true, nil, "Context")
	fn, ok := obj.(*types.Func)
	if !ok {
		return false
	}
	sig := fn.Signature()
	return sig.Params().Len() == 0 && sig.Results().Len() == 1 && isContextType(sig.Results().At(0).Type())
}

// contextFunc returns the package-level function of context or ctxguard
// that call calls, or nil.
func contextFunc(info *types.Info, call *ast.CallExpr) *types.Func {
	fn := typeutil.StaticCallee(info, call)
	if fn == nil || fn.Pkg() == nil || !isContextPackage(fn.Pkg().Path()) {
		return nil
	}
	if fn.Signature().Recv() != nil {
		return nil
	}
	return fn
}

// isCallTo reports whether call calls the package-level function name of a
// context package (context or ctxguard).
func isCallTo(info *types.Info, call *ast.CallExpr, names ...string) bool {
	fn := contextFunc(info, call)
	if fn == nil {
		return false
	}
	for _, name := range names {
		if fn.Name() == name {
			return true
		}
	}
	return false
}

// qualifiedName spells fn, called by call, the way the file does: with the
// name the file imports its package under (context.WithTimeout, also for
// ctxguard imported as context), or the package's own name.
func qualifiedName(info *types.Info, call *ast.CallExpr, fn *types.Func) string {
	return packageQualifier(info, call, fn) + "." + fn.Name()
}

// packageQualifier returns the name under which call reaches fn's package.
func packageQualifier(info *types.Info, call *ast.CallExpr, fn *types.Func) string {
	if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok {
		if id, ok := sel.X.(*ast.Ident); ok {
			if _, isPkg := info.Uses[id].(*types.PkgName); isPkg {
				return id.Name
			}
		}
	}
	return fn.Pkg().Name()
}

// referencesContext reports whether anything under n is an expression that
// is or carries a context (see carriesContext).
func referencesContext(info *types.Info, n ast.Node) bool {
	found := false
	ast.Inspect(n, func(n ast.Node) bool {
		if found {
			return false
		}
		e, ok := n.(ast.Expr)
		if !ok {
			return true
		}
		if tv, ok := info.Types[e]; ok && tv.IsType() {
			return false // a type is no reference, even context.Context
		}
		found = carriesContext(info.TypeOf(e))
		return !found
	})
	return found
}

// contextsInScope lists the context variables visible at pos, innermost
// first, that can carry a caller's cancellation: parameters and locals of
// the enclosing functions. A local the function made from Background, TODO
// or WithoutCancel itself is left out (the function alone decides when it
// ends), and so are package-level variables.
func contextsInScope(p *passInfo, pos token.Pos) []*types.Var {
	var found []*types.Var
	inner := p.pkg.Scope().Innermost(pos)
	for scope := inner; scope != nil && scope != p.pkg.Scope() && scope != types.Universe; scope = scope.Parent() {
		start := len(found)
		for _, name := range scope.Names() {
			v, ok := scope.Lookup(name).(*types.Var)
			if !ok || v.IsField() || !isContextType(v.Type()) {
				continue
			}
			if _, obj := inner.LookupParent(name, pos); obj != v {
				continue // shadowed here, or declared after pos
			}
			if isDetachedVar(p, v, nil) {
				continue
			}
			found = append(found, v)
		}
		// Within a scope, the one declared last is the most specific.
		slices.SortFunc(found[start:], func(a, b *types.Var) int { return cmp.Compare(b.Pos(), a.Pos()) })
	}
	return found
}

// isDetached reports whether the context expression e cannot carry a
// caller's cancellation: Background(), TODO(), WithoutCancel(x), a call
// that derives a context from detached contexts only (WithTimeout of one,
// or a helper of the caller's own), or a local variable only ever set to
// one of these. visiting holds the
// variables whose answer is being worked out, as in ctx = f(ctx).
func isDetached(p *passInfo, e ast.Expr, visiting map[*types.Var]bool) bool {
	switch e := ast.Unparen(e).(type) {
	case *ast.Ident:
		v, ok := p.info.Uses[e].(*types.Var)
		return ok && isDetachedVar(p, v, visiting)
	case *ast.CallExpr:
		if fn := contextFunc(p.info, e); fn != nil {
			switch fn.Name() {
			case "Background", "TODO", "WithoutCancel":
				return true
			}
		}
		// Any other call that derives a context from contexts, such as
		// WithTimeout(parent, d) or a helper setValue(ctx, v), can add
		// its own cancellation but none of a caller's.
		result := p.info.TypeOf(e)
		if tuple, ok := result.(*types.Tuple); ok && tuple.Len() > 0 {
			result = tuple.At(0).Type() // ctx, cancel := WithCancel(parent)
		}
		if !isContextType(result) {
			return false
		}
		derived := false
		for _, arg := range e.Args {
			if isContextType(p.info.TypeOf(arg)) {
				if !isDetached(p, arg, visiting) {
					return false
				}
				derived = true
			}
		}
		return derived
	}
	return false
}

// isDetachedVar reports whether v is a local variable set only to
// detached contexts (see isDetached); a parameter never is.
func isDetachedVar(p *passInfo, v *types.Var, visiting map[*types.Var]bool) bool {
	if v.Kind() != types.LocalVar {
		return false
	}
	if visiting[v] {
		return true // decided by its other values
	}
	values := p.assignments(v)
	if len(values) == 0 {
		return false
	}
	if visiting == nil {
		visiting = make(map[*types.Var]bool)
	}
	visiting[v] = true
	defer delete(visiting, v)
	for _, e := range values {
		if !isDetached(p, e, visiting) {
			return false
		}
	}
	return true
}
