package ctxguard

import (
	"context"
	"errors"
	"testing"

	"github.com/ctxguard/ctxguard/internal/track"
)

type scopedRegionKey struct{}

// The context a middleware hands its handler is its parent with the scope:
// values, deadline, cancelation and cause are the parent's; the handler's
// region is listed under the scope while it runs; a context made under it
// is canceled with the parent.
func TestScopedRegionIsItsParentWithTheScope(t *testing.T) {
	m := New(Config{})
	defer m.Close()
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), scopedRegionKey{}, "v"))
	defer cancel(nil)
	scope := track.ScopeOf(parent, m, "GET /items/{id}")
	ctx, region := track.EnterScope(parent, scope, 0, nil)
	if got := ScopeFrom(ctx); got != "GET /items/{id}" {
		t.Errorf("ScopeFrom: %q, want GET /items/{id}", got)
	}
	if got := trackingOf(ctx).monitor(); got != m {
		t.Errorf("the context carries Monitor %p, want %p", got, m)
	}
	if got := ctx.Value(scopedRegionKey{}); got != "v" {
		t.Errorf("Value: %v, want the parent's v", got)
	}
	if _, ok := ctx.(interface{ End() }); ok {
		t.Error("the context has the region's End method")
	}
	if _, ok := ctx.Deadline(); ok {
		t.Error("Deadline: the parent has none")
	}
	if s := m.Snapshot(); s.Live != 1 || s.Spawned != 1 {
		t.Errorf("while the region runs: Live %d, Spawned %d; want 1 and 1", s.Live, s.Spawned)
	}
	child, cancelChild := context.WithCancel(ctx)
	defer cancelChild()
	cause := errors.New("client went away")
	cancel(cause)
	<-child.Done()
	if ctx.Err() != context.Canceled || context.Cause(ctx) != cause || context.Cause(child) != cause {
		t.Errorf("after the parent's cancel: Err %v, Cause %v, child's Cause %v; want Canceled and %v", ctx.Err(), context.Cause(ctx), context.Cause(child), cause)
	}
	region.End()
	if s := m.Snapshot(); s.Live != 0 {
		t.Errorf("after End: Live %d, want 0", s.Live)
	}
	want := `context.Background.WithValue(ctxguard.scopedRegionKey, v).WithCancel.WithValue(ctxguard.trackingKey, scope "GET /items/{id}")`
	if got := ctx.(interface{ String() string }).String(); got != want {
		t.Errorf("String:\n%s\nwant\n%s", got, want)
	}
}

// Under a closed Monitor the context is still scoped; nothing is tracked.
func TestScopedRegionUnderAClosedMonitor(t *testing.T) {
	m := New(Config{})
	m.Close()
	scope := track.ScopeOf(context.Background(), m, "GET /")
	ctx, region := track.EnterScope(context.Background(), scope, 0, nil)
	defer region.End()
	if got := ScopeFrom(ctx); got != "GET /" {
		t.Errorf("ScopeFrom: %q, want GET /", got)
	}
	if s := m.Snapshot(); s.Spawned != 0 {
		t.Errorf("Spawned %d under a closed Monitor, want 0", s.Spawned)
	}
}
