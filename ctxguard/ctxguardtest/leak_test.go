package ctxguardtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxguardtest"
	"github.com/ctxguard/ctxguard/spawn"
)

// TestInnerLeaks leaves three goroutines behind: one blocked on a channel
// only it holds (it can never return), one on a channel the test's
// Cleanup closes (it lags, and returns later), and one under a context
// that never ends, blocked on a channel only it holds (it does not lag,
// but can never return either).
func TestInnerLeaks(t *testing.T) {
	inner(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	ctx := ctxguardtest.Context(t, ctxguardtest.WithWait(100*time.Millisecond))
	spawn.Go(ctx, func(context.Context) {
		<-make(chan struct{}) // marker: never
	}, spawn.WithName("leaked worker"))
	spawn.Go(ctx, func(context.Context) {
		<-release // marker: lags
	}, spawn.WithName("lagging worker"))
	spawn.Go(context.WithoutCancel(ctx), func(context.Context) {
		<-make(chan []byte) // marker: reader
	}, spawn.WithName("session reader"))
}

// A goroutine the goroutine leak profile proves can never return fails
// the test saying so; one that only lags does not. On a Go release
// without the profile, both only lag.
func TestLeakedGoroutinesAreSaidToNeverReturn(t *testing.T) {
	out := runInner(t, "TestInnerLeaks")
	if !strings.Contains(out, "--- FAIL: TestInnerLeaks") {
		t.Fatalf("want TestInnerLeaks to fail:\n%s", out)
	}
	const never = "; 1 of them can never return (proven leaked: Go's goroutine leak profile found them blocked on a channel or lock that nothing reachable can signal)"
	failures := map[string]string{}
	for _, f := range strings.Split(out, "ctxguardtest: ")[1:] {
		name := strings.TrimPrefix(f, "1 goroutine(s) ")
		name = name[:strings.Index(name, ",")]
		failures[name] = f
	}
	proven := ctxguard.LeakProfileAvailable()
	for name, leaks := range map[string]bool{"leaked worker": proven, "lagging worker": false, "session reader": proven} {
		f, ok := failures[name]
		if !ok {
			t.Errorf("no failure for %s:\n%s", name, out)
			continue
		}
		if strings.Contains(f, never) != leaks {
			t.Errorf("the failure for %s says it can never return: %v, want %v:\n%s", name, !leaks, leaks, f)
		}
	}
	for name, m := range map[string]string{"leaked worker": "never", "lagging worker": "lags"} {
		if want := "still running 100ms after the test's context was cancelled"; !strings.Contains(failures[name], want) ||
			!strings.Contains(failures[name], "1 blocked at "+markedIn(t, "leak_test.go", m)+" (chan receive)") {
			t.Errorf("the failure for %s does not say %q and where it is blocked:\n%s", name, want, failures[name])
		}
	}
	if len(failures) != 3 {
		t.Errorf("%d failures, want 3:\n%s", len(failures), out)
	}
}

func TestInnerStopsOnCancelLeaks(t *testing.T) {
	inner(t)
	ctxguardtest.StopsOnCancel(t, func(ctx context.Context) {
		<-make(chan struct{}) // marker: stops leak
	}, 50*time.Millisecond)
}

// StopsOnCancel says so too when the function can never return.
func TestStopsOnCancelSaysWhenItCanNeverReturn(t *testing.T) {
	out := runInner(t, "TestInnerStopsOnCancelLeaks")
	if !strings.Contains(out, "--- FAIL: TestInnerStopsOnCancelLeaks") || !strings.Contains(out, "did not return within 50ms") ||
		!strings.Contains(out, "1 blocked at "+markedIn(t, "leak_test.go", "stops leak")+" (chan receive)") {
		t.Fatalf("want a failure saying where it is blocked:\n%s", out)
	}
	if said := strings.Contains(out, "1 of them can never return (proven leaked"); said != ctxguard.LeakProfileAvailable() {
		t.Errorf("the failure says it can never return: %v, want %v:\n%s", said, !said, out)
	}
}
