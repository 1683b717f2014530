package grpcguard_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/grpcguard"
)

// Allocation budget per RPC, the interceptors called directly: the scoped
// context, which is also the handler's record; a stream also gets its
// wrapper. The race detector allocates on its own: run without -race.
func TestInterceptorAllocationBudget(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m := newMonitor(t)
	srv := newHealth()
	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	defer cancel()
	unaryInfo := &grpc.UnaryServerInfo{Server: srv, FullMethod: checkMethod}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	streamInfo := &grpc.StreamServerInfo{FullMethod: watchMethod, IsServerStream: true}
	streamHandler := func(any, grpc.ServerStream) error { return nil }
	var ss grpc.ServerStream = fakeStream{ctx}
	unary := grpcguard.UnaryServerInterceptor(grpcguard.WithLaggingLimit(100))
	stream := grpcguard.StreamServerInterceptor(grpcguard.WithLaggingLimit(100))
	for _, c := range []struct {
		name   string
		call   func()
		budget float64
	}{
		{"unary", func() { unary(ctx, nil, unaryInfo, handler) }, 1},
		{"stream", func() { stream(srv, ss, streamInfo, streamHandler) }, 2},
	} {
		got := testing.AllocsPerRun(1000, c.call)
		t.Logf("%s: %.0f allocations per RPC", c.name, got)
		if got > c.budget {
			t.Errorf("%s: %.0f allocations per RPC, want at most %.0f", c.name, got, c.budget)
		}
	}
}
