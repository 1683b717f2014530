package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// run starts the tool server, runs the agent, stops the run while fetch is
// waiting on its tool, and prints what ctxguard found once grace has passed.
func run(ctx context.Context, out io.Writer, grace time.Duration) error {
	m := ctxguard.New(ctxguard.Config{
		Grace:            grace,
		CancelSampleRate: 1, // track every cancel func; the default samples 1 in 128
		Logger:           slog.New(slog.DiscardHandler),
	})
	defer m.Close()

	release := make(chan struct{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: toolServer(release)}
	go srv.Serve(ln)
	defer srv.Close()
	client := &http.Client{}
	defer client.CloseIdleConnections()
	a := &agent{tools: "http://" + ln.Addr().String(), client: client}

	runCtx, stop := context.WithCancelCause(ctxguard.WithScope(ctxguard.WithMonitor(ctx, m), "agent run 42"))
	defer stop(nil)
	done := make(chan error, 1)
	spawn.Go(runCtx, func(ctx context.Context) { done <- a.plan(ctx) }, spawn.WithName("planner"))
	fmt.Fprintf(out, "agent: run 42 started (planner -> search, fetch, summarize; tools on %s)\n", a.tools)

	// summarize has finished; a collection notices its dropped cancel func.
	if err := waitFor(10*time.Second, func() bool { runtime.GC(); return m.Snapshot().DroppedCancels == 1 }); err != nil {
		return fmt.Errorf("waiting for the dropped cancel: %w", err)
	}
	fmt.Fprintln(out, "agent: the user presses stop")
	stop(errStopped)

	// fetch ignores the stop, and the planner waits for fetch.
	if err := waitFor(grace+10*time.Second, func() bool { return m.Snapshot().Lagging == 2 }); err != nil {
		return fmt.Errorf("waiting for the lagging step: %w", err)
	}
	s := m.Snapshot()
	fmt.Fprintf(out, "\nctxguard found, %v after the stop:\n", grace.Round(time.Millisecond))
	for _, g := range s.Goroutines {
		if g.Lagging > 0 {
			fmt.Fprintf(out, "  lagging: %s in %q, spawned at %s\n", g.Name, g.Scope, g.Site)
		}
	}
	for _, sc := range s.DroppedCancelSites {
		fmt.Fprintf(out, "  dropped cancel func: %d, created at %s (%s)\n", sc.Count, sc.Site, sc.Site.Function)
	}
	fmt.Fprintf(out, "  cause of the run's end: %v\n", context.Cause(runCtx))

	close(release) // the tool server answers the call nobody is waiting for
	fmt.Fprintf(out, "agent: once fetch's tool answered, the planner returned %q\n", <-done)
	if err := waitFor(10*time.Second, func() bool { return m.Snapshot().Live == 0 }); err != nil {
		return fmt.Errorf("waiting for the fetch step to end: %w", err)
	}
	fmt.Fprintln(out, "agent: nothing is left running")
	return nil
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}
