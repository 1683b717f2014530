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
