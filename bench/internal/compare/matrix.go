package compare

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/ctxguard/ctxguard/bench/patterns"
	"github.com/ctxguard/ctxguard/ctxguard"
)

// The detection matrix: each pattern of package patterns is run as its own
// process under each runtime detector, and its source is given to go vet;
// a cell says whether the detector's own output points at the pattern.

// A detector is one column of the matrix.
type detector struct {
	name string
	with string // the helper's -with
	leak bool   // needs the helper built with the leak profile experiment
	// found parses the helper's output for pattern id.
	found func(out []byte, id string) (bool, error)
}

var detectors = []detector{
	{"ctxguard", "ctxguard", false, FoundByCtxguard},
	{"goleak", "goleak", false, FoundByGoleak},
	{"Go leak profile", "leakprofile", true, FoundByLeakProfile},
	{"Go leak profile, under spawn.Go", "leakprofile-spawn", true, FoundByLeakProfile},
}

// mentions reports whether text names a function of pattern id: every
// function in the pattern's file is named with its ID as prefix.
func mentions(text, id string) bool {
	re := regexp.MustCompile(`bench/patterns\.` + regexp.QuoteMeta(id) + `(?:[A-Z.(]|$)`)
	return re.MatchString(text)
}

// FoundByCtxguard reads a Snapshot, as JSON, and reports whether it counts
// a goroutine of pattern id lagging, or a cancel func created by it
// dropped.
func FoundByCtxguard(out []byte, id string) (bool, error) {
	var s ctxguard.Snapshot
	if err := json.Unmarshal(out, &s); err != nil {
		return false, fmt.Errorf("ctxguard output is not a Snapshot: %v", err)
	}
	for _, g := range s.Goroutines {
		if g.Lagging > 0 && mentions(g.Name, id) {
			return true, nil
		}
	}
	for _, sc := range s.DroppedCancelSites {
		if sc.Count > 0 && mentions(sc.Site.Function, id) {
			return true, nil
		}
	}
	return false, nil
}

// FoundByGoleak reads goleak.Find's error text and reports whether one of
// the goroutines it lists runs a function of pattern id.
func FoundByGoleak(out []byte, id string) (bool, error) {
	text := string(out)
	switch {
	case strings.HasPrefix(text, "goleak: no unexpected goroutines"):
		return false, nil
	case !strings.HasPrefix(text, "found unexpected goroutines:"):
		return false, fmt.Errorf("goleak output not understood: %.80q", text)
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "created by ") {
			continue // the creator is not the leaked goroutine
		}
		if mentions(line, id) {
			return true, nil
		}
	}
	return false, nil
}

var leakTotal = regexp.MustCompile(`^goroutineleak profile: total (\d+)$`)

// FoundByLeakProfile reads a goroutine leak profile written at debug=1 and
// reports whether a leaked goroutine's stack has a function of pattern id.
func FoundByLeakProfile(out []byte, id string) (bool, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	if !sc.Scan() {
		return false, fmt.Errorf("leak profile output is empty")
	}
	m := leakTotal.FindStringSubmatch(sc.Text())
	if m == nil {
		return false, fmt.Errorf("leak profile output not understood: %.80q", sc.Text())
	}
	total, _ := strconv.Atoi(m[1])
	found := false
	for sc.Scan() {
		// Frames: "#\t0x53f464\tpkg.func+0x24\tfile:line".
		if f := strings.Split(sc.Text(), "\t"); len(f) >= 3 && f[0] == "#" && mentions(f[2], id) {
			found = true
		}
	}
	return found && total > 0, sc.Err()
}

var vetLine = regexp.MustCompile(`^(?:\./)?([a-z0-9]+)\.go:\d+:\d+: (.*)$`)

// VetFindings reads go vet's output on the patterns and returns its
// diagnostics by pattern ID: the file they are in.
func VetFindings(out []byte) map[string][]string {
	found := map[string][]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if m := vetLine.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			found[m[1]] = append(found[m[1]], m[2])
		}
	}
	return found
}

