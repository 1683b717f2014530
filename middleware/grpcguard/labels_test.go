package grpcguard_test

import (
	"context"
	"runtime/pprof"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/ctxguard/ctxguard/middleware/grpcguard"
)

// profileLabels is an interceptor that runs each handler with pprof labels
// naming its method, as profiling setups do so that CPU profiles group by
// RPC.
func profileLabels(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	pprof.Do(ctx, pprof.Labels("rpc", info.FullMethod), func(ctx context.Context) {
		resp, err = handler(ctx, req)
	})
	return resp, err
}

// A handler that runs with profiler labels of its own (pprof.Do, in an
// interceptor after grpcguard's) is still reported where it is blocked
// when it lags.
func TestLaggingHandlerWithProfileLabelsIsFoundBlocked(t *testing.T) {
	const n = 3
	m := newMonitor(t)
	h := newHealth()
	defer close(h.release)
	conn, _ := serve(t, h, grpc.ChainUnaryInterceptor(grpcguard.UnaryServerInterceptor(grpcguard.WithMonitor(m)), profileLabels))
	for range n {
		if _, err := check(conn, ignoreCtx, timeout); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("Check error = %v, want code DeadlineExceeded", err)
		}
	}
	waitFor(t, "every Check handler lags, blocked at a known place", func() bool {
		e := entry(m.Snapshot(), checkMethod, checkMethod)
		known := e.BlockedAtOmitted
		for _, b := range e.BlockedAt {
			known += b.Count
		}
		return e.Lagging == n && known == n
	})
	e := entry(m.Snapshot(), checkMethod, checkMethod)
	if len(e.BlockedAt) != 1 || e.BlockedAt[0].Site.Function != "github.com/ctxguard/ctxguard/middleware/grpcguard_test.(*health).behave" || e.BlockedAt[0].Reason != "chan receive" {
		t.Errorf("blocked at %+v, want one place, in behave (chan receive)", e.BlockedAt)
	}
}
