package grpcguard_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/grpcguard"
)

// slowHealth answers Check only once released, without looking at its
// context: the kind of handler grpcguard reports.
type slowHealth struct {
	healthpb.UnimplementedHealthServer
	release chan struct{}
}

func (h *slowHealth) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	<-h.release // never looks at ctx.Done()
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

// A handler still running Grace after its client gave up is lagging,
// attributed to its method.
func ExampleUnaryServerInterceptor() {
	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()

	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(grpcguard.UnaryServerInterceptor(grpcguard.WithMonitor(m))),
		grpc.ChainStreamInterceptor(grpcguard.StreamServerInterceptor(grpcguard.WithMonitor(m))),
	)
	h := &slowHealth{release: make(chan struct{})}
	healthpb.RegisterHealthServer(srv, h)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	cancel()
	fmt.Println("client:", status.Code(err))

	for m.Snapshot().Lagging == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	g := m.Snapshot().Goroutines[0]
	fmt.Println("lagging:", g.Lagging, g.Name, g.Site.Function)
	close(h.release)
	// Output:
	// client: DeadlineExceeded
	// lagging: 1 /grpc.health.v1.Health/Check github.com/ctxguard/ctxguard/middleware/grpcguard_test.(*slowHealth).Check
}
