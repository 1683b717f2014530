package ctxotel

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// newTestExporter returns an Exporter whose events the test delivers by
// calling handle, and the spans it exports.
func newTestExporter(t *testing.T) (*Exporter, *tracetest.InMemoryExporter) {
	t.Helper()
	m := ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { m.Close() })
	spans := tracetest.NewInMemoryExporter()
	e := Export(m, WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))))
	t.Cleanup(e.Stop)
	return e, spans
}

// The Monitor queues a batch's LagStart events after marking the batch
// lagging, so a goroutine returning in between is reported returned first.
func TestLateExitBeforeLagStartMakesOneWholeSpan(t *testing.T) {
	e, spans := newTestExporter(t)
	ended := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	ev := ctxguard.Event{ID: 7, Name: "quick", Ended: ended, Grace: time.Second, Cause: errors.New("gone")}
	exit, start := ev, ev
	exit.Kind, exit.Time = ctxguard.LateExit, ended.Add(1500*time.Millisecond)
	start.Kind, start.Time = ctxguard.LagStart, ended.Add(time.Second)

	e.handle(exit)
	e.handle(start)
	e.handle(exit) // a duplicate finds nothing to end

	got := spans.GetSpans()
	if len(got) != 1 {
		t.Fatalf("%d spans, want 1", len(got))
	}
	s := got[0]
	if s.Name != lagName || !s.StartTime.Equal(ended) || !s.EndTime.Equal(exit.Time) {
		t.Errorf("span %s from %v to %v, want %s from %v to %v", s.Name, s.StartTime, s.EndTime, lagName, ended, exit.Time)
	}
	var delay float64
	for _, kv := range s.Attributes {
		if kv.Key == keyDelay {
			delay = kv.Value.AsFloat64()
		}
	}
	if delay != 1.5 {
		t.Errorf("delay %v, want 1.5", delay)
	}
	if len(e.open) != 0 {
		t.Errorf("%d spans left open", len(e.open))
	}
}

func TestEarlyExitsForgetTheOldestBeyondTheBound(t *testing.T) {
	var x earlyExits
	at := time.Unix(1, 0)
	for id := uint64(1); id <= maxEarlyExits+10; id++ {
		x.add(id, at)
	}
	if len(x.at) != maxEarlyExits || len(x.ring) != maxEarlyExits {
		t.Fatalf("holds %d times in a ring of %d, want %d", len(x.at), len(x.ring), maxEarlyExits)
	}
	for _, c := range []struct {
		id   uint64
		want bool
	}{{1, false}, {10, false}, {11, true}, {maxEarlyExits + 10, true}, {11, false}} {
		if _, ok := x.take(c.id); ok != c.want {
			t.Errorf("take(%d) found %v, want %v", c.id, ok, c.want)
		}
	}
}
