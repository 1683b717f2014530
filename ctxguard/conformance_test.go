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
	dir := t.TempDir()
	for _, name := range []string{"x_test.go", "afterfunc_test.go", "example_test.go"} {
		src, err := os.ReadFile(filepath.Join(goroot, "src", "context", name))
		if err != nil {
			t.Fatal(err)
		}
		out, err := rewriteContextTest(name, src)
		if err != nil {
			t.Fatalf("rewriting %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gomod := "module ctxguardconformance\n\ngo 1.25\n\n" +
		"require github.com/ctxguard/ctxguard v0.0.0\n\n" +
		"replace github.com/ctxguard/ctxguard => " + strconv.Quote(repo) + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if sum, err := os.ReadFile(filepath.Join(repo, "go.sum")); err == nil {
		if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	args := []string{"test", "-count=1"}
	if raceEnabled {
		args = append(args, "-race")
	}
	if testing.Short() {
		args = append(args, "-short")
	}
	if testing.Verbose() {
		args = append(args, "-v")
	}
	cmd := exec.Command(goCommand(goroot), append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	t.Logf("%s", out)
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

func goCommand(goroot string) string {
	return filepath.Join(goroot, "bin", "go")
}

func goEnv(t *testing.T, key string) string {
	t.Helper()
	out, err := exec.Command("go", "env", key).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", key, err)
	}
	return strings.TrimSpace(string(out))
}
