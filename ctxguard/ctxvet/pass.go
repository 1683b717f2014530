package ctxvet

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
)

// passInfo is what every check needs about the package under analysis:
// its types, which files are generated, which lines are silenced for the
// check, and a few indexes built on first use.
type passInfo struct {
	pass  *analysis.Pass
	check string
	info  *types.Info
	pkg   *types.Package
	insp  *inspector.Inspector

	generated map[string]bool         // file name → generated, never reported on
	testing   map[*token.File]bool    // files, not _test.go ones, that import package testing
	testPkg   bool                    // the package is test support by its path: testSupportPath
	silenced  map[string]map[int]bool // file name → lines silenced for check

	assigned  map[*types.Var][]ast.Expr // local variable → what it is set to
	funcDecls map[*types.Func]*ast.FuncDecl
}

// newPassInfo prepares pass for its analyzer, whose name is the check's,
// and reports the check's //ctxvet:ignore directives that give no reason.
func newPassInfo(pass *analysis.Pass) *passInfo {
	check := pass.Analyzer.Name
	p := &passInfo{
		pass:      pass,
		check:     check,
		info:      pass.TypesInfo,
		pkg:       pass.Pkg,
		insp:      pass.ResultOf[inspect.Analyzer].(*inspector.Inspector),
		generated: make(map[string]bool),
		silenced:  make(map[string]map[int]bool),
		testing:   make(map[*token.File]bool),
		testPkg:   testSupportPath(pass.Pkg.Path(), pass.Module),
	}
	for _, file := range pass.Files {
		name := pass.Fset.File(file.Pos()).Name()
		if importsTesting(file) {
			p.testing[pass.Fset.File(file.Pos())] = true
		}
		if ast.IsGenerated(file) {
			p.generated[name] = true
			continue
		}
		var src []byte
		if pass.ReadFile != nil {
			src, _ = pass.ReadFile(name) // without the text, directives count as trailing
		}
		for _, d := range parseIgnoreDirectives(pass.Fset, file, src) {
			switch {
			case d.silences(check):
				if p.silenced[name] == nil {
					p.silenced[name] = make(map[int]bool)
				}
				p.silenced[name][d.line] = true
			case len(d.checks) > 0 && d.reason == "" && slices.Contains(d.checks, check):
				pass.Reportf(d.pos, "%s %s needs a reason and silences nothing without one: write %s %s <why this is fine>",
					ignorePrefix, strings.Join(d.checks, ","), ignorePrefix, check)
			}
		}
	}
	return p
}

// skipped reports whether a finding at pos must not be reported: it is in
// a generated file or on a line silenced for the check.
func (p *passInfo) skipped(pos token.Pos) bool {
	position := p.pass.Fset.Position(pos)
	return p.generated[position.Filename] || p.silenced[position.Filename][position.Line]
}

// inGeneratedFile reports whether pos is in a generated file.
func (p *passInfo) inGeneratedFile(pos token.Pos) bool {
	return p.generated[p.pass.Fset.Position(pos).Filename]
}

// report reports d unless skipped.
func (p *passInfo) report(d analysis.Diagnostic) {
	if p.skipped(d.Pos) {
		return
	}
	if d.Category == "" {
		d.Category = p.check
	}
	p.pass.Report(d)
}

// reportf reports a finding on node unless skipped.
func (p *passInfo) reportf(node ast.Node, format string, args ...any) {
	p.report(analysis.Diagnostic{Pos: node.Pos(), End: node.End(), Message: fmt.Sprintf(format, args...)})
}

// isTestFile reports whether pos is in test code: a _test.go file, a
// file of test support that imports package testing (helpers that take a
// testing.TB, such as a package of test fixtures), or any file of a
// package that testSupportPath names test support. Their waits are a
// test's as much as a _test.go file's are.
func (p *passInfo) isTestFile(pos token.Pos) bool {
	return p.testPkg || strings.HasSuffix(p.pass.Fset.Position(pos).Filename, "_test.go") || p.testing[p.pass.Fset.File(pos)]
}

// testSupportPath reports whether a package's import path says it serves
// tests only: one of its elements within its module mod (when the driver
// names it; a module called github.com/test/... is not all test code) is
// test, tests or e2e, the directories Go projects keep integration
// fixtures and end-to-end tests' servers in.
func testSupportPath(path string, mod *analysis.Module) bool {
	if mod != nil && mod.Path != "" {
		if rest, ok := strings.CutPrefix(path, mod.Path); ok && (rest == "" || rest[0] == '/') {
			path = rest
		}
	}
	for elem := range strings.SplitSeq(path, "/") {
		switch elem {
		case "test", "tests", "e2e":
			return true
		}
	}
	return false
}

// importsTesting reports whether file imports package testing.
func importsTesting(file *ast.File) bool {
	for _, spec := range file.Imports {
		if spec.Path.Value == `"testing"` {
			return true
		}
	}
	return false
}

// assignments returns every expression local variable v is set to, by
// its declaration or by assignments (the call f() for v1, v2 = f()), in
// source order. Changes through pointers are not seen.
func (p *passInfo) assignments(v *types.Var) []ast.Expr {
	if p.assigned == nil {
		p.assigned = make(map[*types.Var][]ast.Expr)
		record := func(lhs []ast.Expr, rhs []ast.Expr) {
			for i, e := range lhs {
				id, ok := e.(*ast.Ident)
				if !ok {
					continue
				}
				v, ok := p.info.ObjectOf(id).(*types.Var)
				switch {
				case !ok:
				case len(rhs) == len(lhs):
					p.assigned[v] = append(p.assigned[v], rhs[i])
				case len(rhs) == 1:
					p.assigned[v] = append(p.assigned[v], rhs[0])
				}
			}
		}
		for n := range p.insp.PreorderSeq((*ast.AssignStmt)(nil), (*ast.ValueSpec)(nil)) {
			switch n := n.(type) {
			case *ast.AssignStmt:
				if n.Tok == token.DEFINE || n.Tok == token.ASSIGN {
					record(n.Lhs, n.Rhs)
				}
			case *ast.ValueSpec:
				names := make([]ast.Expr, len(n.Names))
				for i, id := range n.Names {
					names[i] = id
				}
				record(names, n.Values)
			}
		}
	}
	return p.assigned[v]
}

// onlyValue returns the one expression v is ever set to, or nil if there
// are none or several.
func (p *passInfo) onlyValue(v *types.Var) ast.Expr {
	if a := p.assignments(v); len(a) == 1 {
		return a[0]
	}
	return nil
}

// funcDecl returns the declaration of fn if it is in this package.
func (p *passInfo) funcDecl(fn *types.Func) *ast.FuncDecl {
	if p.funcDecls == nil {
		p.funcDecls = make(map[*types.Func]*ast.FuncDecl)
		for n := range p.insp.PreorderSeq((*ast.FuncDecl)(nil)) {
			decl := n.(*ast.FuncDecl)
			if fn, ok := p.info.Defs[decl.Name].(*types.Func); ok {
				p.funcDecls[fn] = decl
			}
		}
	}
	return p.funcDecls[fn]
}
