package ctxguard

import (
	"log/slog"
	"time"

	"github.com/ctxguard/ctxguard/internal/track"
)

// Hooks: package spawn, the middleware and ctxguardtest reach the
// registry through internal/track, whose function variables this package
// sets when it is initialized, so that the public packages import no
// internals of each other.

func init() {
	track.Go = goTracked
	track.WithCancelCause = withCancelCauseAt
	track.ScopeOf = func(ctx Context, m any, scope string) track.Scope {
		mon, _ := m.(*Monitor)
		if mon == nil {
			mon = trackingOf(ctx).monitor()
		}
		return mon.scoped(scope)
	}
	track.EnterScope = enterScope
	track.Entered = func(ctx Context) bool { _, ok := ctx.(*scopedRegion); return ok }
	track.MonitorOf = func(ctx Context) any { return trackingOf(ctx).monitor() }
	track.Wait = waitGroup
	track.LoopRunning = func(m any) bool { return m.(*Monitor).loopGoroutines.Load() > 0 }
	track.CaptureStacks = func(m any) int {
		mon := m.(*Monitor)
		mon.mu.Lock()
		want, _ := mon.wantedStacksLocked(true)
		mon.mu.Unlock()
		c := &capture{want: want}
		c.run()
		return len(c.found)
	}
	track.TestMonitor = func(grace time.Duration) (any, func() uint64) {
		m := New(Config{Grace: grace, CancelSampleRate: 1, Logger: slog.New(slog.DiscardHandler)})
		m.uncalledIsDropped = true
		return m, m.cancelsCollected.Load
	}
}
