package mcpguard

import (
	"context"
	"fmt"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// An Option changes how the middleware tracks requests.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is the resolved options of one middleware.
type config struct {
	monitor *ctxguard.Monitor // nil: the Monitor the request context carries, else Default
	grace   time.Duration     // 0: the Monitor's Grace
	limit   int               // 0: none
}

func newConfig(opts []Option) config {
	var c config
	for _, opt := range opts {
		if opt == nil {
			panic("mcpguard: Middleware called with a nil Option")
		}
		opt.apply(&c)
	}
	return c
}

// WithMonitor tracks handlers, and the goroutines they spawn from their
// context, with m instead of the Monitor the request context carries (or
// [ctxguard.Default] if it carries none, as the SDK's contexts do unless
// the server was run with one). It panics if m is nil.
func WithMonitor(m *ctxguard.Monitor) Option {
	if m == nil {
		panic("mcpguard: WithMonitor called with a nil *Monitor")
	}
	ctxguard.WithMonitor(context.Background(), m) // panics, saying so, if m was not made by New
	return optionFunc(func(c *config) { c.monitor = m })
}

// WithGrace sets how long a handler may keep running after its request
// context is done before it is lagging, instead of the Monitor's
// Config.Grace. Goroutines the handler spawns keep their own grace. It
// panics if d is not positive.
func WithGrace(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("mcpguard: WithGrace needs a positive duration, got %v", d))
	}
	return optionFunc(func(c *config) { c.grace = d })
}

// WithLaggingLimit turns calls away from a tool whose lagging count has
// reached n: its handlers still running Grace after their call was
// cancelled, plus the goroutines they spawned under the call's context
// still running Grace after it ended. Such a tool only piles up more work
// (and cost) with every call.
//
// A call turned away does not reach the tool: the client gets a tool
// error, a CallToolResult with IsError set, one text content saying that
// calls of the tool are still running after they were cancelled and when
// to try again, and the same delay in whole seconds in its _meta under
// "ctxguard/retryAfterSeconds": one second if the tool's lagging count has
// fallen since it started turning calls away, else the handlers' grace, at
// least a second. A tool error rather than a JSON-RPC error because MCP
// keeps JSON-RPC errors for protocol failures (no such tool, bad
// arguments) and hands tool errors to the model, which can then use
// another tool or tell the user, instead of the host failing the turn.
//
// Other tools, and every other method, are untouched: resources, prompts
// and completions are scoped and tracked but never turned away. The tool
// takes calls again as soon as its lagging count is below n. Calls turned
// away are counted per scope (ctxguard.Snapshot.Scopes, ctxprom's
// ctxguard_requests_shed_total) and logged, as for httpguard and
// grpcguard. Cost per call: two atomic loads. It panics if n is not
// positive.
func WithLaggingLimit(n int) Option {
	if n <= 0 {
		panic(fmt.Sprintf("mcpguard: WithLaggingLimit needs a positive limit, got %d", n))
	}
	return optionFunc(func(c *config) { c.limit = n })
}
