package ctxguard_test

import (
	"fmt"
	"log/slog"
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

// subscribe stands for code that starts goroutines with a go statement,
// untracked: each waits for an event that, here, does not come.
func subscribe(events <-chan string, got chan<- string) {
	go func() {
		got <- <-events
	}()
}

// With WatchUntracked, the Monitor also lists the goroutines it does not
// track that pile up at one place, by the function they started with and
// where they are blocked.
func ExampleConfig_watchUntracked() {
	events, got := make(chan string), make(chan string, 150)
	defer close(events)
	for range 150 {
		subscribe(events, got)
	}

	m := context.New(context.Config{WatchUntracked: true, ReportInterval: time.Second,
		Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	for len(m.Snapshot().Untracked) == 0 || m.Snapshot().Untracked[0].Count < 150 {
		time.Sleep(10 * time.Millisecond) // for a look at them all, once a second at most
	}
	for _, u := range m.Snapshot().Untracked {
		fmt.Printf("%d goroutines started by %s are blocked (%s) at line %d of its file\n",
			u.Count, u.Start.Function, u.BlockedAt.Reason, u.BlockedAt.Site.Line)
	}
	// Output:
	// 150 goroutines started by github.com/ctxguard/ctxguard/ctxguard_test.subscribe.func1 are blocked (chan receive) at line 15 of its file
}
