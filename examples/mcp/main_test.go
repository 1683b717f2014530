package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// The crawl calls the client gave up on are reported lagging under
// "tools/call crawl", blocked on crawl's receive, with the cause; once
// limit of them lag the rest are turned away with a tool error, the
// clock answers every call, and crawl answers again once they returned.
func TestCrawlLagsAndIsTurnedAway(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	got := out.String()
	line := 0
	src, err := os.ReadFile("tools.go")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(src), "\n") {
		if strings.Contains(l, "<-t.release") {
			line = i + 1
		}
	}
	// The Monitor's log records come from its own goroutine, interleaved.
	var logs, prints strings.Builder
	for _, l := range strings.SplitAfter(got, "\n") {
		if strings.HasPrefix(l, "level=") {
			logs.WriteString(l)
		} else {
			prints.WriteString(l)
		}
	}
	turnedAway := `tool error: ctxguard: 3 calls of tool "crawl" are still running after they were cancelled \(limit 3\); ` +
		`this call was not run: try again in \d+ s, or do without this tool\n`
	want := `^client: crawl #1: gave up after 100ms\nclient: crawl #2: gave up after 100ms\nclient: crawl #3: gave up after 100ms\n` +
		`client: crawl #4: ` + turnedAway + `client: crawl #5: ` + turnedAway + `client: crawl #6: ` + turnedAway +
		`client: clock answered every call\n` +
		`ctxguard: 3 lagging under "tools/call crawl"\nctxguard:   3 blocked at tools.go:` + fmt.Sprint(line) + ` \(chan receive\)\n` +
		`ctxguard: scope "tools/call crawl": 3 lagging, 3 calls turned away\n` +
		`client: once the stuck calls returned, crawl answers: crawled\n$`
	if !regexp.MustCompile(want).MatchString(prints.String()) {
		t.Errorf("output, log records left out:\n%s\nwant it to match\n%s", prints.String(), want)
	}
	for _, want := range []string{
		`level=WARN msg="ctxguard: goroutines still running after their context ended" .*scope="tools/call crawl" .*cause="context canceled"`,
		`level=WARN msg="ctxguard: requests turned away" scope="tools/call crawl"`,
	} {
		if !regexp.MustCompile(want).MatchString(logs.String()) {
			t.Errorf("output lacks %s:\n%s", want, got)
		}
	}
}
