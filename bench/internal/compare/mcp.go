package compare

import (
	"context"
	"fmt"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard/bench/internal/probe"
	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/mcpguard"
)

// echo is the tool of the MCP comparisons: it answers at once.
func echo(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ok"}}}, nil
}

// MCPInMemory returns a benchmark of tool calls over the go-sdk's
// in-memory transport, client and server in this process, to a server with
// (guarded) or without the mcpguard middleware.
func MCPInMemory(guarded bool) func(b *testing.B) {
	return func(b *testing.B) {
		server := mcp.NewServer(&mcp.Implementation{Name: "bench", Version: "v0"}, nil)
		server.AddTool(&mcp.Tool{Name: "echo", InputSchema: map[string]any{"type": "object"}}, echo)
		if guarded {
			m := ctxguard.New(ctxguard.Config{})
			defer m.Close()
			server.AddReceivingMiddleware(mcpguard.Middleware(mcpguard.WithMonitor(m)))
		}
		st, ct := mcp.NewInMemoryTransports()
		ctx := context.Background()
		ss, err := server.Connect(ctx, st, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer ss.Close()
		cs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "v0"}, nil).Connect(ctx, ct, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer cs.Close()
		params := &mcp.CallToolParams{Name: "echo", Arguments: map[string]any{}}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := cs.CallTool(ctx, params); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// MCPInProcess returns a benchmark of the middleware called directly with
// a tool call, around a handler that answers at once (guarded), or the
// handler alone.
func MCPInProcess(guarded bool) func(b *testing.B) {
	return func(b *testing.B) {
		m := ctxguard.New(ctxguard.Config{})
		defer m.Close()
		ctx := ctxguard.WithMonitor(context.Background(), m)
		result := &mcp.CallToolResult{}
		tools := &mcp.ListToolsResult{Tools: []*mcp.Tool{{Name: "echo"}}}
		handler := func(_ context.Context, method string, _ mcp.Request) (mcp.Result, error) {
			if method == "tools/list" {
				return tools, nil
			}
			return result, nil
		}
		h := mcp.MethodHandler(handler)
		if guarded {
			h = mcpguard.Middleware()(handler)
		}
		req := &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "echo"}}
		b.ReportAllocs()
		for b.Loop() {
			h(ctx, "tools/call", req)
		}
	}
}

// MCPGroup compares the MCP server middleware with none.
func MCPGroup() Group {
	return Group{
		Title: "MCP middleware",
		About: "A go-sdk MCP server with one tool that answers at once, with and without mcpguard's middleware. " +
			"\"in-memory\" is a whole tool call from a client over the SDK's in-memory transport; \"in-process\" " +
			"calls the middleware directly. The goal is on the last row: what the middleware adds in-process, as a " +
			"share of a bare in-memory tool call.",
		Comparisons: []Comparison{
			{Name: "MCP/in-memory", Op: "mcpguard.Middleware vs none, tool call over the in-memory transport",
				Ours: Side{"mcpguard.Middleware", MCPInMemory(true)}, Theirs: Side{"no middleware", MCPInMemory(false)}},
			{Name: "MCP/in-process", Op: "mcpguard.Middleware around a handler vs the handler, in-process",
				Ours: Side{"mcpguard.Middleware", MCPInProcess(true)}, Theirs: Side{"handler", MCPInProcess(false)}},
		},
		Derive: func(r map[string][2]probe.Result) []Row {
			in, call := r["MCP/in-process"], r["MCP/in-memory"]
			added := in[0].NsPerOp - in[1].NsPerOp
			goal := &Goal{"<1% of an in-memory tool call", func(o, t float64) bool { return o < 0.01*t }}
			return []Row{{
				Op:     "mcpguard added cost in-process (guarded − bare) vs a bare in-memory tool call",
				Ours:   formatNs(added),
				Theirs: formatNs(call[1].NsPerOp),
				Ratio:  fmt.Sprintf("%.2f%%", 100*added/call[1].NsPerOp),
				Goal:   goal.judge(added, call[1].NsPerOp),
			}}
		},
	}
}