// RewriteImport returns src with the import of path "from" changed to
// "to", and its name dropped if it becomes the package's own name. It
// fails if src does not import "from".
func RewriteImport(name string, src []byte, from, to string) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	rewritten := 0
	for _, spec := range f.Imports {
		if p, _ := strconv.Unquote(spec.Path.Value); p == from {
			spec.Path.Value = strconv.Quote(to)
			if spec.Name != nil && spec.Name.Name == filepath.Base(to) {
				spec.Name = nil
			}
			rewritten++
		}
	}
	if rewritten != 1 {
		return nil, fmt.Errorf("%s: %d imports of %q, want 1", name, rewritten, from)
	}
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// vetPatterns runs go vet on the patterns as they were before the switch
// to ctxguard: copied to a module of their own with ctxguard's import
// changed back to context.
func (r *runner) vetPatterns() (map[string][]string, error) {
	src := filepath.Join(r.repo, "bench", "patterns")
	dir := filepath.Join(r.tmp, "vet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(src, "*.go"))
	if err != nil {
		return nil, err
	}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(file)
		if bytes.Contains(b, []byte(`"github.com/ctxguard/ctxguard/ctxguard"`)) {
			if b, err = RewriteImport(name, b, "github.com/ctxguard/ctxguard/ctxguard", "context"); err != nil {
				return nil, err
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/patterns\n\ngo 1.25.0\n"), 0o644); err != nil {
		return nil, err
	}
	// go vet exits 1 when it reports something, so it is judged by its
	// output: diagnostics, or nothing.
	cmd := exec.Command("go", "vet", ".")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	found := VetFindings(out)
	if err != nil && len(found) == 0 {
		return nil, fmt.Errorf("go vet on the patterns: %v\n%s", err, out)
	}
	return found, nil
}

// A cell of the matrix.
type cell struct {
	found bool
	err   error
}

func (c cell) String() string {
	switch {
	case c.err != nil:
		return "error: " + strings.ReplaceAll(c.err.Error(), "\n", " ")
	case c.found:
		return "found"
	}
	return "not found"
}

// detectPattern runs pattern id under d and parses the result.
func (r *runner) detectPattern(d detector, id string) cell {
	bin, err := r.helper(d.leak)
	if err != nil {
		return cell{err: err}
	}
	out, err := r.command(bin, "pattern", "-id", id, "-with", d.with)
	if err != nil {
		return cell{err: err}
	}
	found, err := d.found(out, id)
	return cell{found, err}
}

// matrix runs every pattern under every detector, four processes at a
// time (they mostly wait), and writes the table.
func (r *runner) matrix() error {
	for _, leak := range []bool{false, true} {
		if _, err := r.helper(leak); err != nil {
			return err
		}
	}
	cells := make([][]cell, len(patterns.All))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, p := range patterns.All {
		cells[i] = make([]cell, len(detectors)+1)
		for j, d := range detectors {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				cells[i][j] = r.detectPattern(d, p.ID)
			})
		}
	}
	vet, vetErr := r.vetPatterns()
	wg.Wait()
	for i, p := range patterns.All {
		if vetErr != nil {
			cells[i][len(detectors)] = cell{err: vetErr}
		} else {
			cells[i][len(detectors)] = cell{found: len(vet[p.ID]) > 0}
		}
	}

	fmt.Fprintf(r.w, "## Which failure patterns each detector finds\n\n")
	fmt.Fprintf(r.w, "Each pattern is a small program in bench/patterns (file = ID), run once per detector in a process of "+
		"its own: a request starts its goroutine and ends; the cancel patterns create a context under the long-lived "+
		"root and drop the cancel func. \"found\" means the detector's own output names a function of the pattern; it "+
		"is parsed from that output, never written by hand. ctxguard: spawn.Go, grace 50 ms, CancelSampleRate 1 (every "+
		"cancel func tracked; the default, 1 in 128, would find a dropped cancel only in one run in 128), Snapshot "+
		"read after 1 s with GCs (a lagging goroutine, or a dropped cancel site). goleak: go statements, goleak.Find "+
		"with its default retries, 100 ms after the request. Go leak profile: go statements, built with "+
		"the profile (standard from Go 1.27, GOEXPERIMENT=goroutineleakprofile on Go 1.26), profile written 100 ms after the request; \"under spawn.Go\" is the same "+
		"with the goroutines started by spawn.Go. go vet: the default analyzers (lostcancel among them) on the "+
		"pattern files with the import of ctxguard changed back to context.\n\n")
	header := []string{"pattern", "docs/design.md", "what"}
	for _, d := range detectors {
		header = append(header, d.name)
	}
	header = append(header, "go vet")
	writeTableRow(r.w, header)
	writeTableRow(r.w, separators(len(header)))
	for i, p := range patterns.All {
		row := []string{p.ID, p.Design, p.What}
		for _, c := range cells[i] {
			s := c.String()
			if p.ID == "ok" && c.found {
				s = "FALSE POSITIVE"
			}
			row = append(row, s)
		}
		writeTableRow(r.w, row)
	}
	fmt.Fprintln(r.w)
	if vetErr == nil {
		var ids []string
		for _, p := range patterns.All {
			if len(vet[p.ID]) > 0 {
				ids = append(ids, fmt.Sprintf("%s: %s", p.ID, strings.Join(vet[p.ID], "; ")))
			}
		}
		if len(ids) > 0 {
			fmt.Fprintf(r.w, "go vet said: %s\n\n", strings.Join(ids, " | "))
		}
	}
	return nil
}
