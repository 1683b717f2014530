package ctxguard

import (
	"testing"
	"time"
)

// testing/synctest bubbles.
//
// Goroutines and channels made inside a synctest bubble belong to it, and
// operating on a bubble's channel from outside it is fatal. So a Monitor
// made outside any bubble, such as Default, must never start its goroutine
// from inside one nor poll the channels of a bubble's contexts: it leaves
// alone the goroutines, handlers and cancel funcs of a bubble (they behave
// as under a go statement and package context). A Monitor made inside a
// bubble belongs to it: it tracks that bubble's goroutines, on the bubble's
// fake clock, and must be used and closed inside it.
//
// There is no API to ask whether a goroutine is in a bubble; its clock
// tells: a bubble's fake time starts at midnight UTC on 1 January 2000 and
// advances only as its goroutines sleep. The question is asked only in
// test binaries, where bubbles can exist, so a program built with go build
// never pays for it.

// underTest is whether this is a test binary: only there can bubbles exist.
var underTest = testing.Testing()

// realStart is the wall clock at initialization, outside any bubble, less
// a day for clock steps.
var realStart = time.Now().Add(-24 * time.Hour).Round(0)

// inBubble reports whether the calling goroutine is in a synctest bubble.
func inBubble() bool {
	if !underTest {
		return false
	}
	now := time.Now().Round(0)
	return now.Year() == 2000 || now.Before(realStart)
}

// foreign reports whether the calling goroutine must not be tracked by m:
// one of them is in a bubble and the other is not.
func (m *Monitor) foreign() bool {
	return underTest && inBubble() != m.bubbled
}
