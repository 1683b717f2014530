package main

import (
	"context"

	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/ctxguard/ctxguard/spawn"
)

// health is the service: Check starts a worker that never looks at its
// context, and waits for it or for the RPC to end.
type health struct {
	healthpb.UnimplementedHealthServer
	release chan struct{}
}

func (h *health) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	done := make(chan struct{})
	spawn.Go(ctx, func(ctx context.Context) {
		<-h.release // stands for a slow dependency called without ctx
		close(done)
	}, spawn.WithName("health.probeDependencies"))
	select {
	case <-done:
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// serverSpans starts a span per RPC, standing for the server
// instrumentation a service would use (such as otelgrpc).
func serverSpans(tracer trace.Tracer) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, span := tracer.Start(ctx, info.FullMethod, trace.WithSpanKind(trace.SpanKindServer))
		defer span.End()
		return handler(ctx, req)
	}
}
