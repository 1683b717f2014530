package ctxotel_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxotel"
	"github.com/ctxguard/ctxguard/spawn"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

const (
	lagging       = "ctxguard.lagging"
	droppedCancel = "ctxguard.dropped_cancel"
	panicked      = "ctxguard.panic"
)

// checkRootLinkedTo checks that span begins a trace of its own, with one
// link: to the span context of origin.
func checkRootLinkedTo(t *testing.T, span tracetest.SpanStub, origin trace.SpanContext) {
	t.Helper()
	if span.Parent.IsValid() || span.SpanContext.TraceID() == origin.TraceID() {
		t.Errorf("%s: parent %v, trace %v; want a new root, not in trace %v", span.Name, span.Parent, span.SpanContext.TraceID(), origin.TraceID())
	}
	if len(span.Links) != 1 || !span.Links[0].SpanContext.Equal(origin) {
		t.Errorf("%s: links %+v, want exactly one, to %v", span.Name, span.Links, origin)
	}
	if span.SpanKind != trace.SpanKindInternal {
		t.Errorf("%s: kind %v, want internal", span.Name, span.SpanKind)
	}
	if span.InstrumentationScope.Name != "github.com/ctxguard/ctxguard/ctxguard/ctxotel" {
		t.Errorf("%s: instrumentation scope %q", span.Name, span.InstrumentationScope.Name)
	}
}

func TestLaggingGoroutinesBecomeLinkedRootSpans(t *testing.T) {
	verifyNoLeaks(t)
	h := newHarness(t)
	ctx, request := h.tracer.Start(ctxguard.WithScope(h.root, "GET /slow"), "request")
	ctx, cancel := context.WithCancelCause(ctx)
	release := make(chan struct{})
	site := spawnStuck(ctx, release)
	if again := spawnStuck(ctx, release); again != site {
		t.Fatalf("sites %v and %v differ", site, again)
	}
	spawn.Go(ctx, func(ctx context.Context) { <-ctx.Done() }, spawn.WithName("good"))

	cancel(errors.New("client went away"))
	waitFor(t, "both lagging spans are started", false, func() bool { return h.started.count(lagging) == 2 })
	waitFor(t, "where both are blocked is known", false, func() bool { return len(h.events.of(ctxguard.EventBlocked)) == 2 })
	close(release)
	waitFor(t, "both lagging spans have ended and both exits are logged", false, func() bool {
		return len(h.named(lagging)) == 2 && len(h.events.of(ctxguard.EventLateExit)) == 2
	})
	request.End()

	if got := len(h.spans.GetSpans()); got != 3 {
		t.Errorf("%d spans exported, want 3: the request and two lagging", got)
	}
	starts, exits := h.events.of(ctxguard.EventLagStart), h.events.of(ctxguard.EventLateExit)
	if len(starts) != 2 || !starts[0].Ended.Equal(starts[1].Ended) {
		t.Fatalf("LagStart events %+v, want two with one Ended", starts)
	}
	want := map[string]any{
		"ctxguard.goroutine.name": "stuck",
		"ctxguard.scope":          "GET /slow",
		"ctxguard.cause":          "client went away",
		"ctxguard.grace":          grace.Seconds(),
	}
	for k, v := range siteAttrs(site) {
		want[k] = v
	}
	for _, span := range h.named(lagging) {
		checkRootLinkedTo(t, span, request.SpanContext())
		if !span.StartTime.Equal(starts[0].Ended) {
			t.Errorf("start %v, want the time the context ended, %v", span.StartTime, starts[0].Ended)
		}
		i := slices.IndexFunc(exits, func(e ctxguard.Event) bool { return e.Time.Equal(span.EndTime) })
		if i < 0 {
			t.Errorf("end %v is the time of no LateExit (%+v)", span.EndTime, exits)
			continue
		}
		exit := exits[i]
		exits = slices.Delete(exits, i, i+1)
		if span.EndTime.Sub(span.StartTime) < grace {
			t.Errorf("span lasts %v, want at least the grace %v", span.EndTime.Sub(span.StartTime), grace)
		}
		blockedAt := site // the goroutine waits on the line that spawns it
		blockedAt.Function += ".func1"
		checkAttrs(t, "lagging span", span.Attributes, with(want, "ctxguard.delay", exit.Delay().Seconds(),
			"ctxguard.blocked_at", blockedAt.String(), "ctxguard.wait_reason", "chan receive",
			"code.stacktrace", blockedAt.Function+"\n\t"+blockedAt.String()))
	}

	req := h.named("request")[0]
	if req.ChildSpanCount != 0 {
		t.Errorf("request has %d children, want 0", req.ChildSpanCount)
	}
	if names := eventNames(req.Events); !slices.Equal(names, []string{lagging, lagging}) {
		t.Fatalf("request events %v, want two %s", names, lagging)
	}
	for i, e := range req.Events {
		if !e.Time.Equal(starts[i].Time) {
			t.Errorf("event %d at %v, want the LagStart time %v", i, e.Time, starts[i].Time)
		}
		checkAttrs(t, "request event", e.Attributes, want)
	}
}

