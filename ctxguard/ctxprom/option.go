package ctxprom

import (
	"fmt"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// An Option changes how [NewCollector] exports a Monitor.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is what the Options set, with the defaults filled in by newConfig.
type config struct {
	maxSeries int
}

func newConfig(opts []Option) config {
	c := config{maxSeries: ctxguard.DefaultMaxSites}
	for _, o := range opts {
		o.apply(&c)
	}
	return c
}

// WithMaxSeries bounds the distinct (name, scope) label pairs of the
// goroutine metrics to n, plus one overflow pair (see the package
// documentation); the default is [ctxguard.DefaultMaxSites]. Set it to the
// Monitor's Config.MaxSites when that is lower, so that both fold at the same
// bound. It panics if n is not positive.
func WithMaxSeries(n int) Option {
	if n <= 0 {
		panic(fmt.Sprintf("ctxprom: WithMaxSeries needs a positive count, got %d", n))
	}
	return optionFunc(func(c *config) { c.maxSeries = n })
}
