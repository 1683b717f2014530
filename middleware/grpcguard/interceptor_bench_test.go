package grpcguard_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/grpcguard"
)

// BenchmarkUnary measures a unary RPC over loopback, client and server in
// this process, without and with the interceptors.
func BenchmarkUnary(b *testing.B) {
	for _, c := range []struct {
		name string
		opts func(*ctxguard.Monitor) []grpc.ServerOption
	}{
		{"bare", func(*ctxguard.Monitor) []grpc.ServerOption { return nil }},
		{"guarded", guarded},
	} {
		b.Run(c.name, func(b *testing.B) {
			conn, _ := serve(b, newHealth(), c.opts(newMonitor(b))...)
			client := healthpb.NewHealthClient(conn)
			req := &healthpb.HealthCheckRequest{}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := client.Check(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInterceptor measures the interceptors alone, called directly
// with a handler that returns at once: their whole in-process cost.
func BenchmarkInterceptor(b *testing.B) {
	m := newMonitor(b)
	srv := newHealth()
	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	defer cancel()
	unaryInfo := &grpc.UnaryServerInfo{Server: srv, FullMethod: checkMethod}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	streamInfo := &grpc.StreamServerInfo{FullMethod: watchMethod, IsServerStream: true}
	streamHandler := func(any, grpc.ServerStream) error { return nil }
	var ss grpc.ServerStream = fakeStream{ctx}
	unary := grpcguard.UnaryServerInterceptor()
	unaryWithMonitor := grpcguard.UnaryServerInterceptor(grpcguard.WithMonitor(m))
	stream := grpcguard.StreamServerInterceptor()
	for _, c := range []struct {
		name string
		call func()
	}{
		{"none", func() { handler(ctx, nil) }},
		{"unary", func() { unary(ctx, nil, unaryInfo, handler) }},
		{"unary/WithMonitor", func() { unaryWithMonitor(ctx, nil, unaryInfo, handler) }},
		{"stream", func() { stream(srv, ss, streamInfo, streamHandler) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.call()
			}
		})
	}
}