func TestNothingIsRecordedWhenNothingLags(t *testing.T) {
	verifyNoLeaks(t)
	h := newHarness(t)
	ctx, request := h.tracer.Start(h.root, "request")
	ctx, cancel := context.WithCancel(ctx)
	for range 20 {
		spawn.Go(ctx, func(ctx context.Context) { <-ctx.Done() })
		spawn.Go(ctx, func(context.Context) {})
	}
	cancel()
	waitFor(t, "every goroutine returns", false, func() bool { return h.m.Snapshot().Live == 0 })
	h.m.Close() // delivers any event still queued
	request.End()

	if spans := h.spans.GetSpans(); len(spans) != 1 || spans[0].Name != "request" || len(spans[0].Events) != 0 {
		t.Errorf("spans %+v, want only the request, with no events", spans)
	}
	if n := h.started.count(lagging); n != 0 {
		t.Errorf("%d lagging spans started, want 0", n)
	}
}

func TestDroppedCancelIsASpanAtItsCreationSite(t *testing.T) {
	verifyNoLeaks(t)
	h := newHarness(t)
	ctx, request := h.tracer.Start(ctxguard.WithScope(h.root, "worker"), "request")
	site := dropCancel(ctx)
	waitFor(t, "the dropped cancel span is exported", true, func() bool { return len(h.named(droppedCancel)) == 1 })
	request.End()

	span := h.named(droppedCancel)[0]
	checkRootLinkedTo(t, span, request.SpanContext())
	if !span.StartTime.Equal(span.EndTime) || span.StartTime.IsZero() {
		t.Errorf("span from %v to %v, want zero length", span.StartTime, span.EndTime)
	}
	want := with(siteAttrs(site), "ctxguard.scope", "worker")
	checkAttrs(t, "dropped cancel span", span.Attributes, want)
	if !strings.HasSuffix(site.File, "/ctxotel/helpers_test.go") || site.Function != "github.com/ctxguard/ctxguard/ctxguard/ctxotel_test.dropCancel" {
		t.Errorf("site %+v, want dropCancel in helpers_test.go", site)
	}
	req := h.named("request")[0]
	if names := eventNames(req.Events); !slices.Equal(names, []string{droppedCancel}) {
		t.Fatalf("request events %v, want one %s", names, droppedCancel)
	}
	if e := req.Events[0]; !e.Time.Equal(span.StartTime) {
		t.Errorf("event at %v, want %v", e.Time, span.StartTime)
	} else {
		checkAttrs(t, "request event", e.Attributes, want)
	}
}

func TestRecoveredPanicIsAnErrorSpan(t *testing.T) {
	verifyNoLeaks(t)
	h := newHarness(t)
	ctx, request := h.tracer.Start(h.root, "request")
	recovered := make(chan any, 1)
	spawn.Go(ctx, func(context.Context) { panic(errors.New("boom")) },
		spawn.WithName("panicker"), spawn.WithRecover(func(v any) { recovered <- v }))
	<-recovered
	waitFor(t, "the panic span is exported", false, func() bool { return len(h.named(panicked)) == 1 })
	request.End()

	span := h.named(panicked)[0]
	checkRootLinkedTo(t, span, request.SpanContext())
	ev := h.events.of(ctxguard.EventPanic)[0]
	if !span.StartTime.Equal(ev.Time) || !span.EndTime.Equal(ev.Time) {
		t.Errorf("span from %v to %v, want zero length at %v", span.StartTime, span.EndTime, ev.Time)
	}
	if span.Status != (sdktrace.Status{Code: codes.Error, Description: "panic"}) {
		t.Errorf("status %+v, want Error: panic", span.Status)
	}
	want := with(siteAttrs(ev.Site), "ctxguard.goroutine.name", "panicker", "ctxguard.panic.recovered", true)
	checkAttrs(t, "panic span", span.Attributes, want)
	if names := eventNames(span.Events); !slices.Equal(names, []string{"exception"}) {
		t.Fatalf("panic span events %v, want one exception", names)
	}
	checkAttrs(t, "exception event", span.Events[0].Attributes, map[string]any{
		"exception.type":    "*errors.errorString",
		"exception.message": "boom",
	})
	if names := eventNames(h.named("request")[0].Events); !slices.Equal(names, []string{panicked}) {
		t.Errorf("request events %v, want one %s", names, panicked)
	}
}

