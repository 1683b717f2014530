package ctxguardtest_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxguardtest"
	"github.com/ctxguard/ctxguard/spawn"
)

func TestInnerGoroutines(t *testing.T) {
	inner(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	t.Run("leaky", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(ctxguardtest.Goroutines(t, ctxguardtest.WithWait(100*time.Millisecond)))
		defer cancel()
		spawn.Go(ctx, func(context.Context) {
			<-release // marker: goroutines leak
		}, spawn.WithName("leaky worker"))
	})
	t.Run("clean", func(t *testing.T) {
		t.Parallel()
		ctx := ctxguardtest.Goroutines(t, ctxguardtest.WithWait(10*time.Second))
		for range 10 {
			spawn.Go(ctx, func(ctx context.Context) { <-ctx.Done() })
		}
		_, _ = ctxguard.WithCancel(ctx) //ctxvet:ignore lostcancel Goroutines does not look for dropped cancels
		spawn.Go(context.Background(), func(context.Context) { <-release })
	})
}

// Goroutines fails exactly the test a goroutine under its context (or one
// derived from it) outlives, and does not look at cancel funcs.
func TestGoroutinesJudgesEachTest(t *testing.T) {
	out := runInner(t, "TestInnerGoroutines")
	if !strings.Contains(out, "--- FAIL: TestInnerGoroutines/leaky") || !strings.Contains(out, "--- PASS: TestInnerGoroutines/clean") {
		t.Fatalf("want leaky to fail and clean to pass:\n%s", out)
	}
	for _, want := range []string{
		"still running 100ms after the test's context was cancelled",
		"1 blocked at github.com/ctxguard/ctxguard/ctxguard/ctxguardtest/goroutines_test.go:" + leakLine(t) + " (chan receive)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "ctxguardtest: "); n != 1 {
		t.Errorf("%d failures, want 1:\n%s", n, out)
	}
}

// Goroutines returns one context per test, ended with the test's.
func TestGoroutinesIsOnePerTest(t *testing.T) {
	var sub context.Context
	t.Run("sub", func(t *testing.T) {
		sub = ctxguardtest.Goroutines(t)
		if again := ctxguardtest.Goroutines(t); again != sub {
			t.Errorf("second call returned another context")
		}
		if sub.Err() != nil {
			t.Errorf("Err = %v while the test runs", sub.Err())
		}
		if ctxguard.MonitorFrom(sub) == ctxguard.Default() {
			t.Errorf("the context carries the default Monitor")
		}
	})
	if sub.Err() != context.Canceled {
		t.Errorf("Err = %v after the test, want %v", sub.Err(), context.Canceled)
	}
	if ctxguardtest.Goroutines(t) == sub {
		t.Errorf("the parent got its subtest's context")
	}
	t.Run("nil option", func(t *testing.T) {
		defer func() {
			if v, _ := recover().(string); !strings.HasPrefix(v, "ctxguardtest: ") {
				t.Errorf("Goroutines(t, nil) panicked with %q", v)
			}
		}()
		ctxguardtest.Goroutines(t, nil)
	})
}

// leakLine returns the line of this file marked as the leak's.
func leakLine(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("goroutines_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(src), "\n") {
		if strings.HasSuffix(l, "// marker: goroutines leak") {
			return strconv.Itoa(i + 1)
		}
	}
	t.Fatal("no marked line")
	return ""
}
