// Command agent runs a small agent task tree under ctxguard: a planner
// starts steps, and steps call tools over HTTP on a local fake tool server.
// Two links are broken the way they often are in real agent runtimes:
//
//   - the fetch step calls its tool with context.Background() instead of
//     its ctx, so cancelling the run does not stop the call;
//   - the summarize step derives a context with a timeout and never calls
//     the cancel func.
//
// The run is cancelled (a user pressed stop) while fetch is still waiting on
// its tool. ctxguard names both sites; the command prints what it found and
// exits with status 0:
//
//	go run ./examples/agent
package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

func main() {
	if err := run(context.Background(), os.Stdout, 500*time.Millisecond); err != nil {
		fmt.Fprintln(os.Stderr, "agent:", err)
		os.Exit(1)
	}
}
