package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxotel"
	"github.com/ctxguard/ctxguard/middleware/grpcguard"
)

func run(ctx context.Context, out io.Writer, grace time.Duration) error {
	m := ctxguard.New(ctxguard.Config{Grace: grace, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())                  //ctxvet:ignore brokenchain flush the spans even when ctx has ended
	exp := ctxotel.Export(m, ctxotel.WithTracerProvider(tp)) // lagging goroutines become spans
	defer exp.Stop()

	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(
		serverSpans(tp.Tracer("example/server")),
		grpcguard.UnaryServerInterceptor(grpcguard.WithMonitor(m)),
	))
	h := &health{release: make(chan struct{})}
	healthpb.RegisterHealthServer(srv, h)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(lis)
	defer srv.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()

	callCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = healthpb.NewHealthClient(conn).Check(callCtx, &healthpb.HealthCheckRequest{})
	cancel()
	fmt.Fprintf(out, "client: Check returned %v after its 100ms deadline\n", status.Code(err))

	if err := waitFor(grace+10*time.Second, func() bool { return m.Snapshot().Lagging == 1 }); err != nil {
		return fmt.Errorf("waiting for the lagging worker: %w", err)
	}
	close(h.release) // the dependency answers; the worker returns, late
	if err := waitFor(10*time.Second, func() bool { return len(spans.GetSpans()) == 2 }); err != nil {
		return fmt.Errorf("waiting for the spans: %w", err)
	}

	fmt.Fprintln(out, "spans:")
	for _, s := range spans.GetSpans() {
		fmt.Fprintf(out, "  %s  trace %s span %s\n", s.Name, s.SpanContext.TraceID(), s.SpanContext.SpanID())
		for _, l := range s.Links {
			fmt.Fprintf(out, "    linked to trace %s span %s\n", l.SpanContext.TraceID(), l.SpanContext.SpanID())
		}
		for _, kv := range s.Attributes {
			switch kv.Key {
			case "ctxguard.goroutine.name", "ctxguard.scope", "ctxguard.cause":
				fmt.Fprintf(out, "    %s = %s\n", kv.Key, kv.Value.Emit())
			}
		}
		for _, e := range s.Events {
			fmt.Fprintf(out, "    event %s\n", e.Name)
		}
		if s.Name == "ctxguard.lagging" {
			fmt.Fprintf(out, "    lasted %v: from the end of the request to the worker's return (grace %v)\n",
				s.EndTime.Sub(s.StartTime).Round(100*time.Millisecond), grace)
		}
	}
	return nil
}

func waitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
