package mcpguard_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ctxguard/ctxguard/middleware/mcpguard"
)

// The incident with a lagging limit of 3: the stubborn tool is called 12
// times by a client that gives up 50 ms after each call reached the tool.
// The calls let through before the tool's lagging count reached 3 (the
// limit, plus those in flight meanwhile) lag; the rest are turned away at
// once with a tool error that says why, counted as shed; another tool
// answers every call throughout; once the stuck calls return, the tool is
// served again.
func TestLaggingLimitTurnsAwayCallsOfThatToolOnly(t *testing.T) {
	const (
		limit = 3
		calls = 12
		more  = 10
	)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			m := newMonitor(t)
			ts := newTools()
			defer ts.free()
			cs := tr.connect(t, newServer(ts, []mcpguard.Option{mcpguard.WithMonitor(m), mcpguard.WithLaggingLimit(limit)}))

			admitted, shed := 0, 0
			stubborn := func(i int) {
				t.Helper()
				res, err := ts.giveUpOn(cs, "stubborn")
				switch {
				case errors.Is(err, context.Canceled):
					admitted++
				case err == nil && res.IsError && strings.Contains(text(res), "still running after they were cancelled (limit 3)"):
					if secs, ok := res.Meta["ctxguard/retryAfterSeconds"].(float64); !ok || secs < 1 {
						t.Errorf("call %d turned away with _meta %v, want ctxguard/retryAfterSeconds of 1 or more", i, res.Meta)
					}
					shed++
				default:
					t.Fatalf("call %d: %q (IsError %v), %v; want it cancelled or turned away", i, text(res), res != nil && res.IsError, err)
				}
				if res, err := callFor(cs, "quick", giveUp*100); err != nil || res.IsError || text(res) != "done" {
					t.Fatalf("quick, after stubborn call %d: %q, %v; want it answered", i, text(res), err)
				}
			}
			for i := range calls {
				stubborn(i)
			}
			waitFor(t, "every call let through is lagging", func() bool { return m.Snapshot().Lagging == admitted })
			s := m.Snapshot()
			t.Logf("%d calls: %d let through and lagging, %d turned away", calls, admitted, shed)
			if admitted < limit || admitted+shed != calls {
				t.Errorf("%d let through, %d turned away; want at least %d let through, %d in all", admitted, shed, limit, calls)
			}
			if sc := scopeStats(s, stubbornScope); sc.Shed != uint64(shed) || sc.Lagging != admitted {
				t.Errorf("scope %s: Shed %d, Lagging %d; want %d, %d", stubbornScope, sc.Shed, sc.Lagging, shed, admitted)
			}

			// Now that the limit is reached, every call is turned away.
			for i := range more {
				stubborn(calls + i)
			}
			s = m.Snapshot()
			if sc := scopeStats(s, stubbornScope); shed != calls+more-admitted || sc.Shed != uint64(shed) || !sc.Shedding || s.Lagging != admitted {
				t.Errorf("after %d more calls: %d turned away (scope Shed %d, Shedding %v), Lagging %d; want %d, %d, true, %d",
					more, shed, sc.Shed, sc.Shedding, s.Lagging, calls+more-admitted, calls+more-admitted, admitted)
			}

			ts.free()
			waitFor(t, "the stuck calls return", func() bool { return m.Snapshot().Live == 0 })
			if res, err := callFor(cs, "stubborn", giveUp*100); err != nil || res.IsError || text(res) != "released" {
				t.Errorf("stubborn once its calls returned: %q, %v; want it served", text(res), err)
			}
		})
	}
}

// The same with the 12 calls at once, and the other tool called at once
// with them: the calls in flight before any lagged are all let through
// (none was lagging yet) and all lag once the client gives up on them;
// then every further call is turned away, and the other tool answers
// every call. The client gives up once every call has reached its
// handler: one that gave up before its call reached the server would have
// nothing to lag.
func TestLaggingLimitWithConcurrentCalls(t *testing.T) {
	const (
		limit = 3
		calls = 12
	)
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			m := newMonitor(t)
			ts := newTools()
			defer ts.free()
			cs := tr.connect(t, newServer(ts, []mcpguard.Option{mcpguard.WithMonitor(m), mcpguard.WithLaggingLimit(limit)}))

			clients, clientGivesUp := context.WithCancel(context.Background())
			defer clientGivesUp()
			var wg sync.WaitGroup
			for range calls {
				wg.Go(func() {
					res, err := cs.CallTool(clients, callParams("stubborn"))
					if !errors.Is(err, context.Canceled) {
						t.Errorf("stubborn: %q, %v; want it cancelled", text(res), err)
					}
				})
				wg.Go(func() {
					if res, err := callFor(cs, "quick", giveUp*100); err != nil || res.IsError || text(res) != "done" {
						t.Errorf("quick: %q, %v; want it answered", text(res), err)
					}
				})
			}
			waitFor(t, "every call to reach its handler", func() bool { return ts.stubborn.Load() == calls })
			clientGivesUp()
			wg.Wait()
			waitFor(t, "every call let through is lagging", func() bool { return m.Snapshot().Lagging == calls })
			for i := range calls {
				if res, err := callFor(cs, "stubborn", giveUp*100); err != nil || !res.IsError {
					t.Fatalf("call %d after the limit was reached: %q, %v; want it turned away", i, text(res), err)
				}
			}
			if sc := scopeStats(m.Snapshot(), stubbornScope); sc.Shed != calls || sc.Lagging != calls {
				t.Errorf("scope %s: Shed %d, Lagging %d; want %d, %d", stubbornScope, sc.Shed, sc.Lagging, calls, calls)
			}
		})
	}
}
