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

func streamProfileLabels(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	pprof.Do(ss.Context(), pprof.Labels("rpc", info.FullMethod), func(context.Context) {
		err = handler(srv, ss)
	})
	return err
}

// A handler that runs with profiler labels of its own (pprof.Do, in an
// interceptor after grpcguard's) is still reported where it is blocked
// when it lags.
func TestLaggingHandlerWithProfileLabelsIsFoundBlocked(t *testing.T) {
	const n = 3
	m := newMonitor(t)
	h := newHealth()
	defer close(h.release)
	conn, _ := serve(t, h,
		grpc.ChainUnaryInterceptor(grpcguard.UnaryServerInterceptor(grpcguard.WithMonitor(m)), profileLabels),
		grpc.ChainStreamInterceptor(grpcguard.StreamServerInterceptor(grpcguard.WithMonitor(m)), streamProfileLabels))
	for range n {
		if _, err := check(conn, ignoreCtx, timeout); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("Check error = %v, want code DeadlineExceeded", err)
		}
		if _, _, _, err := watch(conn, ignoreCtx, timeout); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("Watch error = %v, want code DeadlineExceeded", err)
		}
	}
	for _, method := range []string{checkMethod, watchMethod} {
		waitFor(t, "every "+method+" handler lags, blocked at a known place", func() bool {
			e := entry(m.Snapshot(), method, method)
			known := e.BlockedAtOmitted
			for _, b := range e.BlockedAt {
				known += b.Count
			}
			return e.Lagging == n && known == n
		})
		e := entry(m.Snapshot(), method, method)
		if len(e.BlockedAt) != 1 || e.BlockedAt[0].Site.Function != "github.com/ctxguard/ctxguard/middleware/grpcguard_test.(*health).behave" || e.BlockedAt[0].Reason != "chan receive" {
			t.Errorf("%s: blocked at %+v, want one place, in behave (chan receive)", method, e.BlockedAt)
		}
	}
}
