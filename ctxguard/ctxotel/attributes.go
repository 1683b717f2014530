package ctxotel

import (
	"fmt"
	"strings"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"go.opentelemetry.io/otel/attribute"
)

// Span and event names, and attribute keys. The code.* and exception.* keys
// are the stable OpenTelemetry semantic conventions, written out so that
// this package depends on no semconv version.
const (
	lagName     = "ctxguard.lagging"
	droppedName = "ctxguard.dropped_cancel"
	panicName   = "ctxguard.panic"

	keyName         = attribute.Key("ctxguard.goroutine.name")
	keyScope        = attribute.Key("ctxguard.scope")
	keyGrace        = attribute.Key("ctxguard.grace")
	keyCause        = attribute.Key("ctxguard.cause")
	keyDelay        = attribute.Key("ctxguard.delay")
	keyStillRunning = attribute.Key("ctxguard.goroutine.still_running")
	keyBlockedAt    = attribute.Key("ctxguard.blocked_at")
	keyWaitReason   = attribute.Key("ctxguard.wait_reason")
	keyWaitingFor   = attribute.Key("ctxguard.waiting_for")
	keyRecovered    = attribute.Key("ctxguard.panic.recovered")

	// keyMetricName is the goroutine name on metrics, as on the pprof
	// labels of Config.ProfileLabels.
	keyMetricName = attribute.Key("ctxguard.name")
	// keyStart is the function untracked goroutines started with, on
	// metrics.
	keyStart = attribute.Key("ctxguard.start")

	keyFunction   = attribute.Key("code.function.name")
	keyFile       = attribute.Key("code.file.path")
	keyLine       = attribute.Key("code.line.number")
	keyStacktrace = attribute.Key("code.stacktrace")

	exceptionEvent      = "exception"
	keyExceptionType    = attribute.Key("exception.type")
	keyExceptionMessage = attribute.Key("exception.message")
)

// siteAttrs describes a source location; parts the runtime did not know are
// left out.
func siteAttrs(attrs []attribute.KeyValue, s ctxguard.Site) []attribute.KeyValue {
	if s.Function != "" {
		attrs = append(attrs, keyFunction.String(s.Function))
	}
	if s.File != "" {
		attrs = append(attrs, keyFile.String(s.File))
	}
	if s.Line > 0 {
		attrs = append(attrs, keyLine.Int(s.Line))
	}
	return attrs
}

// goroutineAttrs describes the goroutine of a LagStart, LateExit or Panic
// event. An empty scope and a nil cause are left out.
func goroutineAttrs(ev ctxguard.Event) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs, keyName.String(ev.Name))
	if ev.Scope != "" {
		attrs = append(attrs, keyScope.String(ev.Scope))
	}
	attrs = siteAttrs(attrs, ev.Site)
	if ev.Cause != nil {
		attrs = append(attrs, keyCause.String(ev.Cause.Error()))
	}
	return attrs
}

// lagAttrs describes a lagging goroutine.
func lagAttrs(ev ctxguard.Event) []attribute.KeyValue {
	return append(goroutineAttrs(ev), seconds(keyGrace, ev.Grace))
}

// droppedAttrs describes a dropped cancel func: where it was created and
// the scope of its context.
func droppedAttrs(ev ctxguard.Event) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 4)
	if ev.Context != nil {
		if scope := ctxguard.ScopeFrom(ev.Context); scope != "" {
			attrs = append(attrs, keyScope.String(scope))
		}
	}
	return siteAttrs(attrs, ev.Site)
}

// panicAttrs describes a panicked goroutine.
func panicAttrs(ev ctxguard.Event) []attribute.KeyValue {
	return append(goroutineAttrs(ev), keyRecovered.Bool(ev.Value != nil))
}

// exceptionAttrs describes a recovered panic value as the semantic
// conventions describe exceptions. The message is taken only from strings
// and errors: formatting an arbitrary value would call its methods from
// this goroutine while the panicking one may still be using it.
func exceptionAttrs(v any) []attribute.KeyValue {
	attrs := []attribute.KeyValue{keyExceptionType.String(fmt.Sprintf("%T", v))}
	switch v := v.(type) {
	case string:
		attrs = append(attrs, keyExceptionMessage.String(v))
	case error:
		attrs = append(attrs, keyExceptionMessage.String(v.Error()))
	}
	return attrs
}

// seconds is d in seconds, the unit OpenTelemetry uses for durations.
func seconds(k attribute.Key, d time.Duration) attribute.KeyValue {
	return k.Float64(d.Seconds())
}

// blockedAttrs describes where a lagging goroutine is blocked: the blocking
// line, the wait reason, its frames as code.stacktrace (one "function\n\tfile:line"
// pair per frame, as a goroutine dump shows them) and, when it waits for
// other lagging goroutines, which.
func blockedAttrs(b ctxguard.BlockedAt) []attribute.KeyValue {
	var stack strings.Builder
	for i, f := range b.Frames {
		if i > 0 {
			stack.WriteByte('\n')
		}
		stack.WriteString(f.Function + "\n\t" + f.String())
	}
	attrs := []attribute.KeyValue{
		keyBlockedAt.String(b.Site.String()),
		keyWaitReason.String(b.Reason),
		keyStacktrace.String(stack.String()),
	}
	if len(b.WaitingFor) > 0 {
		waited := make([]string, len(b.WaitingFor))
		for i, w := range b.WaitingFor {
			waited[i] = w.Name + " at " + w.Site.String()
		}
		attrs = append(attrs, keyWaitingFor.StringSlice(waited))
	}
	return attrs
}
