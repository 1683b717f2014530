// Package patterns holds the failure patterns of docs/design.md as small
// programs, for the detection matrix of package bench: each one is run under
// ctxguard, goleak and Go's goroutine leak profile, and its source is given
// to go vet.
//
// The programs are written as a user of ctxguard writes them: they import
// ctxguard as context (the one-line switch) and start goroutines with
// Env.Go, which is spawn.Go under ctxguard and a go statement otherwise.
// go vet is given the same files with the import changed back to package
// context, that is the program as it was before the switch.
//
// Each pattern lives in the file named after its ID, and every function in
// it is named with the ID as prefix (p2aHandler, p2aHandler.func1, ...): a
// goroutine stack, a spawn name, a cancel site or a vet diagnostic is traced
// back to the pattern by that name or file, nothing else.
package patterns

import (
	context "github.com/ctxguard/ctxguard/ctxguard"
)

// Env is what a pattern program runs with.
type Env struct {
	// Root is the long-lived context of the server, never done while the
	// pattern runs; requests derive from it.
	Root context.Context
	// Go starts fn(ctx) in a new goroutine.
	Go func(ctx context.Context, fn func(context.Context))
}

// A Pattern is one failure pattern as a program.
type Pattern struct {
	ID     string // file name without .go, and prefix of its functions
	Design string // its number, P1 to P9, in docs/design.md's table
	What   string
	// Run runs the pattern once, as a request that starts and ends (or, for
	// the dropped cancels, as a call under Root), and returns.
	Run func(Env)
}

// All lists the patterns in table order; "ok" is the well-behaved control.
var All = []Pattern{
	{"p1", "P1", "goroutine sleeps, then writes to a finished response", p1},
	{"p2a", "P2", "receive with no <-ctx.Done(), channel only the goroutine holds", p2a},
	{"p2b", "P2", "select with no <-ctx.Done(), on a server-wide channel", p2b},
	{"p3a", "P3", "cancel not called on one return path", p3a},
	{"p3b", "P3", "cancel stored in a struct that is dropped (across a call)", p3b},
	{"p4a", "P4", "a link calls on with context.Background()", p4a},
	{"p4b", "P4", "a child goroutine is handed context.Background()", p4b},
	{"p8", "P8", "range over a channel never closed, once per transition", p8},
	{"p9", "P9", "WaitGroup Add/Done mismatch, Wait never returns", p9},
	{"ok", "-", "control: worker returns on <-ctx.Done(), cancel deferred", ok},
}

// Lookup returns the pattern with id.
func Lookup(id string) (Pattern, bool) {
	for _, p := range All {
		if p.ID == id {
			return p, true
		}
	}
	return Pattern{}, false
}

// request runs handle as one request under root: the request's context
// ends (the client went away) as soon as handle returns.
func request(root context.Context, handle func(ctx context.Context)) {
	ctx, end := context.WithCancel(root)
	handle(ctx)
	end()
}
