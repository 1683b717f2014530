package mcpguard_test

import (
	"context"
	"testing"

	"github.com/ctxguard/ctxguard/middleware/mcpguard"
)

// BenchmarkMiddleware measures the middleware alone, called directly with
// a handler that answers at once: its whole in-process cost per tool call.
func BenchmarkMiddleware(b *testing.B) {
	h, ctx, req := direct(b)
	b.Run("none", func(b *testing.B) {
		next := func(context.Context, string, any) {}
		b.ReportAllocs()
		for b.Loop() {
			next(ctx, "tools/call", req)
		}
	})
	b.Run("guarded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h(ctx, "tools/call", req)
		}
	})
	hl, ctx, req := direct(b, mcpguard.WithLaggingLimit(100))
	b.Run("WithLaggingLimit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hl(ctx, "tools/call", req)
		}
	})
}

// BenchmarkInMemoryCall measures a tool call over the SDK's in-memory
// transport, client and server in this process, without and with the
// middleware.
func BenchmarkInMemoryCall(b *testing.B) {
	for _, c := range []struct {
		name    string
		guarded bool
	}{{"bare", false}, {"guarded", true}} {
		b.Run(c.name, func(b *testing.B) {
			ts := newTools()
			defer ts.free()
			s := newBareServer(ts)
			if c.guarded {
				s.AddReceivingMiddleware(mcpguard.Middleware(mcpguard.WithMonitor(newMonitor(b))))
			}
			cs := connectInMemory(b, s)
			ctx := context.Background()
			params := callParams("quick")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cs.CallTool(ctx, params); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
