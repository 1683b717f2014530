package spawn_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// A goroutine that ignores its context is reported once its context has
// been done for longer than Grace.
func ExampleGo() {
	m := ctxguard.New(ctxguard.Config{Grace: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))

	release := make(chan struct{})
	spawn.Go(ctx, func(ctx context.Context) {
		<-release // never looks at ctx.Done()
	}, spawn.WithName("stubborn"))

	cancel()
	for m.Snapshot().Lagging == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	s := m.Snapshot()
	fmt.Println("lagging:", s.Lagging, s.Goroutines[0].Name)
	close(release)
	// Output: lagging: 1 stubborn
}
