package ctxguard_test

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"

	context "github.com/ctxguard/ctxguard/ctxguard"
)

// The one-line switch: this file imports ctxguard under the name context,
// and everything else stays as it was.
func ExampleWithTimeout() {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()

	select {
	case <-time.After(time.Second):
		fmt.Println("overslept")
	case <-ctx.Done():
		fmt.Println(ctx.Err())
	}
	// Output: context deadline exceeded
}

// A Monitor scoped to a context counts the cancel funcs dropped under it.
// This one tracks every cancel func; the default tracks one in 128.
func ExampleMonitor_Snapshot() {
	m := context.New(context.Config{CancelSampleRate: 1, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	root := context.WithMonitor(context.Background(), m)

	leak := func() {
		ctx, _ := context.WithCancel(root) //ctxvet:ignore lostcancel the cancel func is dropped, as this example counts
		_ = ctx
	}
	for range 3 {
		leak()
	}
	for m.Snapshot().DroppedCancels < 3 {
		runtime.GC() // drops are found when the garbage collector frees them
		time.Sleep(time.Millisecond)
	}

	s := m.Snapshot()
	fmt.Println("dropped cancels:", s.DroppedCancels)
	fmt.Println("created in:", s.DroppedCancelSites[0].Site.Function)
	// Output:
	// dropped cancels: 3
	// created in: github.com/ctxguard/ctxguard/ctxguard_test.ExampleMonitor_Snapshot.func1
}
