package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the golden sections and expectations of testdata/fix")

// repoRoot is the directory of the core module.
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// writeModule makes a module in a new directory, requiring the core
// module from this repository, with files.
func writeModule(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	mod := fmt.Sprintf("module example.com/m\n\ngo 1.25.0\n\nrequire github.com/ctxguard/ctxguard v0.0.0-00010101000000-000000000000\n\nreplace github.com/ctxguard/ctxguard => %s\n", repoRoot(t))
	if _, ok := files["go.mod"]; !ok {
		files["go.mod"] = []byte(mod)
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runIn runs the command in dir and returns its exit code and outputs.
func runIn(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func goCmd(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestFix runs fix on each testdata/fix/*.txtar module: its files must
// become their .golden sections (unchanged where there is none), the
// summary must list exactly the left statements of the archive's comment,
// the module must build and vet, and a second run must change nothing.
func TestFix(t *testing.T) {
	archives, err := filepath.Glob(filepath.Join(repoRoot(t), "ctxguard/cmd/ctxguard/testdata/fix/*.txtar"))
	if err != nil || len(archives) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	t.Setenv("GOWORK", "off")
	t.Setenv("GOFLAGS", "-mod=mod")
	for _, path := range archives {
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			files := make(map[string][]byte)
			golden := make(map[string][]byte)
			for _, f := range ar.Files {
				if n, ok := strings.CutSuffix(f.Name, ".golden"); ok {
					golden[n] = f.Data
				} else {
					files[f.Name] = f.Data
				}
			}
			dir := writeModule(t, files)
			code, _, summary := runIn(t, dir, "fix", "./...")
			if code != 0 {
				t.Fatalf("fix exited %d:\n%s", code, summary)
			}
			gotSummary := summaryLines(summary)
			got := make(map[string][]byte)
			for n, before := range files {
				after, err := os.ReadFile(filepath.Join(dir, n))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(after, before) {
					got[n] = after
				}
			}
			if *update {
				writeGolden(t, path, ar, got, gotSummary)
				return
			}
			if want := strings.TrimSpace(string(ar.Comment)); gotSummary != want {
				t.Errorf("summary:\n%s\nwant:\n%s", gotSummary, want)
			}
			for n := range files {
				want, ok := golden[n]
				if !ok {
					want = files[n]
				}
				after, _ := os.ReadFile(filepath.Join(dir, n))
				if !bytes.Equal(after, want) {
					t.Errorf("%s:\n%s\nwant:\n%s", n, after, want)
				}
			}
			goCmd(t, dir, "vet", "./...")

			// A second run changes nothing and says the same of what it left.
			code, _, again := runIn(t, dir, "fix", "./...")
			if code != 0 {
				t.Fatalf("second fix exited %d:\n%s", code, again)
			}
			for n := range files {
				after, _ := os.ReadFile(filepath.Join(dir, n))
				want := golden[n]
				if want == nil {
					want = files[n]
				}
				if !bytes.Equal(after, want) {
					t.Errorf("second run changed %s:\n%s", n, after)
				}
			}
			if l1, l2 := leftLines(summary), leftLines(again); l1 != l2 {
				t.Errorf("second run left:\n%s\nfirst:\n%s", l2, l1)
			}
		})
	}
}

// summaryLines returns the summary with file names as in the archive.
func summaryLines(s string) string {
	return strings.TrimSpace(s)
}

// leftLines returns the file and reason of each statement left; lines
// move as imports are added.
func leftLines(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if pos, reason, ok := strings.Cut(l, ": left: "); ok {
			file, _, _ := strings.Cut(pos, ":")
			out = append(out, file+": "+reason)
		}
	}
	return strings.Join(out, "\n")
}

func writeGolden(t *testing.T, path string, ar *txtar.Archive, got map[string][]byte, summary string) {
	t.Helper()
	out := &txtar.Archive{Comment: []byte(summary + "\n")}
	for _, f := range ar.Files {
		if strings.HasSuffix(f.Name, ".golden") {
			continue
		}
		out.Files = append(out.Files, f)
	}
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out.Files = append(out.Files, txtar.File{Name: n + ".golden", Data: got[n]})
	}
	if err := os.WriteFile(path, txtar.Format(out), 0o644); err != nil {
		t.Fatal(err)
	}
}
