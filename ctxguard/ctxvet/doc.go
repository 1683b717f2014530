// Package ctxvet holds static checks for context-cancellation bugs, for
// code written against package context or its drop-in ctxguard, as
// golang.org/x/tools/go/analysis analyzers. Command ctxvet runs them all:
//
//	cd ctxguard/ctxvet && go install ./cmd/ctxvet  # from a checkout of ctxguard
//	ctxvet ./...                                  # standalone, in your module
//	go vet -vettool=$(command -v ctxvet) ./...    # as go vet's tool
//
// The checks, each also exported on its own (see [Analyzers]). Only
// chanleak is on by default: for each of the others, fewer than half of
// its findings on the real modules it was measured on last were worth
// changing the code for (README.md has the figures). Those run with
// -NAME.enable, or alone when named (-lostcancel):
//
//   - chanleak ([ChanLeak], on by default): a goroutine left blocked on a channel its
//     starting function made and abandoned: a send on a channel that
//     function never receives from, or that it stops waiting for through
//     a select case on a timer, with a fix to a buffered channel where
//     one goroutine sends once; and a range over a channel nobody closes.
//     -chanleak.done also reports a select left through a context's Done,
//     -chanleak.all every other way out too (an early return, the first
//     of several answers, a stop channel): on real code fewer of those
//     were worth a change. It leaves test code alone (a _test.go file, a
//     file importing testing, a package under a test, tests or e2e
//     directory) unless -chanleak.tests is set: there, most of its
//     findings on real code were not worth a change. What it reports
//     that is fine as it is, is mostly a command that gives up and then
//     exits, a component whose context ends only when the process stops,
//     or a race a few instructions wide.
//   - lostcancel ([LostCancel]): a cancel func of WithCancel, WithTimeout,
//     WithDeadline or their Cause forms discarded or not called on every
//     path, and a Group of spawn.WithContext (or errgroup's) not waited
//     for on every path. It replaces go vet's lostcancel, which recognises
//     only the import path "context" and goes silent once a file imports
//     ctxguard under the name context.
//   - goctx ([GoCtx]): a go statement in request-scoped code whose
//     goroutine gets no context (P1), with a fix to spawn.Go.
//   - selectdone ([SelectDone]): a blocking select that only data
//     channels can end, with no case on a context's Done channel (P2).
//   - brokenchain ([BrokenChain]): Background() or TODO() where a context
//     parameter is at hand and no comment explains it (P4).
//   - builtinkey ([BuiltinKey]): a WithValue key of a built-in type (P5).
//
// Each diagnostic is one line that says what is wrong and what to do.
//
// # Configuration
//
// A flag named after a check turns it off (-chanleak=false); set to true,
// it runs only the checks so named (-lostcancel), those off by default
// too. -NAME.enable runs a check that is off by default beside the others.
// -goctx.everywhere widens goctx to every function with a context in
// scope; -chanleak.done widens chanleak to a select left on a context's
// Done, -chanleak.all to every way out, -chanleak.tests to test code. All of these work for go vet -vettool too.
//
// A comment //ctxvet:ignore CHECK REASON silences CHECK on its line, or,
// alone on a line, on the next one; CHECK may list several, comma
// separated. The reason is required: a directive without one silences
// nothing and is reported. lostcancel reports one finding in two places,
// the definition and the return that escapes it: silencing either
// silences both.
//
//	ctx, _ := context.WithTimeout(s.base, time.Hour) //ctxvet:ignore lostcancel the timeout ends it; measured in bench
//
// Generated files (a "Code generated ... DO NOT EDIT." comment) are never
// reported on.
//
// # Cost
//
// Each check is one pass over the syntax tree of a package; lostcancel adds
// a walk of the control-flow graph from each constructor call, and
// chanleak a walk of each function that makes a channel. Most of a run is
// loading and type-checking, which go vet does anyway (README.md has
// measured times).
//
// What each check reports and leaves alone, and how precise it measured on
// real modules, is in README.md beside this file.
package ctxvet
