package grpcguard

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// HealthInterval is how often WatchHealth reads the Monitor.
const HealthInterval = time.Second

// WatchHealth drives hs, a gRPC health server, from m (nil: ctxguard.
// Default() at each reading) by the rule of httpguard.HealthHandler: the
// overall status (service "") is NOT_SERVING while m's goroutines lagging
// now number maxLagging or more, or while a method has been turning RPCs
// away (WithLaggingLimit) for longer than ctxguard.ShedTolerance, and
// SERVING otherwise. Load balancers and Kubernetes gRPC probes that watch
// the standard health service then take the instance out of rotation until
// its stuck work returns; use it for readiness, not liveness.
//
// It reads m every HealthInterval, with one Monitor.Health, setting the
// status each time, and returns ctx's error when ctx ends, leaving the
// status it set last (it sets it once, at its first reading, if ctx has
// already ended). Run it in a goroutine of its own:
//
//	go grpcguard.WatchHealth(ctx, m, hs, 50)
//
// It panics if hs is nil or maxLagging is not positive.
func WatchHealth(ctx context.Context, m *ctxguard.Monitor, hs *health.Server, maxLagging int) error {
	if hs == nil {
		panic("grpcguard: WatchHealth called with a nil *health.Server")
	}
	if maxLagging <= 0 {
		panic(fmt.Sprintf("grpcguard: WatchHealth needs a positive maxLagging, got %d", maxLagging))
	}
	tick := time.NewTicker(HealthInterval)
	defer tick.Stop()
	for {
		mon := m
		if mon == nil {
			mon = ctxguard.Default()
		}
		status := healthpb.HealthCheckResponse_SERVING
		if !mon.Health(maxLagging).Healthy {
			status = healthpb.HealthCheckResponse_NOT_SERVING
		}
		hs.SetServingStatus("", status)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
