package ctxguardtest_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxguardtest"
	"github.com/ctxguard/ctxguard/spawn"
)

// The tests that must fail run in a child process: the test binary again,
// with innerEnv set, running only them. Outside a child they skip.
const innerEnv = "CTXGUARDTEST_INNER"

func inner(t *testing.T) {
	if os.Getenv(innerEnv) == "" {
		t.Skip("runs in a child process of the test that checks its outcome")
	}
}

// runInner runs the inner test named name in a child process and returns
// its verbose output.
func runInner(t *testing.T, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+name+"$", "-test.v")
	cmd.Env = append(os.Environ(), innerEnv+"=1")
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// marked returns "file:line" of the line of this file ending in
// "// marker: " + m, as ctxguard names sites.
func marked(t *testing.T, m string) string {
	t.Helper()
	return markedIn(t, "ctxguardtest_test.go", m)
}

// markedIn is marked for another file of this package.
func markedIn(t *testing.T, file, m string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if strings.HasSuffix(sc.Text(), "// marker: "+m) {
			return "github.com/ctxguard/ctxguard/ctxguard/ctxguardtest/" + file + ":" + strconv.Itoa(n)
		}
	}
	t.Fatalf("no line of %s marked %q", file, m)
	return ""
}

// TestInnerParallel has two parallel subtests: one leaves a goroutine
// behind, the other does not.
func TestInnerParallel(t *testing.T) {
	inner(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	t.Run("leaky", func(t *testing.T) {
		t.Parallel()
		ctx := ctxguardtest.Context(t, ctxguardtest.WithWait(100*time.Millisecond))
		spawn.Go(ctx, func(context.Context) {
			<-release // marker: leak
		}, spawn.WithName("leaky worker"))
	})
	t.Run("clean", func(t *testing.T) {
		t.Parallel()
		// Its goroutines return at once; the wait only has to allow for
		// a busy machine.
		ctx := ctxguardtest.Context(t, ctxguardtest.WithWait(10*time.Second))
		for range 10 {
			spawn.Go(ctx, func(ctx context.Context) { <-ctx.Done() })
		}
		spawn.Go(context.Background(), func(context.Context) { <-release }) // not the test's: not its to judge
	})
}

// Of two parallel tests, exactly the leaky one fails, and says which
// goroutine did not stop and where it is blocked.
func TestParallelTestsAreJudgedSeparately(t *testing.T) {
	out := runInner(t, "TestInnerParallel")
	if !strings.Contains(out, "--- FAIL: TestInnerParallel/leaky") || !strings.Contains(out, "--- PASS: TestInnerParallel/clean") {
		t.Fatalf("want leaky to fail and clean to pass:\n%s", out)
	}
	for _, want := range []string{
		"ctxguardtest: 1 goroutine(s) leaky worker, spawned at " + marked(t, "leak")[:strings.LastIndexByte(marked(t, "leak"), ':')],
		"still running 100ms after the test's context was cancelled",
		"1 blocked at " + marked(t, "leak") + " (chan receive)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestInnerDroppedCancel(t *testing.T) {
	inner(t)
	ctx := ctxguardtest.Context(t)
	_, _ = ctxguard.WithTimeout(ctx, time.Hour) //ctxvet:ignore lostcancel the drop this test checks // marker: drop
}

// A cancel func created under the test's context and never called fails
// the test, at the line that created it.
func TestDroppedCancelsFailTheTest(t *testing.T) {
	out := runInner(t, "TestInnerDroppedCancel")
	want := "ctxguardtest: 1 cancel func(s) created at " + marked(t, "drop")
	if !strings.Contains(out, "--- FAIL: TestInnerDroppedCancel") || !strings.Contains(out, want) {
		t.Fatalf("want a failure with %q:\n%s", want, out)
	}
}

func TestInnerStopsOnCancel(t *testing.T) {
	inner(t)
	ctxguardtest.StopsOnCancel(t, func(ctx context.Context) {
		time.Sleep(time.Hour) // marker: sleep
	}, 50*time.Millisecond)
}

// StopsOnCancel fails on a function that sleeps through its cancel, saying
// on which line, and returns without waiting for it.
func TestStopsOnCancelFailsOnASleeper(t *testing.T) {
	start := time.Now()
	out := runInner(t, "TestInnerStopsOnCancel")
	want := "1 blocked at " + marked(t, "sleep") + " (sleep)"
	if !strings.Contains(out, "--- FAIL: TestInnerStopsOnCancel") || !strings.Contains(out, "did not return within 50ms") ||
		!strings.Contains(out, want) {
		t.Fatalf("want a failure with %q:\n%s", want, out)
	}
	t.Logf("the child ran %v", time.Since(start).Round(time.Millisecond))
}

func TestInnerStopsOnCancelChild(t *testing.T) {
	inner(t)
	ctxguardtest.StopsOnCancel(t, func(ctx context.Context) {
		spawn.Go(ctx, func(context.Context) {
			time.Sleep(time.Hour) // marker: child
		}, spawn.WithName("worker loop"))
	}, 50*time.Millisecond)
}

// StopsOnCancel judges the goroutines fn spawns under its context too: a
// function that starts its loop with spawn.Go and returns at once does
// not stop on cancel if the loop does not.
func TestStopsOnCancelFailsOnASpawnedSleeper(t *testing.T) {
	out := runInner(t, "TestInnerStopsOnCancelChild")
	want := "1 blocked at " + marked(t, "child") + " (sleep)"
	if !strings.Contains(out, "--- FAIL: TestInnerStopsOnCancelChild") || !strings.Contains(out, "worker loop") ||
		!strings.Contains(out, want) {
		t.Fatalf("want a failure naming the worker loop with %q:\n%s", want, out)
	}
}

// StopsOnCancel passes a function that returns on cancel.
func TestStopsOnCancelPassesAGoodFunction(t *testing.T) {
	ctxguardtest.StopsOnCancel(t, func(ctx context.Context) {
		select {
		case <-ctx.Done():
		case <-time.After(time.Hour):
		}
	}, 10*time.Second) // it returns at once: generous for a busy machine
}

// The checks pass a test whose goroutines stop and whose cancel funcs are
// called, under spawn.Group too.
func TestContextPassesCleanCode(t *testing.T) {
	ctx := ctxguardtest.Context(t, ctxguardtest.WithWait(10*time.Second))
	g, gctx := spawn.WithContext(ctx)
	for range 5 {
		g.Go(func() error { <-gctx.Done(); return nil })
	}
	child, cancel := ctxguard.WithCancel(ctx)
	defer cancel()
	spawn.Go(child, func(ctx context.Context) { <-ctx.Done() })
	go func() { time.Sleep(10 * time.Millisecond); g.Go(func() error { return context.Canceled }) }()
	if err := g.Wait(); err != context.Canceled {
		t.Errorf("Wait = %v", err)
	}
}

func TestMisusePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"WithWait(0)":              func() { ctxguardtest.WithWait(0) },
		"StopsOnCancel(t, nil, 1)": func() { ctxguardtest.StopsOnCancel(t, nil, 1) },
		"StopsOnCancel(t, fn, 0)":  func() { ctxguardtest.StopsOnCancel(t, func(context.Context) {}, 0) },
		"Context(t, nil)":          func() { ctxguardtest.Context(t, nil) },
	} {
		func() {
			defer func() {
				if v, _ := recover().(string); !strings.HasPrefix(v, "ctxguardtest: ") {
					t.Errorf("%s panicked with %q, want a ctxguardtest message", name, v)
				}
			}()
			f()
		}()
	}
}
