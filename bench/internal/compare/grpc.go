package compare

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/grpcguard"
)

// health answers Check at once: the service of the gRPC comparisons.
type health struct {
	healthpb.UnimplementedHealthServer
}

func (health) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// GRPCLoopback returns a benchmark of unary Check calls over 127.0.0.1 to a
// server with (guarded) or without the grpcguard interceptor.
func GRPCLoopback(guarded bool) func(b *testing.B) {
	return func(b *testing.B) {
		var opts []grpc.ServerOption
		if guarded {
			m := ctxguard.New(ctxguard.Config{})
			defer m.Close()
			opts = append(opts, grpc.ChainUnaryInterceptor(grpcguard.UnaryServerInterceptor(grpcguard.WithMonitor(m))))
		}
		srv := grpc.NewServer(opts...)
		healthpb.RegisterHealthServer(srv, health{})
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		go srv.Serve(lis)
		defer srv.Stop()
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close()
		client := healthpb.NewHealthClient(conn)
		ctx := context.Background()
		req := &healthpb.HealthCheckRequest{}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := client.Check(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// GRPCInProcess returns a benchmark of the unary interceptor called
// directly around a trivial handler (guarded), or the handler alone.
func GRPCInProcess(guarded bool) func(b *testing.B) {
	return func(b *testing.B) {
		m := ctxguard.New(ctxguard.Config{})
		defer m.Close()
		ctx := ctxguard.WithMonitor(context.Background(), m)
		info := &grpc.UnaryServerInfo{Server: health{}, FullMethod: "/grpc.health.v1.Health/Check"}
		handler := func(ctx context.Context, req any) (any, error) { return req, nil }
		intercept := grpcguard.UnaryServerInterceptor()
		b.ReportAllocs()
		for b.Loop() {
			if guarded {
				intercept(ctx, nil, info, handler)
			} else {
				handler(ctx, nil)
			}
		}
	}
}
