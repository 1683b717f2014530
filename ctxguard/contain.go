package ctxguard

import "errors"

// Calls into user code from ctxguard's own goroutines (the loop, the
// runtime's finalizer goroutine) are contained: a panic there is recovered
// and counted in Snapshot.ContextPanics, never crashing the host, which a
// go statement would not have done either. Slog handlers and observers are
// contained where the outboxes call them.

// errCausePanicked stands for the cause of a context whose Cause panicked.
var errCausePanicked = errors.New("ctxguard: the context's Cause panicked")

// contained runs f, which calls methods of a user's context; a panic there
// is recovered and counted.
func (m *Monitor) contained(f func()) {
	defer func() {
		if recover() != nil {
			m.contextPanics.Add(1)
		}
	}()
	f()
}

// cause is Cause(ctx), contained.
func (m *Monitor) cause(ctx Context) (err error) {
	defer func() {
		if recover() != nil {
			m.contextPanics.Add(1)
			err = errCausePanicked
		}
	}()
	return Cause(ctx)
}

// errorText is err.Error(), contained, "<nil>" for nil.
func (m *Monitor) errorText(err error) (s string) {
	if err == nil {
		return "<nil>"
	}
	defer func() {
		if recover() != nil {
			m.contextPanics.Add(1)
			s = "(Error panicked)"
		}
	}()
	return truncateLabel(err.Error())
}

// ended reports whether ctx is done, contained: a context whose methods
// panic counts as not done. It asks Cause, which for package context's
// contexts takes a mutex and touches no channel, as it must for a context
// of a synctest bubble asked from a runtime cleanup goroutine (bubble.go).
func (m *Monitor) ended(ctx Context) (done bool) {
	defer func() {
		if recover() != nil {
			m.contextPanics.Add(1)
			done = false
		}
	}()
	return Cause(ctx) != nil
}
