// Package testedservice shows how to test code that uses ctxguard: goleak and
// testing/synctest keep working, and package ctxguardtest checks, test by
// test (t.Parallel included), that the code stops when its context ends.
//
// The code under test is a small service whose handler fans work out to
// goroutines with spawn.Group and spawn.Go.
package testedservice

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/ctxguard/ctxguard/spawn"
)

// Lookup answers a request by asking several backends at once, each in a
// goroutine of a spawn.Group, and by refreshing a cache in the background.
type Lookup struct {
	Backends []func(ctx context.Context) (string, error)
	Refresh  func(ctx context.Context)
}

func (l *Lookup) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g, ctx := spawn.WithContext(r.Context())
	results := make([]string, len(l.Backends))
	for i, backend := range l.Backends {
		g.Go(func() error {
			v, err := backend(ctx)
			results[i] = v
			return err
		})
	}
	if l.Refresh != nil {
		spawn.Go(r.Context(), l.Refresh, spawn.WithName("refresh"))
	}
	if err := g.Wait(); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	fmt.Fprintln(w, results)
}

// Slow is a backend that answers after d, or gives up when ctx ends.
func Slow(d time.Duration) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		select {
		case <-time.After(d):
			return "ok", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}
