// Command ctxguard puts the go statements of a module under ctxguard's
// watch: fix rewrites them in the source, test, build and run do the same
// at build time only.
//
//	ctxguard fix [-diff] [-tags list] [-v] [packages]
//	ctxguard test|build|run [-deps] [-grace d] [-ctxguard dir|version] [-q] [go flags] [packages] [args]
//
// Fix rewrites, in place, each go statement that has a context in scope
// into a spawn.Go call under the innermost such context, so that a
// goroutine still running after its context ended is reported as lagging.
// The program means what it meant before: the function value and arguments
// of go f(a, b) are still evaluated at the go statement. Statements it
// cannot convert safely, or that have no context, are left and listed with
// the reason; a //ctxguard:ignore REASON comment, trailing the statement or
// on the line above, leaves one on purpose.
//
// Test, build and run apply the same rewrite through go's -overlay,
// leaving the files as they are. In tests, a goroutine started under a
// test's context (t.Context() or one derived from it) that still runs one
// second (-grace) after the test ended fails that test, with the go
// statement's line and the line where it is blocked.
//
// Cost: fix and every test, build or run load and type-check the packages
// rewritten (go list, then go/types), about what go vet takes; the
// rewritten files are kept by content under the user cache directory, so
// go's build and test caches still apply.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "fix":
		return runFix(args[1:], stdout, stderr)
	case "test", "build", "run":
		return runBuild(args[0], args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		fmt.Fprintf(stdout, "\n%s\n\n%s\n", fixHelp, buildHelp)
		return 0
	}
	fmt.Fprintf(stderr, "ctxguard: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
	ctxguard fix [-diff] [-tags list] [-v] [packages]
	ctxguard test|build|run [-deps] [-grace d] [-ctxguard dir|version] [-q] [go flags] [packages] [args]
`)
}
