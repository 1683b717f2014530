package ctxguard_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// With Config.TraceDir, the first lagging goroutine of a site writes the
// last seconds of execution trace to a file in TraceDir. The lag record
// names it ("trace"), TraceStatus lists it, and go tool trace opens it:
// the goroutine's ctxguard.lagging task is in it.
func ExampleConfig_traceDir() {
	dir, err := os.MkdirTemp("", "ctxguard-traces")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	m := ctxguard.New(ctxguard.Config{
		TraceDir: dir,
		Grace:    10 * time.Millisecond,
		Logger:   slog.New(slog.DiscardHandler),
	})
	defer m.Close()
	fmt.Println("recording:", m.TraceStatus().Recording)

	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	release := make(chan struct{})
	defer close(release)
	spawn.Go(ctx, func(ctx context.Context) {
		<-release // never looks at ctx.Done()
	}, spawn.WithName("stubborn"))
	cancel()

	for len(m.TraceStatus().Files) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	file := m.TraceStatus().Files[0]
	fmt.Println("in TraceDir:", filepath.Dir(file) == dir)
	fmt.Println("named by time and site:", strings.HasPrefix(filepath.Base(file), "ctxguard-2"),
		strings.Contains(file, "ctxguard_flightrecorder_example_test.go_"))
	// Output:
	// recording: true
	// in TraceDir: true
	// named by time and site: true true
}

// In a program, a Monitor with a TraceDir as the Default watches every
// goroutine whose context carries no Monitor of its own. (Compiled, not
// run: it would change the Default of the tests that follow.)
func ExampleSetDefault_traceDir() {
	m := ctxguard.New(ctxguard.Config{TraceDir: "/var/tmp/ctxguard-traces"})
	defer m.Close()
	ctxguard.SetDefault(m)
}
