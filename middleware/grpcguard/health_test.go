package grpcguard_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/grpcguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// The tests serve gRPC's health service, which ships with grpc-go, through
// an implementation whose handlers treat their context as the request's
// Service field says.
const (
	ignoreCtx     = "ignore" // blocks until released, never looking at its context
	obeyCtx       = "obey"   // returns its context's error once it is done
	spawnIgnoring = "spawn"  // spawns a goroutine that ignores its context, then obeys
	failStatus    = "fail"   // returns a status error with details, header and trailer
	succeed       = "ok"     // answers with header and trailer metadata
	reportScope   = "scope"  // answers with its context's scope in trailer "scope"
)

const (
	checkMethod = "/grpc.health.v1.Health/Check"
	watchMethod = "/grpc.health.v1.Health/Watch"
	// stubbornName is the name of the goroutines spawnIgnoring starts.
	stubbornName = "github.com/ctxguard/ctxguard/middleware/grpcguard_test.(*health).stubborn"
)

const (
	grace = 50 * time.Millisecond
	// timeout is the deadline of the RPCs whose handlers are meant to
	// outlive it.
	timeout = 100 * time.Millisecond
)

type health struct {
	healthpb.UnimplementedHealthServer
	release chan struct{} // closed to end what ignores its context
	entered atomic.Int64  // handlers started
}

func newHealth() *health { return &health{release: make(chan struct{})} }

func (h *health) Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	h.entered.Add(1)
	annotate(ctx, req.GetService())
	if err := h.behave(ctx, req.GetService()); err != nil {
		return nil, err
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// Watch sends SERVING, behaves, and on success sends NOT_SERVING.
func (h *health) Watch(req *healthpb.HealthCheckRequest, stream grpc.ServerStreamingServer[healthpb.HealthCheckResponse]) error {
	h.entered.Add(1)
	annotate(stream.Context(), req.GetService())
	if err := stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}); err != nil {
		return err
	}
	if err := h.behave(stream.Context(), req.GetService()); err != nil {
		return err
	}
	return stream.Send(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_NOT_SERVING})
}

func (h *health) behave(ctx context.Context, behaviour string) error {
	switch behaviour {
	case ignoreCtx:
		<-h.release
	case obeyCtx:
		<-ctx.Done()
		return ctx.Err()
	case spawnIgnoring:
		spawn.Go(ctx, h.stubborn)
		<-ctx.Done()
		return ctx.Err()
	case failStatus:
		st, err := status.New(codes.FailedPrecondition, "custom failure").
			WithDetails(&healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVICE_UNKNOWN})
		if err != nil {
			panic(err)
		}
		return st.Err()
	}
	return nil
}

// annotate sets the metadata of behaviour, before anything is sent.
func annotate(ctx context.Context, behaviour string) {
	switch behaviour {
	case failStatus, succeed:
		grpc.SetHeader(ctx, metadata.Pairs("header", "h"))
		grpc.SetTrailer(ctx, metadata.Pairs("trailer", "t"))
	case reportScope:
		grpc.SetTrailer(ctx, metadata.Pairs("scope", ctxguard.ScopeFrom(ctx)))
	}
}

func (h *health) stubborn(context.Context) { <-h.release }

// newMonitor returns a Monitor with a short Grace, closed when the test ends.
func newMonitor(t testing.TB) *ctxguard.Monitor {
	t.Helper()
	m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slog.New(slog.DiscardHandler), ReportInterval: time.Hour})
	t.Cleanup(func() { m.Close() })
	return m
}

// guarded returns the server options that install both interceptors,
// tracking with m.
func guarded(m *ctxguard.Monitor) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(grpcguard.UnaryServerInterceptor(grpcguard.WithMonitor(m))),
		grpc.ChainStreamInterceptor(grpcguard.StreamServerInterceptor(grpcguard.WithMonitor(m))),
	}
}

// serve serves h on a loopback port with opts and returns a client whose
// connection is ready. stop stops server and client; it also runs when
// the test ends.
func serve(t testing.TB, h healthpb.HealthServer, opts ...grpc.ServerOption) (_ *grpc.ClientConn, stop func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(srv, h)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		conn.Close()
		srv.Stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}
	t.Cleanup(stop)
	// Connect before the first RPC, so short deadlines are spent on the
	// handlers, not on dialing.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn.Connect()
	for s := conn.GetState(); s != connectivity.Ready; s = conn.GetState() {
		if !conn.WaitForStateChange(ctx, s) {
			t.Fatalf("client not ready: %v", s)
		}
	}
	return conn, stop
}

// check calls Check with behaviour and a deadline timeout from now.
func check(conn *grpc.ClientConn, behaviour string, timeout time.Duration, opts ...grpc.CallOption) (*healthpb.HealthCheckResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: behaviour}, opts...)
}

// watch calls Watch with behaviour and a deadline timeout from now, and
// receives until the stream ends: it returns the statuses received, the
// stream's header, trailer and error, nil if the stream ended with OK.
func watch(conn *grpc.ClientConn, behaviour string, timeout time.Duration) (got []healthpb.HealthCheckResponse_ServingStatus, header, trailer metadata.MD, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	stream, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: behaviour})
	if err != nil {
		return nil, nil, nil, err
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			header, _ = stream.Header()
			return got, header, stream.Trailer(), err
		}
		got = append(got, resp.GetStatus())
	}
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// entry returns the Snapshot entry with name and scope, or a zero entry.
func entry(s ctxguard.Snapshot, name, scope string) ctxguard.GoroutineStats {
	for _, g := range s.Goroutines {
		if g.Name == name && g.Scope == scope {
			return g
		}
	}
	return ctxguard.GoroutineStats{}
}

// declaration returns the site of the declaration that starts with decl
// in this package's file: its file's base name and its line.
func declaration(t testing.TB, file, decl string) ctxguard.Site {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, decl) {
			return ctxguard.Site{File: file, Line: i + 1}
		}
	}
	t.Fatalf("%s declares no %q", file, decl)
	return ctxguard.Site{}
}

// wantSite checks that got is the site of the declaration starting with
// decl in file, in function fn.
func wantSite(t testing.TB, got ctxguard.Site, fn, file, decl string) {
	t.Helper()
	want := declaration(t, file, decl)
	want.Function = fn
	if got.Function != want.Function || !strings.HasSuffix(got.File, "/middleware/grpcguard/"+file) || got.Line != want.Line {
		t.Errorf("site = %s (%s), want %s:%d (%s)", got, got.Function, file, want.Line, want.Function)
	}
}