func TestStopEndsOpenSpansAndStopsExporting(t *testing.T) {
	verifyNoLeaks(t)
	h := newHarness(t)
	ctx, cancel := context.WithCancel(h.root)
	release := make(chan struct{})
	spawnStuck(ctx, release)
	cancel()
	waitFor(t, "the lagging span is started", false, func() bool { return h.started.count(lagging) == 1 })

	before := time.Now()
	h.exp.Stop()
	spans := h.named(lagging)
	if len(spans) != 1 {
		t.Fatalf("%d lagging spans after Stop, want the open one ended", len(spans))
	}
	span := spans[0]
	if span.EndTime.Before(before) || span.EndTime.Before(span.StartTime) {
		t.Errorf("ended at %v, want at Stop (after %v)", span.EndTime, before)
	}
	a := attrs(t, span.Attributes)
	if a["ctxguard.goroutine.still_running"] != true {
		t.Errorf("attributes %v, want ctxguard.goroutine.still_running = true", a)
	}
	if _, ok := a["ctxguard.delay"]; ok {
		t.Errorf("attributes %v have a delay for a goroutine still running", a)
	}
	h.exp.Stop() // idempotent

	// Everything after Stop: the late exit, another goroutine lagging and
	// returning, a dropped cancel.
	close(release)
	ctx2, cancel2 := context.WithCancel(h.root)
	release2 := make(chan struct{})
	spawnStuck(ctx2, release2)
	cancel2()
	waitFor(t, "the second goroutine lags", false, func() bool { return len(h.events.of(ctxguard.EventLagStart)) == 2 })
	close(release2)
	dropCancel(h.root)
	waitFor(t, "both exits and the drop are observed", true, func() bool {
		return len(h.events.of(ctxguard.EventLateExit)) == 2 && len(h.events.of(ctxguard.EventDroppedCancel)) == 1
	})
	h.m.Close() // every event has been delivered when Close returns

	if got := h.spans.GetSpans(); len(got) != 1 {
		t.Errorf("%d spans, want only the one ended by Stop: %+v", len(got), got)
	}
	if n := h.started.count(lagging); n != 1 {
		t.Errorf("%d lagging spans started, want 1", n)
	}
}

func TestOpenSpansAreBounded(t *testing.T) {
	verifyNoLeaks(t)
	h := newHarness(t, ctxotel.WithMaxOpenSpans(2))
	ctx, request := h.tracer.Start(h.root, "request")
	ctx, cancel := context.WithCancel(ctx)
	release := make(chan struct{})
	for range 5 {
		spawnStuck(ctx, release)
	}
	cancel()
	waitFor(t, "two spans are started and three dropped", false, func() bool {
		return h.started.count(lagging) == 2 && h.exp.Dropped() == 3
	})
	close(release)
	waitFor(t, "all five exits are observed", false, func() bool { return len(h.events.of(ctxguard.EventLateExit)) == 5 })
	h.m.Close()
	request.End()

	if n := len(h.named(lagging)); n != 2 {
		t.Errorf("%d lagging spans, want 2", n)
	}
	if n := h.started.count(lagging); n != 2 {
		t.Errorf("%d lagging spans started, want 2", n)
	}
	if d := h.exp.Dropped(); d != 3 {
		t.Errorf("Dropped() = %d, want 3", d)
	}
	// The events on the request are not bounded by open spans.
	if names := eventNames(h.named("request")[0].Events); len(names) != 5 {
		t.Errorf("request events %v, want five %s", names, lagging)
	}
}

func TestMisusePanicsNamingTheOption(t *testing.T) {
	for name, f := range map[string]func(){
		"nil provider": func() { ctxotel.WithTracerProvider(nil) },
		"zero bound":   func() { ctxotel.WithMaxOpenSpans(0) },
	} {
		func() {
			defer func() {
				if v, _ := recover().(string); !strings.HasPrefix(v, "ctxotel: ") {
					t.Errorf("%s: panicked with %q, want a ctxotel: message", name, v)
				}
			}()
			f()
		}()
	}
}
