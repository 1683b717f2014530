package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/tools/go/packages"
)

// runFix is `ctxguard fix [-diff] [-tags list] [-v] [packages]`.
func runFix(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fix", flag.ContinueOnError)
	fs.SetOutput(stderr)
	diff := fs.Bool("diff", false, "print the changes as a unified diff instead of writing them")
	tags := fs.String("tags", "", "build tags to load the packages with (go's -tags)")
	verbose := fs.Bool("v", false, "list the converted statements too")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ctxguard fix [-diff] [-tags list] [-v] [packages]\n\n%s\n", fixHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	patterns := fs.Args()
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	var buildFlags []string
	if *tags != "" {
		buildFlags = append(buildFlags, "-tags="+*tags)
	}
	keep := func(p *packages.Package) bool { return p.Module != nil && p.Module.Main || namedFiles(p) }
	res, err := rewritePackages(buildFlags, patterns, true, keep, rewriteOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "ctxguard fix: %v\n", err)
		return 1
	}
	// Make every new text before writing any, so that a failure changes
	// nothing.
	type change struct {
		name     string
		old, new []byte
	}
	var changes []change
	for _, fr := range res.files {
		out, err := fr.result(false)
		if err != nil {
			fmt.Fprintf(stderr, "ctxguard fix: %v\n", err)
			return 1
		}
		if !bytes.Equal(out, fr.src) {
			changes = append(changes, change{fr.name, fr.src, out})
		}
	}
	for _, c := range changes {
		if *diff {
			io.WriteString(stdout, unifiedDiff(relative(c.name), c.old, c.new))
			continue
		}
		if err := writeFile(c.name, c.new); err != nil {
			fmt.Fprintf(stderr, "ctxguard fix: %v\n", err)
			return 1
		}
	}
	summarize(stderr, "ctxguard fix", res.statements, *verbose)
	return 0
}

const fixHelp = `Fix rewrites, in place, each go statement that has a context in scope into
a spawn.Go call under the innermost context in scope: a parameter or
variable of type context.Context (from package context or ctxguard), or in
an HTTP handler the request's context. Arguments and function values the go
statement evaluated at once are evaluated at once still. It leaves go
statements with no usable context, in generated files and cgo files, and
those marked with a directive, trailing or on the line above:

	go s.loop() //ctxguard:ignore runs for the life of the process

and lists them with the reason. A package that does not build stops it
before anything is written.`

// namedFiles reports whether p is the package go makes of .go files named
// on the command line, which has no module.
func namedFiles(p *packages.Package) bool {
	return p.Module == nil && p.PkgPath == "command-line-arguments"
}

// writeFile replaces name's contents, keeping its mode.
func writeFile(name string, data []byte) error {
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	tmp := name + ".ctxguard.tmp"
	if err := os.WriteFile(tmp, data, info.Mode().Perm()); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// relative returns name relative to the working directory when it is
// under it.
func relative(name string) string {
	wd, err := os.Getwd()
	if err != nil {
		return name
	}
	if rel, err := filepath.Rel(wd, name); err == nil && inDir(name, wd) {
		return rel
	}
	return name
}

// summarize prints how many go statements were converted and left, each
// left one with its reason, and the counts by reason.
func summarize(w io.Writer, prefix string, statements []statement, verbose bool) {
	converted := 0
	byReason := make(map[string]int)
	for _, st := range statements {
		if st.Converted {
			converted++
			if verbose {
				fmt.Fprintf(w, "%s:%d: converted\n", relative(st.Pos.Filename), st.Pos.Line)
			}
			continue
		}
		byReason[st.Reason]++
		fmt.Fprintf(w, "%s:%d: left: %s\n", relative(st.Pos.Filename), st.Pos.Line, st.Reason)
	}
	fmt.Fprintf(w, "%s: %d go statements: %d converted, %d left\n", prefix, len(statements), converted, len(statements)-converted)
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if byReason[reasons[i]] != byReason[reasons[j]] {
			return byReason[reasons[i]] > byReason[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	for _, r := range reasons {
		fmt.Fprintf(w, "\tleft %d: %s\n", byReason[r], r)
	}
}
