// Command mcp runs a Model Context Protocol server and an agent-like
// client on loopback (the go-sdk's streamable HTTP handler), with the
// mcpguard middleware. The server's crawl tool ignores its context; the
// client gives up on each call after 100 ms, as an agent does when its
// user stops it. The command prints what the client saw, what ctxguard
// reports (the tool's scope, where its handlers are blocked, the cause),
// and how the lagging limit turns further calls of crawl away while the
// other tool keeps answering.
//
//	go run ./examples/mcp
package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mcp:", err)
		os.Exit(1)
	}
}
