package ctxotel

import (
	"fmt"

	"github.com/ctxguard/ctxguard/ctxguard"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// DefaultMaxOpenSpans bounds the spans of lagging goroutines an [Exporter]
// keeps open at once. An open span holds about 800 bytes with the SDK
// (BenchmarkOpenSpanMemory), so the bound keeps a pile-up of stuck
// goroutines (a channel never closed adds one per state transition) from
// holding more than about 8 MB in the tracer.
const DefaultMaxOpenSpans = 10_000

// An Option changes how [Export] exports a Monitor's events or how
// [RegisterMetrics] reports its counts. Each applies to one of them (its
// documentation says which) and is ignored by the other.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	provider  trace.TracerProvider
	maxOpen   int
	meters    metric.MeterProvider
	maxSeries int
}

// newConfig applies opts over the defaults. The global providers are read
// here, once: a provider set later with otel.SetTracerProvider or
// otel.SetMeterProvider is still used, because the global one delegates to
// it.
func newConfig(opts []Option) config {
	c := config{maxOpen: DefaultMaxOpenSpans, maxSeries: ctxguard.DefaultMaxSites}
	for _, o := range opts {
		o.apply(&c)
	}
	if c.provider == nil {
		c.provider = otel.GetTracerProvider()
	}
	if c.meters == nil {
		c.meters = otel.GetMeterProvider()
	}
	return c
}

// WithTracerProvider makes [Export]'s spans with tp instead of the global
// TracerProvider (otel.GetTracerProvider at the time of Export). It panics
// if tp is nil.
func WithTracerProvider(tp trace.TracerProvider) Option {
	if tp == nil {
		panic("ctxotel: WithTracerProvider called with a nil TracerProvider")
	}
	return optionFunc(func(c *config) { c.provider = tp })
}

// WithMaxOpenSpans bounds the spans of lagging goroutines that [Export]
// keeps open at once, instead of [DefaultMaxOpenSpans]. A goroutine that starts lagging while n
// spans are open gets no span and is counted in [Exporter.Dropped]. It
// panics if n is not positive.
func WithMaxOpenSpans(n int) Option {
	if n <= 0 {
		panic(fmt.Sprintf("ctxotel: WithMaxOpenSpans needs a positive limit, got %d", n))
	}
	return optionFunc(func(c *config) { c.maxOpen = n })
}

// WithMeterProvider makes [RegisterMetrics]'s instruments with mp instead of
// the global MeterProvider (otel.GetMeterProvider at the time of
// RegisterMetrics). It panics if mp is nil.
func WithMeterProvider(mp metric.MeterProvider) Option {
	if mp == nil {
		panic("ctxotel: WithMeterProvider called with a nil MeterProvider")
	}
	return optionFunc(func(c *config) { c.meters = mp })
}

// WithMaxSeries bounds the distinct (ctxguard.name, ctxguard.scope)
// attribute sets of [RegisterMetrics]'s goroutine instruments to n, plus
// one overflow set (see the package documentation); the default is
// [ctxguard.DefaultMaxSites]. Set it to the Monitor's Config.MaxSites when
// that is lower, so that both fold at the same bound. It panics if n is not
// positive.
func WithMaxSeries(n int) Option {
	if n <= 0 {
		panic(fmt.Sprintf("ctxotel: WithMaxSeries needs a positive count, got %d", n))
	}
	return optionFunc(func(c *config) { c.maxSeries = n })
}
