package grpcguard_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/grpcguard"
)

// scope returns the Snapshot's statistics of the named scope.
func scope(s ctxguard.Snapshot, name string) ctxguard.ScopeStats {
	for _, sc := range s.Scopes {
		if sc.Scope == name {
			return sc
		}
	}
	return ctxguard.ScopeStats{}
}

// The incident over gRPC: Check ignores its context and RPCs time out
// after 50 ms, one every 50 ms. With a lagging limit of 5 the method turns
// RPCs away with Unavailable until its stuck work returns, Watch is served
// throughout, and a health server driven by WatchHealth goes NOT_SERVING,
// then SERVING again.
func TestLaggingLimitStopsThePileUpOverGRPC(t *testing.T) {
	const (
		limit = 5
		rpcs  = 60
		every = 50 * time.Millisecond
	)
	m := newMonitor(t)
	h := newHealth()
	conn, _ := serve(t, h,
		grpc.ChainUnaryInterceptor(grpcguard.UnaryServerInterceptor(grpcguard.WithMonitor(m), grpcguard.WithLaggingLimit(limit))),
		grpc.ChainStreamInterceptor(grpcguard.StreamServerInterceptor(grpcguard.WithMonitor(m), grpcguard.WithLaggingLimit(limit))))

	hs := grpchealth.NewServer()
	healthConn, _ := serve(t, hs)
	ctx, stopWatching := context.WithCancel(context.Background())
	watched := make(chan error, 1)
	go func() { watched <- grpcguard.WatchHealth(ctx, m, hs, limit) }()
	defer func() {
		stopWatching()
		if err := <-watched; err != context.Canceled {
			t.Errorf("WatchHealth = %v, want context.Canceled", err)
		}
	}()
	serving := func() healthpb.HealthCheckResponse_ServingStatus {
		resp, err := healthpb.NewHealthClient(healthConn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Status
	}

	shed := 0
	for i := range rpcs {
		_, err := check(conn, ignoreCtx, every)
		switch status.Code(err) {
		case codes.DeadlineExceeded:
		case codes.Unavailable:
			if !strings.Contains(status.Convert(err).Message(), "still running after they ended") {
				t.Fatalf("RPC %d: %v, want a message that says why", i, err)
			}
			shed++
		default:
			t.Fatalf("RPC %d: %v", i, err)
		}
		if got, _, _, err := watch(conn, succeed, time.Minute); err != nil || len(got) == 0 {
			t.Fatalf("Watch, interleaved: %v, %v; want it served", got, err)
		}
		time.Sleep(every / 2)
	}
	s := m.Snapshot()
	// About limit + (grace+250ms)/every are admitted (those that came in
	// within a grace and a scan of the first lag); at most the 20 that 40
	// shed leave, so that a late scan on a busy machine is no failure. An
	// RPC turned away slower than its deadline counts as DeadlineExceeded
	// here: the shed count is the server's.
	const bound = rpcs - 40
	seen := shed
	shed = int(scope(s, "/grpc.health.v1.Health/Check").Shed)
	t.Logf("lagging %d (bound %d), %d of %d turned away (%d seen by the client)", s.Lagging, bound, shed, rpcs, seen)
	if seen > shed {
		t.Errorf("the client saw %d RPCs turned away, the server counts %d", seen, shed)
	}
	if s.Lagging > bound || shed < 40 {
		t.Errorf("lagging %d, %d turned away; want at most %d and at least 40", s.Lagging, shed, bound)
	}
	waitFor(t, "the health server says NOT_SERVING", func() bool { return serving() == healthpb.HealthCheckResponse_NOT_SERVING })

	close(h.release)
	waitFor(t, "the stuck work returns", func() bool { return m.Snapshot().Lagging == 0 })
	waitFor(t, "the health server says SERVING", func() bool { return serving() == healthpb.HealthCheckResponse_SERVING })
	if _, err := check(conn, succeed, time.Minute); err != nil {
		t.Errorf("Check after release: %v, want it served", err)
	}
}
