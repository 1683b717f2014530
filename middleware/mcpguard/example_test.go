package mcpguard_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/mcpguard"
)

// A tool still running Grace after its client gave up on the call is
// lagging, under the scope "tools/call NAME", with where it is blocked.
func ExampleMiddleware() {
	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()

	server := mcp.NewServer(&mcp.Implementation{Name: "crawler", Version: "v1"}, nil)
	server.AddReceivingMiddleware(mcpguard.Middleware(mcpguard.WithMonitor(m), mcpguard.WithLaggingLimit(8)))
	release := make(chan struct{})
	server.AddTool(&mcp.Tool{Name: "crawl", InputSchema: map[string]any{"type": "object"}},
		func(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			<-release // never looks at ctx.Done()
			return &mcp.CallToolResult{}, nil
		})

	st, ct := mcp.NewInMemoryTransports()
	ss, err := server.Connect(context.Background(), st, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ss.Close()
	client := mcp.NewClient(&mcp.Implementation{Name: "agent", Version: "v1"}, nil)
	cs, err := client.Connect(context.Background(), ct, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer cs.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond) // the user stops the agent
	_, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "crawl", Arguments: map[string]any{}})
	cancel()
	fmt.Println("client:", err)

	for {
		if g := m.Snapshot().Goroutines; len(g) > 0 && len(g[0].BlockedAt) > 0 {
			fmt.Println("lagging:", g[0].Lagging, g[0].Scope, "blocked in", g[0].BlockedAt[0].Reason)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	// Output:
	// client: context deadline exceeded
	// lagging: 1 tools/call crawl blocked in chan receive
}
