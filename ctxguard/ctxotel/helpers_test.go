package ctxotel_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxotel"
	"github.com/ctxguard/ctxguard/spawn"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

const grace = 50 * time.Millisecond

// harness is a track-all Monitor with a short grace, exported with a real
// SDK TracerProvider into memory, plus a second observer of the Monitor.
type harness struct {
	m       *ctxguard.Monitor
	exp     *ctxotel.Exporter
	tp      *sdktrace.TracerProvider
	spans   *tracetest.InMemoryExporter
	started *startCounter
	events  *eventLog
	tracer  trace.Tracer
	root    context.Context // carries m
}

// newHarness starts exporting; the exporter is stopped and the Monitor
// closed when the test ends.
func newHarness(t *testing.T, opts ...ctxotel.Option) *harness {
	t.Helper()
	h := &harness{
		m: ctxguard.New(ctxguard.Config{
			Grace:            grace,
			CancelSampleRate: 1,
			Logger:           slog.New(slog.DiscardHandler),
			ReportInterval:   time.Hour,
		}),
		spans:   tracetest.NewInMemoryExporter(),
		started: &startCounter{},
		events:  &eventLog{},
	}
	h.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(h.spans), sdktrace.WithSpanProcessor(h.started))
	h.tracer = h.tp.Tracer("test")
	h.root = ctxguard.WithMonitor(context.Background(), h.m)
	stopEvents := h.m.Observe(h.events.add)
	h.exp = ctxotel.Export(h.m, append([]ctxotel.Option{ctxotel.WithTracerProvider(h.tp)}, opts...)...)
	t.Cleanup(func() {
		h.exp.Stop()
		stopEvents()
		h.m.Close()
	})
	return h
}

// named returns the exported (ended) spans called name.
func (h *harness) named(name string) tracetest.SpanStubs {
	var out tracetest.SpanStubs
	for _, s := range h.spans.GetSpans() {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// startCounter is a span processor that counts started spans by name, so
// tests can wait for spans that have not ended yet.
type startCounter struct {
	mu     sync.Mutex
	byName map[string]int
}

func (c *startCounter) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byName == nil {
		c.byName = make(map[string]int)
	}
	c.byName[s.Name()]++
}

func (c *startCounter) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byName[name]
}

func (*startCounter) OnEnd(sdktrace.ReadOnlySpan)      {}
func (*startCounter) Shutdown(context.Context) error   { return nil }
func (*startCounter) ForceFlush(context.Context) error { return nil }

// eventLog records the Monitor's events, as a second observer.
type eventLog struct {
	mu     sync.Mutex
	events []ctxguard.Event
}

func (l *eventLog) add(e ctxguard.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) of(kind ctxguard.EventKind) []ctxguard.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []ctxguard.Event
	for _, e := range l.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// waitFor polls cond until it holds or a generous deadline passes; gc runs
// a garbage collection before each poll, for dropped cancels.
func waitFor(t *testing.T, what string, gc bool, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		if gc {
			runtime.GC()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// verifyNoLeaks checks, after every other cleanup of the test, that the
// test left no goroutine running.
func verifyNoLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// attrs turns attributes into a map for comparison, failing on a key that
// appears twice.
func attrs(t *testing.T, kvs []attribute.KeyValue) map[string]any {
	t.Helper()
	out := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		if _, dup := out[string(kv.Key)]; dup {
			t.Errorf("attribute %s appears twice in %v", kv.Key, kvs)
		}
		out[string(kv.Key)] = kv.Value.AsInterface()
	}
	return out
}

func checkAttrs(t *testing.T, what string, got []attribute.KeyValue, want map[string]any) {
	t.Helper()
	if g := attrs(t, got); !reflect.DeepEqual(g, want) {
		t.Errorf("%s attributes:\n got %v\nwant %v", what, g, want)
	}
}

// siteAttrs are the code.* attributes of s.
func siteAttrs(s ctxguard.Site) map[string]any {
	return map[string]any{
		"code.function.name": s.Function,
		"code.file.path":     s.File,
		"code.line.number":   int64(s.Line),
	}
}

// with returns a copy of base with more attributes.
func with(base map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(base)+len(kv)/2)
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// spawnStuck spawns a goroutine named "stuck" that ignores ctx until
// release is closed, and returns the site of the spawn.Go call.
//
//go:noinline
func spawnStuck(ctx context.Context, release <-chan struct{}) ctxguard.Site {
	pc, file, line, _ := runtime.Caller(0)
	spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("stuck")) // must stay on the line after runtime.Caller
	return ctxguard.Site{Function: runtime.FuncForPC(pc).Name(), File: stableFile(file), Line: line + 1}
}

// dropCancel creates a cancel func from ctx and drops it, and returns the
// site of the WithCancel call.
//
//go:noinline
func dropCancel(ctx context.Context) ctxguard.Site {
	pc, file, line, _ := runtime.Caller(0)
	_, _ = ctxguard.WithCancel(ctx) //ctxvet:ignore lostcancel dropped on purpose; must stay on the line after runtime.Caller
	return ctxguard.Site{Function: runtime.FuncForPC(pc).Name(), File: stableFile(file), Line: line + 1}
}

// eventNames returns the names of a span's events.
func eventNames(events []sdktrace.Event) []string {
	names := make([]string, len(events))
	for i, e := range events {
		names[i] = e.Name
	}
	return names
}

// stableFile is a file of this package as ctxguard names it: package path
// and base name.
func stableFile(file string) string {
	return "github.com/ctxguard/ctxguard/ctxguard/ctxotel/" + filepath.Base(file)
}
