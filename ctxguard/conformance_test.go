package ctxguard

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/internal/conformance"
)

// TestStandardLibraryContextTests is the drop-in proof: package context's
// own tests and examples, from the Go installation running this test, pass
// against ctxguard with only the import path changed.
//
// The copies are made at test time in a temporary module that replaces this
// module with the working tree. The rewrite changes the import of "context"
// and drops, and nothing else: the import of internal/asan with the one
// check that uses it, and the four tests that only call package-internal
// tests (which cannot be compiled outside package context).
func TestStandardLibraryContextTests(t *testing.T) {
	goroot := goEnv(t, "GOROOT")
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, name := range []string{"x_test.go", "afterfunc_test.go", "example_test.go"} {
		src, err := os.ReadFile(filepath.Join(goroot, "src", "context", name))
		if err != nil {
			t.Fatal(err)
		}
		if files[name], err = rewriteContextTest(name, src); err != nil {
			t.Fatalf("rewriting %s: %v", name, err)
		}
	}
	conformance.Run(t, repo, files, raceEnabled)
}

var droppedTests = map[string]bool{
	"TestParentFinishesChild":     true,
	"TestChildFinishesFirst":      true,
	"TestCancelRemoves":           true,
	"TestCustomContextGoroutines": true,
}

// rewriteContextTest changes src's import of context to ctxguard and drops
// what only package context's own build can compile. It fails if the file
// does not look as expected, so a change in Go's tests is noticed, not
// silently worked around.
func rewriteContextTest(name string, src []byte) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	rewritten := 0
	var imports []ast.Spec
	for _, spec := range f.Imports {
		switch path, _ := strconv.Unquote(spec.Path.Value); path {
		case "context":
			spec.Path.Value = strconv.Quote("github.com/ctxguard/ctxguard/ctxguard")
			if spec.Name == nil {
				spec.Name = ast.NewIdent("context")
			}
			rewritten++
		case "internal/asan":
			continue
		}
		imports = append(imports, spec)
	}
	if rewritten != 1 {
		return nil, fmt.Errorf("found %d imports of context, want 1", rewritten)
	}
	f.Imports = nil
	var decls []ast.Decl
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.GenDecl:
			if d.Tok == token.IMPORT {
				d.Specs = imports
				for _, s := range imports {
					f.Imports = append(f.Imports, s.(*ast.ImportSpec))
				}
			}
		case *ast.FuncDecl:
			if droppedTests[d.Name.Name] {
				continue
			}
			if d.Body != nil {
				d.Body.List = withoutAsanChecks(d.Body.List)
			}
		}
		decls = append(decls, d)
	}
	f.Decls = decls
	// Comments of dropped declarations would be printed at odd places;
	// keep only the ones still attached to something.
	f.Comments = ast.NewCommentMap(fset, f, f.Comments).Filter(f).Comments()
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, f); err != nil {
		return nil, err
	}
	if bytes.Contains(buf.Bytes(), []byte("asan.")) {
		return nil, fmt.Errorf("a use of internal/asan is left")
	}
	return buf.Bytes(), nil
}

// withoutAsanChecks drops `if asan.Enabled { ... }` statements.
func withoutAsanChecks(list []ast.Stmt) []ast.Stmt {
	out := list[:0]
	for _, s := range list {
		if ifs, ok := s.(*ast.IfStmt); ok {
			if sel, ok := ifs.Cond.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "asan" {
					continue
				}
			}
		}
		out = append(out, s)
	}
	return out
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return strings.TrimSpace(string(out))
}
