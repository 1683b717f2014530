package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/go/ast/astutil"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/imports"
)

// loadMode is what rewriting needs of a package.
const loadMode = packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
	packages.NeedSyntax | packages.NeedTypes | packages.NeedTypesInfo | packages.NeedModule | packages.NeedForTest

// errNotBuilding reports packages that do not build: nothing is rewritten.
var errNotBuilding = errors.New("packages do not build; nothing was changed")

// rewriteResult is the outcome of rewriting a set of packages.
type rewriteResult struct {
	files      []*fileRewrite // files with go statements or edits, by name
	statements []statement    // every go statement seen, converted or left
	pkgPaths   []string       // the packages rewritten
}

// rewritePackages loads the packages matching patterns, with their tests
// if tests, and rewrites the files of those that keep reports: files outside
// them (the standard library, the module cache, the test main) are not
// touched. It fails, changing nothing, if any package does not build.
func rewritePackages(buildFlags, patterns []string, tests bool, keep func(*packages.Package) bool, opts rewriteOptions) (*rewriteResult, error) {
	cfg := &packages.Config{
		Mode:       loadMode,
		BuildFlags: buildFlags,
		Tests:      tests,
	}
	pkgs, err := packages.Load(cfg, patterns...)
	if err != nil {
		return nil, err
	}
	var errs []string
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			errs = append(errs, e.Error())
		}
	})
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("%w:\n\t%s", errNotBuilding, strings.Join(dedupe(errs), "\n\t"))
	}
	// A package's files are rewritten as part of its test variant when
	// there is one: the names its test files declare are then in scope,
	// and no import added takes one of them.
	inTest := func(p *packages.Package) bool { return p.ForTest != "" && p.ForTest == p.PkgPath }
	sort.SliceStable(pkgs, func(i, j int) bool { return inTest(pkgs[i]) && !inTest(pkgs[j]) })
	res := &rewriteResult{}
	done := make(map[string]bool)
	for _, p := range pkgs {
		if !keep(p) || p.TypesInfo == nil {
			continue
		}
		res.pkgPaths = append(res.pkgPaths, p.PkgPath)
		facts := collectVarFacts(p.TypesInfo, p.Syntax)
		excluded := excludedNames(p)
		goFiles := make(map[string]bool)
		for _, f := range p.GoFiles {
			goFiles[f] = true
		}
		for _, file := range p.Syntax {
			name := p.Fset.File(file.Pos()).Name()
			if done[name] || !goFiles[name] {
				continue // seen in another variant of the package, or made by cgo
			}
			done[name] = true
			src, err := os.ReadFile(name)
			if err != nil {
				return nil, err
			}
			fr := rewriteFile(p.Fset, p.Types, p.TypesInfo, facts, excluded, file, src, opts)
			fr.module = p.Module
			res.statements = append(res.statements, fr.statements...)
			if len(fr.edits) > 0 {
				res.files = append(res.files, fr)
			}
		}
		// Files go list names but the type checker did not see: cgo files
		// (seen as cgo's output) and, listed apart, files left out by build
		// constraints. Their go statements are counted as left.
		for _, name := range p.GoFiles {
			if !done[name] {
				done[name] = true
				res.statements = append(res.statements, uncompiled(name, "cgo file (not rewritten)")...)
			}
		}
		for _, name := range p.IgnoredFiles {
			if strings.HasSuffix(name, ".go") && !done[name] {
				done[name] = true
				res.statements = append(res.statements, uncompiled(name, "file excluded by build constraints in this configuration")...)
			}
		}
	}
	sort.Slice(res.files, func(i, j int) bool { return res.files[i].name < res.files[j].name })
	sort.SliceStable(res.statements, func(i, j int) bool {
		a, b := res.statements[i].Pos, res.statements[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Offset < b.Offset
	})
	return res, nil
}

// excludedNames returns the names declared at package level in p's files
// that build constraints leave out of this configuration: an import
// added under one of them would not build in a configuration that has the
// file.
func excludedNames(p *packages.Package) map[string]bool {
	names := make(map[string]bool)
	for _, name := range p.IgnoredFiles {
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.SkipObjectResolution)
		if err != nil || f.Name.Name != p.Name {
			continue // another package's file (a program beside it, an external test), or none
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					names[d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch sp := spec.(type) {
					case *ast.TypeSpec:
						names[sp.Name.Name] = true
					case *ast.ValueSpec:
						for _, n := range sp.Names {
							names[n.Name] = true
						}
					}
				}
			}
		}
	}
	return names
}

// uncompiled lists the go statements of a file that is not rewritten.
func uncompiled(name, reason string) []statement {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
	if err != nil {
		return []statement{{Pos: token.Position{Filename: name}, Reason: "file does not parse: " + err.Error()}}
	}
	var out []statement
	ast.Inspect(f, func(n ast.Node) bool {
		if g, ok := n.(*ast.GoStmt); ok {
			out = append(out, statement{Pos: fset.Position(g.Pos()), Reason: reason})
		}
		return true
	})
	return out
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// result returns the file's new text: for fix, with imports added and
// gofmt applied; for a build, with imports appended on the line of the
// last import, so that no line moves.
func (fr *fileRewrite) result(build bool) ([]byte, error) {
	src := apply(fr.src, fr.edits)
	if build {
		out, err := addImportsInPlace(src, fr.imports)
		if err != nil {
			return nil, err
		}
		// A mistake of the rewrite must not show as a syntax error of the
		// user's file.
		if _, err := parser.ParseFile(token.NewFileSet(), fr.name, out, parser.SkipObjectResolution); err != nil {
			return nil, fmt.Errorf("ctxguard: internal error: rewritten %s does not parse: %v", fr.name, err)
		}
		return out, nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, fr.name, src, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("ctxguard: internal error: rewritten %s does not parse: %v", fr.name, err)
	}
	paths := make([]string, 0, len(fr.imports))
	for p := range fr.imports {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		astutil.AddNamedImport(fset, f, fr.imports[p], p)
	}
	var b bytes.Buffer
	if err := format.Node(&b, fset, f); err != nil {
		return nil, err
	}
	// Sorted and grouped as goimports would: the standard library first.
	return imports.Process(fr.name, b.Bytes(), &imports.Options{FormatOnly: true, Comments: true, TabIndent: true, TabWidth: 8})
}

// addImportsInPlace adds import declarations after the file's last one
// (or its package clause) on the same line.
func addImportsInPlace(src []byte, imports map[string]string) ([]byte, error) {
	if len(imports) == 0 {
		return src, nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "", src, parser.ImportsOnly)
	if err != nil {
		return nil, fmt.Errorf("ctxguard: internal error: rewritten file does not parse: %v", err)
	}
	at := f.Name.End()
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			at = g.End()
		}
	}
	paths := make([]string, 0, len(imports))
	for p := range imports {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "; import %s %q", imports[p], p)
	}
	off := fset.File(f.Pos()).Offset(at)
	return apply(src, []edit{{off, off, b.String()}}), nil
}

// inModuleDir reports whether file is under dir.
func inDir(file, dir string) bool {
	rel, err := filepath.Rel(dir, file)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
