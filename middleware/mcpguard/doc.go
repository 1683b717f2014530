// Package mcpguard scopes and tracks the requests of a Model Context
// Protocol server (github.com/modelcontextprotocol/go-sdk) with ctxguard:
// a tool handler that keeps running after its call was cancelled (the
// client gave up on it, the user stopped the agent, the session closed) is
// reported as lagging under the scope "tools/call NAME", with the line
// where it is blocked, and goroutines it starts with spawn.Go from its
// context are attributed to the same scope.
//
//	server := mcp.NewServer(&mcp.Implementation{Name: "tools"}, nil)
//	server.AddReceivingMiddleware(mcpguard.Middleware(
//		mcpguard.WithLaggingLimit(8))) // turn away calls of a tool with 8 stuck
//	mcp.AddTool(server, &mcp.Tool{Name: "crawl"}, crawl)
//
// The SDK cancels a request's context when the client sends
// notifications/cancelled for it, which its client does when the context
// of CallTool ends, and, from go-sdk v1.7.0 on, when the session's
// connection breaks. Handlers are
// tracked by the Monitor the request context carries, else
// [ctxguard.Default], unless [WithMonitor] names one.
//
// Only the server's receiving side is intercepted. Requests the server
// sends (sampling, elicitation, roots) run in the server's own code and
// contexts, tracked where it spawns. On the client side, a tool call's
// waiting is the caller's context and needs nothing; what a client
// middleware (Client.AddReceivingMiddleware) would add is tracking the
// client's handlers of the server's requests, sampling (which calls a
// model) and elicitation (which waits for the user), against the contexts
// the server cancels. That is not done here, and Middleware is not tested
// on clients. For health checks over HTTP, serve httpguard.HealthHandler
// next to the streamable handler: it reads the same Monitor.
//
// # Cost
//
// Per request, in the handler's goroutine: one context carrying the scope
// (and the WithMonitor Monitor) that is also the record of one tracked
// goroutine (one allocation, and an uncontended lock/unlock when the
// handler starts and again when it returns) and a lock-free map lookup
// for the scope: 1 allocation (128 B), and as much time as grpcguard's
// interceptor, 300 ns to 1 µs measured by BenchmarkMiddleware on a shared,
// loaded 2-core machine. A tool call over the in-memory transport
// (BenchmarkInMemoryCall) costs some 30 µs and 105 allocations with
// go-sdk v1.0.0, about 1 ms and 200 allocations with v1.8.0. The first
// call of each tool name not seen before lists the server's tools once
// (at most once a second for names the server does not have). Noticing
// ended contexts is the Monitor's background work, as for spawn.Go.
package mcpguard
