package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"
)

// The lagging worker's span is linked to the span of the request that
// started it.
func TestLaggingSpanIsLinkedToTheRequest(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, 100*time.Millisecond); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	request := regexp.MustCompile(`/grpc\.health\.v1\.Health/Check  trace (\w+) span (\w+)\n`).FindStringSubmatch(got)
	if request == nil {
		t.Fatalf("no request span in:\n%s", got)
	}
	lagging := regexp.MustCompile(`ctxguard\.lagging  trace (\w+) span \w+\n    linked to trace (\w+) span (\w+)\n` +
		`    ctxguard\.goroutine\.name = health\.probeDependencies\n    ctxguard\.scope = /grpc\.health\.v1\.Health/Check\n` +
		`    ctxguard\.cause = context (?:canceled|deadline exceeded)\n`).FindStringSubmatch(got) // the client's cancel or the deadline gRPC propagated, whichever the server saw first
	if lagging == nil {
		t.Fatalf("no lagging span in:\n%s", got)
	}
	if lagging[1] == request[1] || lagging[2] != request[1] || lagging[3] != request[2] {
		t.Errorf("lagging span in trace %s linked to %s/%s; want its own trace, linked to the request %s/%s",
			lagging[1], lagging[2], lagging[3], request[1], request[2])
	}
	if !regexp.MustCompile(`client: Check returned DeadlineExceeded`).MatchString(got) {
		t.Errorf("client outcome missing:\n%s", got)
	}
}
