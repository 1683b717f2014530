package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The agent run names both broken links: the step that dropped its ctx
// (with the planner waiting on it) and the dropped cancel func.
func TestAgentRunNamesBothSites(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var out bytes.Buffer
	if err := run(context.Background(), &out, 200*time.Millisecond); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	const agent = `(main|github\.com/ctxguard/ctxguard/examples/agent)\.\(\*agent\)`
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`lagging: ` + agent + `\.plan\.func2 in "agent run 42", spawned at .*agent\.go:\d+\n`),
		regexp.MustCompile(`lagging: planner in "agent run 42", spawned at .*run\.go:\d+\n`),
		regexp.MustCompile(`dropped cancel func: 1, created at .*agent\.go:\d+ \(` + agent + `\.summarize\)\n`),
		regexp.MustCompile(`cause of the run's end: user pressed stop\n`),
		regexp.MustCompile(`nothing is left running\n$`),
	} {
		if !want.MatchString(out.String()) {
			t.Errorf("output lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out.String())
	}
}
