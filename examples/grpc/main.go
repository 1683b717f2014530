// Command grpc runs a small gRPC server and client on loopback with the
// grpcguard interceptors and OpenTelemetry tracing (the SDK with an
// in-memory exporter). The server's Check handler starts a worker that
// ignores its context; the client gives up after 100 ms. Once the worker
// has lagged past Grace, the command prints the spans: the request's span,
// and the ctxguard.lagging span linked to it, which lasts from the moment
// the request ended until the worker finally returned.
//
//	go run ./examples/grpc
package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

func main() {
	if err := run(context.Background(), os.Stdout, 300*time.Millisecond); err != nil {
		fmt.Fprintln(os.Stderr, "grpc:", err)
		os.Exit(1)
	}
}
