// Package blockers starts the untracked goroutines that the leak tests of
// package spawn, the exporters and the debug page share: some blocked on
// channels only they hold, which Go's goroutine leak profile proves leaked,
// and as many on a channel a package variable holds, which never leak.
package blockers

import (
	"reflect"
	"runtime"
	"strconv"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// Own and Reachable name the functions the goroutines of Start begin with,
// as ctxguard names functions; File is their file as ctxguard names files.
const (
	Own       = "github.com/ctxguard/ctxguard/internal/blockers.waitOnOwnChannel"
	Reachable = "github.com/ctxguard/ctxguard/internal/blockers.waitOnReachableChannel"
	File      = "github.com/ctxguard/ctxguard/internal/blockers/blockers.go"
)

// reachable is held by a package variable: its waiters can be woken.
var reachable = make(chan struct{})

//go:noinline
func waitOnOwnChannel() {
	<-make(chan struct{})
}

//go:noinline
func waitOnReachableChannel() {
	<-reachable
}

// Start starts n goroutines blocked on channels only they hold, and n
// blocked on a reachable channel. They never return.
func Start(n int) {
	for range n {
		go waitOnOwnChannel()
		go waitOnReachableChannel()
	}
}

// Lines returns, for fn (Own or Reachable), the line its function is
// declared at (the goroutines' start) and the line they are blocked at,
// the next one.
func Lines(fn string) (start, blocked int) {
	f := waitOnOwnChannel
	if fn == Reachable {
		f = waitOnReachableChannel
	}
	entry := reflect.ValueOf(f).Pointer()
	_, start = runtime.FuncForPC(entry).FileLine(entry)
	return start, start + 1
}

// BlockedAt returns "file:line" of where the goroutines of fn (Own or
// Reachable) are blocked, as ctxguard names sites.
func BlockedAt(fn string) string {
	_, line := Lines(fn)
	return File + ":" + strconv.Itoa(line)
}

// Group returns the untracked group of s whose goroutines started with
// function fn, or a zero one.
func Group(s ctxguard.Snapshot, fn string) ctxguard.UntrackedStats {
	for _, u := range s.Untracked {
		if u.Start.Function == fn {
			return u
		}
	}
	return ctxguard.UntrackedStats{}
}
