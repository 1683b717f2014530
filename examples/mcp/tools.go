package main

import (
	"context"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// tools are the server's tools.
type tools struct {
	release chan struct{} // closed when the crawl's slow site finally answers
}

var object = map[string]any{"type": "object"}

func (t *tools) register(s *mcp.Server) {
	s.AddTool(&mcp.Tool{Name: "crawl", Description: "fetch every page of a site", InputSchema: object}, t.crawl)
	s.AddTool(&mcp.Tool{Name: "clock", Description: "the time", InputSchema: object}, clock)
}

// crawl waits for a slow site without looking at its context: once the
// client has given up, it goes on holding its memory and connections.
func (t *tools) crawl(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	<-t.release // the fetch: no ctx.Done() case
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "crawled"}}}, nil
}

func clock(ctx context.Context, _ *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: time.Now().UTC().Format(time.RFC3339)}}}, nil
}
