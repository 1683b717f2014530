package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"go.uber.org/goleak"
)

// The demo, run as the README runs it but with a short grace: it must find
// exactly the leaks it plants and nothing on the good route.
func TestDemoFindsThePlantedLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	o, err := parseFlags([]string{"-grace", "1s", "-timeout", "1s", "-requests", "10"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	const app = `(main|github\.com/ctxguard/ctxguard/examples/leakdemo)\.\(\*app\)` // as built by go run, or by go test
	const file = `github\.com/ctxguard/ctxguard/examples/leakdemo/server\.go`       // the same either way
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`GET /slow +10 timed out +10 +10\n`),
		regexp.MustCompile(`GET /drop +10 answered +0 +0\n`),
		regexp.MustCompile(`GET /good +10 timed out +0 +0\n`),
		regexp.MustCompile(`10 lagging in "GET /slow": goroutine ` + app + `\.slow\.func1\n +spawned at ` + file + `:\d+\n` +
			` +10 blocked at ` + file + `:\d+ \(select\)\n` +
			` +still running [\d.]+s after its request context ended; cause: context canceled`),
		regexp.MustCompile(`dropped cancel funcs \(collected uncalled while their context was live\): 10\n +10 created at ` + file + `:\d+ \(` + app + `\.drop\)`),
		regexp.MustCompile(`ctxguard_goroutines_lagging\{name="` + app + `\.slow\.func1",scope="GET /slow"\} 10`),
		regexp.MustCompile(`ctxguard_cancels_dropped_total\{site="` + file + `:\d+"\} 10`),
		regexp.MustCompile(`goroutines: \d+ before the requests, \d+ with the leaks, \d+ once the leaked ones were released`),
		regexp.MustCompile(`msg="ctxguard: goroutines still running after their context ended" .* count=\d+ total=\d+`),
		regexp.MustCompile(`msg="ctxguard: where lagging goroutines are blocked" .* blocked_at="\[(main|leakdemo)\.\(\*app\)\.slow\.func1 at ` + file + `:\d+ \(select\) x\d+\]"`),
		regexp.MustCompile(`msg="ctxguard: lagging goroutines returned" .* total=10`),
	} {
		if !want.MatchString(got) {
			t.Errorf("output lacks %s", want)
		}
	}
	if regexp.MustCompile(`lagg(ing|ed_total)\{[^}]*GET /good`).MatchString(got) {
		t.Error("the good route is reported lagging")
	}
	if t.Failed() {
		t.Logf("output:\n%s", got)
	}
}

// With -limit, the second wave of requests to the leaky route is turned
// away, and the leak stops growing.
func TestDemoShedsWithALimit(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	o, err := parseFlags([]string{"-grace", "1s", "-timeout", "1s", "-requests", "10", "-limit", "3"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), o, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`GET /slow +5 timed out, 5 turned away \(503\) +5 +5\n`),
		regexp.MustCompile(`ctxguard_requests_shed_total\{scope="GET /slow"\} 5`),
		regexp.MustCompile(`msg="ctxguard: route turning requests away`),
	} {
		if !want.MatchString(got) {
			t.Errorf("output lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", got)
	}
}

func TestFlagsAreChecked(t *testing.T) {
	for _, args := range [][]string{{"-grace", "0s"}, {"-requests", "-1"}, {"-timeout", "0s"}, {"-limit", "-1"}, {"-nope"}} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}
