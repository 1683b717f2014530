package ctxotel

import (
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// DefaultMaxOpenSpans bounds the spans of lagging goroutines an [Exporter]
// keeps open at once. An open span holds about 800 bytes with the SDK
// (BenchmarkOpenSpanMemory), so the bound keeps a pile-up of stuck
// goroutines (a channel never closed adds one per state transition) from
// holding more than about 8 MB in the tracer.
const DefaultMaxOpenSpans = 10_000

// An Option changes how [Export] exports a Monitor's events.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	provider trace.TracerProvider
	maxOpen  int
}

// newConfig applies opts over the defaults. The global TracerProvider is
// read here, once: a provider set later with otel.SetTracerProvider is
// still used, because the global one delegates to it.
func newConfig(opts []Option) config {
	c := config{maxOpen: DefaultMaxOpenSpans}
	for _, o := range opts {
		o.apply(&c)
	}
	if c.provider == nil {
		c.provider = otel.GetTracerProvider()
	}
	return c
}

// WithTracerProvider makes spans with tp instead of the global
// TracerProvider (otel.GetTracerProvider at the time of [Export]). It
// panics if tp is nil.
func WithTracerProvider(tp trace.TracerProvider) Option {
	if tp == nil {
		panic("ctxotel: WithTracerProvider called with a nil TracerProvider")
	}
	return optionFunc(func(c *config) { c.provider = tp })
}

// WithMaxOpenSpans bounds the spans of lagging goroutines kept open at once,
// instead of [DefaultMaxOpenSpans]. A goroutine that starts lagging while n
// spans are open gets no span and is counted in [Exporter.Dropped]. It
// panics if n is not positive.
func WithMaxOpenSpans(n int) Option {
	if n <= 0 {
		panic(fmt.Sprintf("ctxotel: WithMaxOpenSpans needs a positive limit, got %d", n))
	}
	return optionFunc(func(c *config) { c.maxOpen = n })
}
