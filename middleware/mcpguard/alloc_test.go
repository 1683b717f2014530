package mcpguard_test

import (
	"context"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/mcpguard"
)

// direct returns the middleware around a handler that answers at once,
// ready to be called directly with a tool call of "quick" it has listed.
func direct(tb testing.TB, opts ...mcpguard.Option) (h mcp.MethodHandler, ctx context.Context, req *mcp.CallToolRequest) {
	tb.Helper()
	m := newMonitor(tb)
	result := &mcp.CallToolResult{}
	tools := &mcp.ListToolsResult{Tools: []*mcp.Tool{{Name: "quick"}}}
	h = mcpguard.Middleware(opts...)(func(_ context.Context, method string, _ mcp.Request) (mcp.Result, error) {
		if method == "tools/list" {
			return tools, nil
		}
		return result, nil
	})
	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	tb.Cleanup(cancel)
	req = &mcp.CallToolRequest{Params: &mcp.CallToolParamsRaw{Name: "quick"}}
	if _, err := h(ctx, "tools/call", req); err != nil {
		tb.Fatal(err)
	}
	return h, ctx, req
}

// Allocation budget per tool call, the middleware called directly: the
// scoped context, which is also the handler's record. The race detector allocates on
// its own: run without -race.
func TestMiddlewareAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	h, ctx, req := direct(t, mcpguard.WithLaggingLimit(100))
	got := testing.AllocsPerRun(1000, func() { h(ctx, "tools/call", req) })
	t.Logf("%.0f allocations per tool call", got)
	if got > 1 {
		t.Errorf("%.0f allocations per tool call, want at most 1", got)
	}
}
