package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/token"
	"io"
	"log"
	"os"
	"slices"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"
)

// Standalone mode (ctxvet ./...) is run here rather than by multichecker,
// whose driver prints each finding of a package twice in JSON (once for
// the package, once for its test variant), exits 0 with -json whatever it
// found, and fails under GOFLAGS=-modfile=... (go/packages asks the go
// command for its version in GOPATH mode, where -modfile is an error).
// Everything else (go vet's -vettool protocol, -fix, -diff, help) is
// multichecker's.

// exit codes of standalone mode, as multichecker's
const (
	exitFailed   = 1 // loading or an analysis failed
	exitFindings = 3 // something was reported
)

// standaloneConfig is what the command line of a standalone run says.
type standaloneConfig struct {
	analyzers []*analysis.Analyzer
	json      bool
	context   int
	tests     bool
	patterns  []string
}

// parseStandalone parses args for a standalone run. ok is false when they
// ask for something multichecker does (a vet config file, -fix, -diff,
// -V, -flags, help) or do not parse: multichecker then handles them,
// errors and usage included.
func parseStandalone(all []*analysis.Analyzer, args []string) (cfg standaloneConfig, ok bool) {
	fs := flag.NewFlagSet("ctxvet", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	enabled := make(map[*analysis.Analyzer]*triState)
	for _, a := range all {
		enabled[a] = new(triState)
		fs.Var(enabled[a], a.Name, "")
		a.Flags.VisitAll(func(f *flag.Flag) { fs.Var(f.Value, a.Name+"."+f.Name, f.Usage) })
	}
	fs.BoolVar(&cfg.json, "json", false, "")
	fs.IntVar(&cfg.context, "c", -1, "")
	fs.BoolVar(&cfg.tests, "test", true, "")
	if fs.Parse(args) != nil || fs.NArg() == 0 || fs.Arg(0) == "help" {
		return cfg, false
	}
	for _, arg := range fs.Args() {
		if strings.HasSuffix(arg, ".cfg") || strings.HasPrefix(arg, "-") {
			return cfg, false
		}
	}
	cfg.patterns = fs.Args()
	cfg.analyzers = selectAnalyzers(all, enabled)
	return cfg, true
}

// selectAnalyzers applies the -NAME flags as multichecker does: if any is
// true, only those run; otherwise all but those set false.
func selectAnalyzers(all []*analysis.Analyzer, enabled map[*analysis.Analyzer]*triState) []*analysis.Analyzer {
	var hasTrue bool
	for _, ts := range enabled {
		hasTrue = hasTrue || *ts == setTrue
	}
	var keep []*analysis.Analyzer
	for _, a := range all {
		if hasTrue && *enabled[a] == setTrue || !hasTrue && *enabled[a] != setFalse {
			keep = append(keep, a)
		}
	}
	return keep
}

// runStandalone loads the packages, runs the analyzers and prints what
// they found, each finding once; it returns the exit code.
func runStandalone(cfg standaloneConfig, stdout, stderr io.Writer) int {
	env, modFlags := moveModfile(os.Environ())
	mode := packages.LoadSyntax
	if needFacts(cfg.analyzers) {
		mode = packages.LoadAllSyntax // facts come from the syntax of every dependency
	}
	conf := &packages.Config{
		Mode:       mode | packages.NeedModule,
		Tests:      cfg.tests,
		Env:        env,
		BuildFlags: modFlags,
	}
	pkgs, err := packages.Load(conf, cfg.patterns...)
	if err == nil && len(pkgs) == 0 {
		err = fmt.Errorf("%s matched no packages", strings.Join(cfg.patterns, " "))
	}
	if err != nil {
		log.Print(err)
		return exitFailed
	}
	code := 0
	if packages.PrintErrors(pkgs) > 0 {
		code = exitFailed
	}
	graph, err := checker.Analyze(cfg.analyzers, pkgs, nil)
	if err != nil {
		log.Print(err)
		return exitFailed
	}
	failed, found := false, 0
	for act := range graph.All() {
		if act.Err != nil {
			failed = true
		}
	}
	if cfg.json {
		found, err = printJSONOnce(graph, stdout)
	} else {
		found, err = printTextOnce(graph, stderr, cfg.context)
	}
	switch {
	case err != nil || failed:
		return exitFailed
	case found > 0:
		return max(code, exitFindings)
	}
	return code
}

// needFacts reports whether an analyzer, or one it requires, uses facts.
func needFacts(analyzers []*analysis.Analyzer) bool {
	for _, a := range analyzers {
		if len(a.FactTypes) > 0 || needFacts(a.Requires) {
			return true
		}
	}
	return false
}

// moveModfile takes -modfile out of GOFLAGS in env and returns it as build
// flags: the go command rejects it in GOPATH mode, which go/packages uses
// to ask for the go version, while on the command line of go list (a
// build flag) it is applied exactly as go vet applies it.
func moveModfile(env []string) (out, buildFlags []string) {
	for _, kv := range env {
		value, ok := strings.CutPrefix(kv, "GOFLAGS=")
		if !ok {
			out = append(out, kv)
			continue
		}
		var keep []string
		for _, f := range strings.Fields(value) {
			if strings.HasPrefix(f, "-modfile=") || strings.HasPrefix(f, "--modfile=") {
				buildFlags = append(buildFlags, f)
			} else {
				keep = append(keep, f)
			}
		}
		out = append(out, "GOFLAGS="+strings.Join(keep, " "))
	}
	return out, buildFlags
}

// printTextOnce prints the findings as go vet does and returns how many
// there are, each counted once (a file of a package is also in its test
// variant; PrintText prints its findings once too).
func printTextOnce(graph *checker.Graph, w io.Writer, context int) (int, error) {
	type key struct {
		analyzer  *analysis.Analyzer
		posn, end token.Position
		message   string
	}
	seen := make(map[key]bool)
	for act := range graph.All() {
		if !act.IsRoot || act.Err != nil {
			continue
		}
		for _, d := range act.Diagnostics {
			fset := act.Package.Fset
			seen[key{act.Analyzer, fset.Position(d.Pos), fset.Position(d.End), d.Message}] = true
		}
	}
	return len(seen), graph.PrintText(w, context)
}

// jsonDiagnostic is the part of a JSON finding that identifies it.
type jsonDiagnostic struct {
	Posn    string `json:"posn"`
	End     string `json:"end"`
	Message string `json:"message"`
}

// printJSONOnce prints the findings in go vet's JSON form (package ID →
// analyzer → findings), keeping each finding only under the first package
// ID, in sorted order, that has it: the package, not its test variant. It
// returns how many findings it printed.
func printJSONOnce(graph *checker.Graph, w io.Writer) (int, error) {
	var buf bytes.Buffer
	if err := graph.PrintJSON(&buf); err != nil {
		return 0, err
	}
	var tree map[string]map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &tree); err != nil {
		return 0, err
	}
	type key struct {
		analyzer string
		jsonDiagnostic
	}
	seen := make(map[key]bool)
	out := make(map[string]map[string]any)
	found := 0
	for _, id := range sortedKeys(tree) {
		for _, name := range sortedKeys(tree[id]) {
			raw := tree[id][name]
			var diags []json.RawMessage
			if err := json.Unmarshal(raw, &diags); err != nil {
				set(out, id, name, raw) // {"error": ...}
				continue
			}
			var kept []json.RawMessage
			for _, d := range diags {
				var k key
				if err := json.Unmarshal(d, &k.jsonDiagnostic); err != nil {
					return 0, err
				}
				k.analyzer = name
				if !seen[k] {
					seen[k] = true
					kept = append(kept, d)
				}
			}
			if len(kept) > 0 {
				set(out, id, name, kept)
				found += len(kept)
			}
		}
	}
	data, err := json.MarshalIndent(out, "", "\t")
	if err != nil {
		return 0, err
	}
	_, err = fmt.Fprintf(w, "%s\n", data)
	return found, err
}

func set(tree map[string]map[string]any, id, name string, v any) {
	if tree[id] == nil {
		tree[id] = make(map[string]any)
	}
	tree[id][name] = v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// triState is a -NAME flag: unset, or set true or false.
type triState int

const (
	unset triState = iota
	setTrue
	setFalse
)

func (ts *triState) Set(value string) error {
	switch value {
	case "true", "1", "t", "T", "TRUE", "True":
		*ts = setTrue
	case "false", "0", "f", "F", "FALSE", "False":
		*ts = setFalse
	default:
		return errors.New("want true or false")
	}
	return nil
}

func (ts *triState) String() string {
	switch *ts {
	case setTrue:
		return "true"
	case setFalse:
		return "false"
	}
	return "unset"
}

func (ts *triState) IsBoolFlag() bool { return true }
