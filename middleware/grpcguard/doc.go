// Package grpcguard scopes and tracks gRPC server handlers with ctxguard: a
// handler that keeps running after its RPC's context ended (the client
// cancelled or hung up, the deadline passed) is reported as lagging, named
// and scoped by its full method and sited at the implementation's method,
// and goroutines the handler starts with spawn.Go from its context are
// attributed to the method.
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(grpcguard.UnaryServerInterceptor()),
//		grpc.ChainStreamInterceptor(grpcguard.StreamServerInterceptor()))
//
// Handlers are tracked by the Monitor the RPC context carries, else
// [ctxguard.Default], unless [WithMonitor] names one. Responses, errors,
// status codes, metadata and panics pass through unchanged. Only servers
// are intercepted: a client's goroutines are tracked where they are
// spawned, with the caller's context.
//
// # Cost
//
// Per RPC, in the handler's goroutine: one context carrying the scope
// (and the WithMonitor Monitor) that is also the record of one tracked
// goroutine (one allocation, and an uncontended lock/unlock when the
// handler starts and again when it returns), a lock-free map lookup for
// the method's site and options, which reflection works out on the first
// RPC of each method, and for streams one allocation for the stream
// wrapper. That is about 100 ns and 1 allocation (128 B) per unary RPC,
// measured by
// BenchmarkInterceptor; a loopback unary RPC (BenchmarkUnary) costs some
// 32 µs and 140 allocations without it. Noticing ended contexts is the
// Monitor's background work, as for spawn.Go.
package grpcguard
