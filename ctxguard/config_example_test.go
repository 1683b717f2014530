package ctxguard_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// A program makes its Monitor at start and installs it as the Default, so
// that every context that carries no Monitor of its own reports to it.
// (Compiled, not run: it would change the Default of the tests that
// follow.)
func ExampleNew() {
	m := ctxguard.New(ctxguard.Config{
		Grace:  10 * time.Second,                              // how long work may run on after its context ended
		Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil)), // where reports go; nil: slog.Default()
	})
	defer m.Close()
	ctxguard.SetDefault(m)
}

// One part of a program, or one test, can report to a Monitor of its own:
// contexts derived from ctx carry it.
func ExampleWithMonitor() {
	m := ctxguard.New(ctxguard.Config{CancelSampleRate: 1}) // track every cancel func
	defer m.Close()
	ctx := ctxguard.WithMonitor(context.Background(), m)
	_ = ctx
}
