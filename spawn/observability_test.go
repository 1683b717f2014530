package spawn_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"testing"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/wait"
	"github.com/ctxguard/ctxguard/spawn"
)

// A lagging goroutine shows in the execution trace as a "ctxguard.lagging"
// task, with a log message at lag start and one at its late exit, as `go
// tool trace` parses it.
func TestExecutionTraceShowsLagging(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("an execution trace is already being recorded")
	}
	m, root := newMonitor(t)
	out := filepath.Join(t.TempDir(), "trace.out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := trace.Start(f); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(root)
	release := make(chan struct{})
	spawn.Go(ctx, func(context.Context) { <-release }, spawn.WithName("traced"))
	cancel()
	wait.For(t, "lagging", func() bool { return m.Snapshot().Lagging == 1 })
	close(release)
	wait.For(t, "exit", func() bool { return m.Snapshot().Live == 0 })
	trace.Stop()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	parsed, err := exec.Command("go", "tool", "trace", "-d=parsed", out).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool trace: %v\n%s", err, parsed)
	}
	var tasks, starts, exits int
	for _, line := range strings.Split(string(parsed), "\n") {
		switch {
		case strings.Contains(line, "TaskBegin") && strings.Contains(line, `"ctxguard.lagging"`):
			tasks++
		case strings.Contains(line, "lag start: traced spawned at"):
			starts++
		case strings.Contains(line, "late exit: traced spawned at"):
			exits++
		}
	}
	if tasks != 1 || starts != 1 || exits != 1 {
		t.Errorf("trace has %d ctxguard.lagging tasks, %d lag starts, %d late exits; want 1 each", tasks, starts, exits)
	}
}

// With Config.ProfileLabels, the goroutine profile groups tracked
// goroutines by ctxguard name and scope.
func TestProfileLabelsGroupGoroutines(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{ProfileLabels: true, Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	root := ctxguard.WithScope(ctxguard.WithMonitor(context.Background(), m), "GET /items")
	release := make(chan struct{})
	defer close(release)
	const n = 7
	for range n {
		spawn.Go(root, func(context.Context) { <-release }, spawn.WithName("labelled"))
	}
	wait.For(t, "the goroutines run", func() bool { return labelled(t) == n })
}

// labelled counts goroutines in the profile carrying the test's labels.
func labelled(t *testing.T) int {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	// debug=1 groups goroutines: "N @ pcs" then "# labels: {...}".
	re := regexp.MustCompile(`(?m)^(\d+) @ .*\n# labels: \{(.*)\}`)
	total := 0
	for _, m := range re.FindAllStringSubmatch(buf.String(), -1) {
		if m[2] == `"ctxguard.name":"labelled", "ctxguard.scope":"GET /items"` {
			c, _ := strconv.Atoi(m[1])
			total += c
		}
	}
	return total
}
