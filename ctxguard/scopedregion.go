package ctxguard

import (
	"context"
	"fmt"
	"time"

	"github.com/ctxguard/ctxguard/internal/track"
)

// A scopedRegion is what a middleware's request costs: the record of the
// handler's region and the scoped context the handler runs under, in one
// allocation (128 bytes) instead of a context.WithValue and a record (48
// and 112). As a Context it is its parent with the record's scope:
// Deadline, Done and Err are the parent's, so a context made under it
// finds the parent's cancelation as it would under context.WithValue, and
// starts no goroutine to watch it. The record is a field, not embedded,
// so that the context has no methods of the region's (End, Run) for a
// type assertion to find.
type scopedRegion struct {
	g      goroutine
	parent Context
}

// enterScope is track.EnterScope: it scopes parent to s and tracks the
// calling goroutine against the result until the region ends.
func enterScope(parent Context, s track.Scope, site uintptr, opts *track.Options) (Context, track.Region) {
	tr := s.(*tracking)
	m := tr.m
	if m.closed.Load() || m.foreign() {
		return context.WithValue(parent, trackingKey{}, tr), untrackedRegion{}
	}
	c := &scopedRegion{parent: parent}
	c.g.ctx, c.g.opts, c.g.region = c, opts, true
	m.list(&c.g, tr, site) // sets c.g.live, whose key holds tr: c.g.tr()
	c.g.enter()
	return c, &c.g
}

func (c *scopedRegion) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c *scopedRegion) Done() <-chan struct{}       { return c.parent.Done() }
func (c *scopedRegion) Err() error                  { return c.parent.Err() }

func (c *scopedRegion) Value(key any) any {
	if _, ok := key.(trackingKey); ok {
		return c.g.tr()
	}
	return c.parent.Value(key)
}

// String names the context in the style of context.WithValue's, with
// its scope.
func (c *scopedRegion) String() string {
	return fmt.Sprintf("%v.WithValue(ctxguard.trackingKey, scope %q)", c.parent, c.g.tr().scope)
}
