package grpcguard

import (
	"context"
	"fmt"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// An Option changes how the interceptors track RPCs.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is the resolved options of one interceptor.
type config struct {
	monitor *ctxguard.Monitor // nil: the Monitor the RPC context carries, else Default
	grace   time.Duration     // 0: the Monitor's Grace
	limit   int               // 0: none
}

func newConfig(caller string, opts []Option) config {
	var c config
	for _, opt := range opts {
		if opt == nil {
			panic("grpcguard: " + caller + " called with a nil Option")
		}
		opt.apply(&c)
	}
	return c
}

// WithMonitor tracks handlers, and the goroutines they spawn from their
// context, with m instead of the Monitor the RPC context carries (or
// [ctxguard.Default] if it carries none). It costs each RPC one more
// context value. It panics if m is nil.
func WithMonitor(m *ctxguard.Monitor) Option {
	if m == nil {
		panic("grpcguard: WithMonitor called with a nil *Monitor")
	}
	ctxguard.WithMonitor(context.Background(), m) // panics, saying so, if m was not made by New
	return optionFunc(func(c *config) { c.monitor = m })
}

// WithGrace sets how long a handler may keep running after its RPC context
// is done before it is lagging, instead of the Monitor's Config.Grace.
// Goroutines the handler spawns keep their own grace. It panics if d is not
// positive.
func WithGrace(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("grpcguard: WithGrace needs a positive duration, got %v", d))
	}
	return optionFunc(func(c *config) { c.grace = d })
}

// WithLaggingLimit turns RPCs away from a method whose lagging count has
// reached n: its handlers still running Grace after their RPC ended, plus
// the goroutines they spawned under the RPC's context still running Grace
// after it ended. An RPC turned away gets codes.Unavailable, with a message
// that says why, without calling the handler; other methods are untouched,
// and the method takes RPCs again as soon as its lagging count is below n.
// As with httpguard.WithLaggingLimit, RPCs turned away are counted and
// logged per method (the scope). Cost per RPC: two atomic loads. It panics
// if n is not positive.
func WithLaggingLimit(n int) Option {
	if n <= 0 {
		panic(fmt.Sprintf("grpcguard: WithLaggingLimit needs a positive limit, got %d", n))
	}
	return optionFunc(func(c *config) { c.limit = n })
}
