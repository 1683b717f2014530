package compare

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
)

var errCause = errors.New("bench: cause")

// A constructor is one of the six context constructors that return a
// cancel func, called with its cancel func called, in ctxguard and in
// context.
type constructor struct {
	name       string
	guard, std func(parent context.Context)
}

var constructors = []constructor{
	{"WithCancel",
		func(p context.Context) { _, c := ctxguard.WithCancel(p); c() },
		func(p context.Context) { _, c := context.WithCancel(p); c() }},
	{"WithCancelCause",
		func(p context.Context) { _, c := ctxguard.WithCancelCause(p); c(errCause) },
		func(p context.Context) { _, c := context.WithCancelCause(p); c(errCause) }},
	{"WithTimeout",
		func(p context.Context) { _, c := ctxguard.WithTimeout(p, time.Hour); c() },
		func(p context.Context) { _, c := context.WithTimeout(p, time.Hour); c() }},
	{"WithTimeoutCause",
		func(p context.Context) { _, c := ctxguard.WithTimeoutCause(p, time.Hour, errCause); c() },
		func(p context.Context) { _, c := context.WithTimeoutCause(p, time.Hour, errCause); c() }},
	{"WithDeadline",
		func(p context.Context) { _, c := ctxguard.WithDeadline(p, time.Now().Add(time.Hour)); c() },
		func(p context.Context) { _, c := context.WithDeadline(p, time.Now().Add(time.Hour)); c() }},
	{"WithDeadlineCause",
		func(p context.Context) {
			_, c := ctxguard.WithDeadlineCause(p, time.Now().Add(time.Hour), errCause)
			c()
		},
		func(p context.Context) {
			_, c := context.WithDeadlineCause(p, time.Now().Add(time.Hour), errCause)
			c()
		}},
}

// Constructor returns a benchmark of f under context.Background.
func Constructor(f func(context.Context)) func(b *testing.B) {
	return func(b *testing.B) {
		parent := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			f(parent)
		}
	}
}

// ConstructorTrackAll returns a benchmark of f under a parent carrying a
// Monitor with CancelSampleRate 1, open only while the benchmark runs: an
// open track-all Monitor makes every ctxguard constructor take the second
// sampling stage. Package context's side runs under the same kind of
// parent.
func ConstructorTrackAll(f func(context.Context)) func(b *testing.B) {
	return func(b *testing.B) {
		m := ctxguard.New(ctxguard.Config{CancelSampleRate: 1, Logger: slog.New(slog.DiscardHandler)})
		defer m.Close()
		parent := ctxguard.WithMonitor(context.Background(), m)
		b.ReportAllocs()
		for b.Loop() {
			f(parent)
		}
	}
}

// ConstructorGroup compares the constructors.
func ConstructorGroup() Group {
	g := Group{
		Title: "Context constructors",
		About: "Each operation creates a context with the constructor and calls its cancel func. " +
			"\"default\" is ctxguard under the zero Config (one cancel func in 128 tracked for being dropped); " +
			"\"track-all\" gives the parent a Monitor with CancelSampleRate 1, so every cancel func gets a tracker with a " +
			"finalizer, and package context runs under the same parent. Timeouts and deadlines are an hour away.",
	}
	for _, c := range constructors {
		g.Comparisons = append(g.Comparisons, Comparison{
			Name: "Constructors/" + c.name + "/default", Op: "ctxguard." + c.name + " vs context." + c.name + ", default",
			Ours: Side{"ctxguard." + c.name, Constructor(c.guard)}, Theirs: Side{"context." + c.name, Constructor(c.std)},
			Goal: RatioAtMost(1.1),
		})
	}
	for _, c := range constructors {
		g.Comparisons = append(g.Comparisons, Comparison{
			Name: "Constructors/" + c.name + "/track-all", Op: "ctxguard." + c.name + " vs context." + c.name + ", track-all",
			Ours: Side{"ctxguard." + c.name, ConstructorTrackAll(c.guard)}, Theirs: Side{"context." + c.name, ConstructorTrackAll(c.std)},
			Goal: RatioAtMost(2.5), Instr: c.name == "WithCancel" || c.name == "WithCancelCause",
		})
	}
	return g
}
