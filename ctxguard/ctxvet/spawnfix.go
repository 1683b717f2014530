package ctxvet

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strconv"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/ast/inspector"
)

// spawnGoFix rewrites stmt as a spawn.Go call handing the goroutine ctx,
// or returns nil where that could fail to compile or change when
// something is evaluated: only go func() {...}() and go f() with f a
// package-level function qualify, since a go statement evaluates its
// function value and arguments at once and a closure would not.
func spawnGoFix(p *passInfo, cur inspector.Cursor, stmt *ast.GoStmt, ctx string) *analysis.SuggestedFix {
	call := stmt.Call
	if len(call.Args) > 0 {
		return nil
	}
	file := enclosingFile(cur)
	scope := p.pkg.Scope().Innermost(stmt.Pos())
	contextName, addContext, ok := importName(p, file, scope, stmt.Pos(), []string{contextPath, ctxguardPath}, "context")
	if !ok {
		return nil
	}
	spawnName, addSpawn, ok := importName(p, file, scope, stmt.Pos(), []string{spawnPath}, "spawn")
	if !ok {
		return nil
	}
	if refersOutside(p, stmt.Call, "ctx") {
		return nil // the literal's parameter ctx would shadow it
	}
	head := fmt.Sprintf("%s.Go(%s, func(ctx %s.Context) ", spawnName, ctx, contextName)

	var edits []analysis.TextEdit
	switch fun := call.Fun.(type) {
	case *ast.FuncLit:
		if fun.Type.Params.NumFields() > 0 || fun.Type.Results.NumFields() > 0 {
			return nil
		}
		// Keep the body as written: replace what is around it.
		edits = []analysis.TextEdit{
			{Pos: stmt.Go, End: fun.Body.Lbrace, NewText: []byte(head)},
			{Pos: fun.Body.End(), End: call.End(), NewText: []byte(")")},
		}
	case *ast.Ident, *ast.SelectorExpr:
		fn, ok := calleeObject(p.info, fun).(*types.Func)
		if !ok || fn.Signature().Recv() != nil || fn.Parent() != fn.Pkg().Scope() {
			return nil // a method value or func variable is evaluated by the go statement itself
		}
		if sel, ok := fun.(*ast.SelectorExpr); ok {
			if _, isPkg := p.info.Uses[sel.X.(*ast.Ident)].(*types.PkgName); !isPkg {
				return nil
			}
		}
		edits = []analysis.TextEdit{{
			Pos: stmt.Pos(), End: stmt.End(),
			NewText: []byte(head + "{ " + types.ExprString(fun) + "() })"),
		}}
	default:
		return nil
	}

	var imports []string
	if addContext {
		imports = append(imports, contextPath)
	}
	if addSpawn {
		imports = append(imports, spawnPath)
	}
	if len(imports) > 0 {
		edits = append(edits, addImports(file, imports))
	}
	return &analysis.SuggestedFix{
		Message:   fmt.Sprintf("start the goroutine with %s.Go(%s, ...)", spawnName, ctx),
		TextEdits: edits,
	}
}

// refersOutside reports whether anything under n uses an object named
// name declared outside n.
func refersOutside(p *passInfo, n ast.Node, name string) bool {
	found := false
	ast.Inspect(n, func(x ast.Node) bool {
		if id, ok := x.(*ast.Ident); ok && id.Name == name {
			if obj := p.info.Uses[id]; obj != nil && (obj.Pos() < n.Pos() || obj.Pos() >= n.End()) {
				found = true
			}
		}
		return !found
	})
	return found
}

// calleeObject returns the object an identifier or a qualified identifier
// denotes.
func calleeObject(info *types.Info, fun ast.Expr) types.Object {
	switch fun := fun.(type) {
	case *ast.Ident:
		return info.Uses[fun]
	case *ast.SelectorExpr:
		if _, ok := fun.X.(*ast.Ident); ok {
			return info.Uses[fun.Sel]
		}
	}
	return nil
}

// enclosingFile returns the file cur is in.
func enclosingFile(cur inspector.Cursor) *ast.File {
	for f := range cur.Enclosing((*ast.File)(nil)) {
		return f.Node().(*ast.File)
	}
	return nil
}

// importName returns the name under which code at pos reaches one of the
// packages paths, as imported by file. If file imports none of them, it
// returns fallback with add set, provided that nothing named fallback is
// visible at pos; ok is false when neither works.
func importName(p *passInfo, file *ast.File, scope *types.Scope, pos token.Pos, paths []string, fallback string) (name string, add, ok bool) {
	for _, spec := range file.Imports {
		path, err := strconv.Unquote(spec.Path.Value)
		if err != nil || !slices.Contains(paths, path) {
			continue
		}
		pkgName, isPkg := p.info.PkgNameOf(spec), true
		if pkgName == nil || pkgName.Name() == "_" || pkgName.Name() == "." {
			continue
		}
		if _, obj := scope.LookupParent(pkgName.Name(), pos); obj != pkgName {
			isPkg = false // shadowed at pos
		}
		if isPkg {
			return pkgName.Name(), false, true
		}
	}
	if _, obj := scope.LookupParent(fallback, pos); obj != nil {
		return "", false, false
	}
	return fallback, true, true
}

// addImports returns an edit adding paths to file's imports.
func addImports(file *ast.File, paths []string) analysis.TextEdit {
	var text string
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.IMPORT {
			continue
		}
		if gen.Lparen.IsValid() {
			for _, path := range paths {
				text += "\t" + strconv.Quote(path) + "\n"
			}
			return analysis.TextEdit{Pos: gen.Rparen, End: gen.Rparen, NewText: []byte(text)}
		}
		for _, path := range paths {
			text += "\nimport " + strconv.Quote(path)
		}
		return analysis.TextEdit{Pos: gen.End(), End: gen.End(), NewText: []byte(text)}
	}
	for _, path := range paths {
		text += "\n\nimport " + strconv.Quote(path)
	}
	return analysis.TextEdit{Pos: file.Name.End(), End: file.Name.End(), NewText: []byte(text)}
}
