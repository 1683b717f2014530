package spawn_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// Inside a synctest bubble, spawn.Go, Groups, the constructors and the
// middleware work with the Default Monitor, whose goroutine lives outside
// the bubble: the bubble's goroutines are left alone, as under a go
// statement, and nothing of ctxguard's is captured by the bubble (which
// would panic with "blocked goroutines remain", or die operating on a
// bubble's channel from outside).
func TestSynctestWithTheDefaultMonitor(t *testing.T) {
	// The Default Monitor is in use outside the bubble, before and after.
	outside, cancel := ctxguard.WithCancel(context.Background())
	spawn.Go(outside, func(ctx context.Context) { <-ctx.Done() })
	defer cancel()

	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := ctxguard.WithTimeout(t.Context(), time.Second)
		defer cancel()
		done := make(chan struct{})
		spawn.Go(ctx, func(ctx context.Context) { <-ctx.Done(); close(done) })
		<-done // after a fake second

		g, gctx := spawn.WithContext(t.Context())
		for range 3 {
			g.Go(func() error { <-gctx.Done(); return nil })
		}
		g.Go(func() error { return errors.New("stop") })
		if err := g.Wait(); err == nil || err.Error() != "stop" {
			t.Errorf("Wait = %v", err)
		}

		for range 200 { // some of them sampled, were they tracked
			_, c := ctxguard.WithCancel(t.Context())
			c()
		}

		h := httpguard.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			spawn.Go(r.Context(), func(ctx context.Context) {})
		}))
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	})
}

// A Monitor made inside a bubble belongs to it: it tracks the bubble's
// goroutines on the bubble's fake clock.
func TestSynctestWithABubbleMonitor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})
		defer m.Close()
		ctx, cancel := context.WithCancel(ctxguard.WithMonitor(t.Context(), m))
		release := make(chan struct{})
		spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("stuck"))
		spawn.Go(ctx, func(ctx context.Context) { <-ctx.Done() }, spawn.WithName("good"))
		cancel()
		time.Sleep(9 * time.Second) // fake: within grace
		synctest.Wait()
		if s := m.Snapshot(); s.Lagging != 0 || s.Live != 1 {
			t.Errorf("within grace: Lagging %d, Live %d; want 0, 1", s.Lagging, s.Live)
		}
		time.Sleep(2 * time.Second) // past grace and a scan
		synctest.Wait()
		s := m.Snapshot()
		if s.Lagging != 1 || stats(s, "stuck").Lagging != 1 {
			t.Errorf("past grace: Lagging %d, want the stuck one", s.Lagging)
		}
		close(release)
		time.Sleep(time.Second)
		synctest.Wait()
		if g := stats(m.Snapshot(), "stuck"); g.Live != 0 || g.LateExits != 1 || g.ExitDelayMax < 10*time.Second {
			t.Errorf("after release: %+v, want a late exit after 10s or more", g)
		}
	})
}

// The Default Monitor's goroutine is never started inside a bubble: if it
// were, the goroutines tracked from outside would be watched from inside,
// and the bubble could never end. Run in a child process, which would hang.
func TestSynctestNeverCapturesTheDefaultMonitor(t *testing.T) {
	survives(t, func() {
		old := ctxguard.Default()
		ctxguard.SetDefault(ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)})) // its loop not started yet
		defer ctxguard.SetDefault(old)
		outside := make(chan struct{})
		spawned := make(chan struct{})
		stop := make(chan struct{})
		go func() { // a goroutine of the program, outside the bubble
			<-outside
			spawn.Go(context.Background(), func(context.Context) { <-stop })
			close(spawned)
		}()
		synctest.Test(t, func(t *testing.T) {
			done := make(chan struct{})
			spawn.Go(t.Context(), func(context.Context) { close(done) }) // first use of the Default Monitor
			close(outside)
			<-spawned
			<-done
		})
		close(stop)
	})
}
