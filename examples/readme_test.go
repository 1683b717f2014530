package examples

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Every Go snippet of the README, of the pages in docs/ and of
// CONTRIBUTING.md is taken from a test file of the repository (an Example
// function, mostly), so it compiles and runs with the tests: its lines,
// trimmed and without blank lines, must appear in that order and adjacent
// in one _test.go file. An "import x" line stands for the import spec x.
func TestReadmeSnippetsComeFromCompiledExamples(t *testing.T) {
	pages, err := filepath.Glob("../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append([]string{"../README.md", "../CONTRIBUTING.md"}, pages...)
	type snippet struct{ page, code string }
	var snippets []snippet
	for _, page := range pages {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
			snippets = append(snippets, snippet{page, m[1]})
		}
		if page == "../README.md" && len(snippets) == 0 {
			t.Fatal("the README has no Go snippets")
		}
	}
	var sources [][]string
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(path, "_test.go") || filepath.Base(path) == "readme_test.go" {
			return err
		}
		b, err := os.ReadFile(path)
		sources = append(sources, lines(string(b)))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range snippets {
		if !foundIn(lines(s.code), sources) {
			t.Errorf("%s: snippet not found in any test file:\n%s", s.page, s.code)
		}
	}
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		out = append(out, strings.TrimPrefix(l, "import "))
	}
	return out
}

func foundIn(want []string, sources [][]string) bool {
	for _, src := range sources {
		for i := 0; i+len(want) <= len(src); i++ {
			if slices.Equal(src[i:i+len(want)], want) {
				return true
			}
		}
	}
	return false
}

// Every document the repository names exists: each relative link of a
// Markdown page, and each name ending in .md in a page, a Go file or the
// CI script, found from the naming file's directory or from the root.
// (A design note outside the repository was cited that way for long.)
func TestNamedDocumentsExist(t *testing.T) {
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdName := regexp.MustCompile(`(?:^|[^\w/.-])((?:[\w.-]+/)*[\w.-]+\.md)\b`)
	exists := func(dir, name string) bool {
		for _, base := range []string{dir, ".."} {
			if _, err := os.Stat(filepath.Join(base, name)); err == nil {
				return true
			}
		}
		return false
	}
	checked := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && (d.Name() == "testdata" || d.Name() == ".git"):
			return filepath.SkipDir
		case d.IsDir():
			return nil
		}
		md := strings.HasSuffix(path, ".md")
		if !md && !strings.HasSuffix(path, ".go") && path != filepath.Join("..", ".ci", "run") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range mdName.FindAllStringSubmatch(line, -1) {
				checked++
				if !exists(dir, m[1]) {
					t.Errorf("%s:%d names %s, which does not exist", path, i+1, m[1])
				}
			}
			if !md {
				continue
			}
			for _, m := range link.FindAllStringSubmatch(line, -1) {
				target, _, _ := strings.Cut(m[1], "#")
				if target == "" || strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				checked++
				if _, err := os.Stat(filepath.Join(dir, target)); err != nil {
					t.Errorf("%s:%d links to %s, which does not exist", path, i+1, target)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 20 {
		t.Errorf("only %d names and links checked: the walk missed the documents", checked)
	}
}
