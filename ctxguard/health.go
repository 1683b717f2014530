package ctxguard

import (
	"fmt"
	"time"
)

// ShedTolerance is how long a scope may turn requests away (middleware
// with a lagging limit) before [Monitor.Health] calls the program failing:
// a route that sheds briefly recovers on its own; one that sheds for longer
// is stuck, and the instance should leave the load balancer's rotation
// until it recovers.
const ShedTolerance = 10 * time.Second

// A Health is what [Monitor.Health] says.
type Health struct {
	// Healthy is false while Lagging is at least the maxLagging asked
	// for, or while a scope has been turning requests away for longer
	// than ShedTolerance.
	Healthy bool
	// Lagging is the number of tracked goroutines lagging now.
	Lagging int
	// Scopes are the scopes with lagging goroutines or requests turned
	// away, most lagging first (as Snapshot.Scopes).
	Scopes []ScopeStats
}

// Health is the rule behind httpguard.HealthHandler and
// grpcguard.WatchHealth, for readiness probes: m is unhealthy while its
// goroutines lagging now number maxLagging or more, or while a scope has
// been turning requests away for longer than ShedTolerance. It reads only
// the shards' lagging counts and the scopes, not the per-goroutine
// breakdown of a Snapshot: its cost grows with the scopes in use. It
// panics if maxLagging is not positive.
func (m *Monitor) Health(maxLagging int) Health {
	m.mustBeNew("Monitor.Health")
	if maxLagging <= 0 {
		panic(fmt.Sprintf("ctxguard: Monitor.Health needs a positive maxLagging, got %d", maxLagging))
	}
	var h Health
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		h.Lagging += s.lagging
		s.mu.Unlock()
	}
	m.mu.Lock()
	h.Scopes = m.scopeStatsLocked()
	m.mu.Unlock()
	h.Healthy = h.Lagging < maxLagging
	now := time.Now()
	for _, sc := range h.Scopes {
		if sc.Shedding && now.Sub(sc.SheddingSince) > ShedTolerance {
			h.Healthy = false
		}
	}
	return h
}
