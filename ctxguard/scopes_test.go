package ctxguard

import (
	"context"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/internal/track"
	"github.com/ctxguard/ctxguard/internal/wait"
)

// A request the middleware turns away because its scope's lagging count
// had reached the limit can reach Shed after the count fell below it: the
// lagging handler returned between the middleware's read and its Shed.
// The scope must not be left shedding then, with nothing lagging: no
// return is left to end it, and with no request admitted (a load balancer
// that stopped sending, on Health's word) it would shed, and Health would
// call the program failing, for good.
func TestShedAfterTheCountFellLeavesTheScopeNotShedding(t *testing.T) {
	m := New(Config{Grace: time.Millisecond, Logger: discardLogger})
	defer m.Close()
	const limit = 1
	scope := track.ScopeOf(context.Background(), m, "GET /stuck")
	ctx, cancel := context.WithCancel(context.Background())
	_, region := track.EnterScope(ctx, scope, 0, nil)
	cancel() // the client hung up; the handler goes on
	wait.For(t, "the handler to lag", func() bool { return scope.Lagging() == limit })
	// The middleware reads the count for the next request: at the limit.
	region.End() // meanwhile the handler returns
	if scope.Lagging() != 0 {
		t.Fatalf("Lagging = %d after the handler returned, want 0", scope.Lagging())
	}
	scope.Shed(limit, 0) // the request read the count before the return
	for _, sc := range m.Snapshot().Scopes {
		if sc.Scope == "GET /stuck" && sc.Shedding {
			t.Errorf("scope %+v: shedding with %d lagging, below its limit %d", sc, sc.Lagging, limit)
		}
	}
	if h := m.Health(10); len(h.Scopes) > 0 && h.Scopes[0].Shedding {
		t.Errorf("Health: %+v, want no scope shedding", h)
	}
}
