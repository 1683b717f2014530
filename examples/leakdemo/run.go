package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxdebug"
	"github.com/ctxguard/ctxguard/ctxguard/ctxprom"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var routes = []string{"/slow", "/drop", "/good"}

// run is the demo: serve, drive timed-out requests, report, clean up.
func run(ctx context.Context, o options, out io.Writer) error {
	var logs bytes.Buffer
	logOut := io.Writer(&logs)
	if o.serve {
		logOut = out
	}
	m := ctxguard.New(ctxguard.Config{
		Grace:            o.grace,
		CancelSampleRate: 1, // the demo tracks every cancel func; the default samples 1 in 128
		Logger:           slog.New(slog.NewTextHandler(logOut, nil)),
	})
	defer m.Close()
	lagStarts := observeLagStarts(m)

	a := &app{base: ctxguard.WithMonitor(context.Background(), m), release: make(chan struct{})} //ctxvet:ignore brokenchain the server's base context outlives run's ctx on purpose
	defer a.releaseOnce()
	reg := prometheus.NewRegistry()
	reg.MustRegister(ctxprom.NewCollector(m))
	mux := http.NewServeMux()
	guard := []httpguard.Option{httpguard.WithMonitor(m)}
	if o.limit > 0 {
		guard = append(guard, httpguard.WithLaggingLimit(o.limit))
	}
	mux.Handle("/", httpguard.Handler(a.routes(), guard...))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// The debug page, mounted before the requests so that it observes
	// their lags from the start.
	mux.Handle("/debug/ctxguard/", http.StripPrefix("/debug/ctxguard", ctxdebug.Handler(m)))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, BaseContext: func(net.Listener) context.Context { return a.base }}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	fmt.Fprintf(out, "leakdemo: server on %s (routes /slow, /drop, /good; grace %v)\n", base, o.grace)
	before := runtime.NumGoroutine()
	start := time.Now()
	fmt.Fprintf(out, "sending %d requests to each route, each giving up after %v (like curl --max-time)...\n", o.requests, o.timeout)
	first := o
	if o.limit > 0 {
		first.requests = o.requests / 2
		fmt.Fprintf(out, "(in two waves: with -limit %d, /slow turns requests away once %d of its goroutines lag)\n", o.limit, o.limit)
	}
	outcomes := drive(base, first)
	lagging := first.requests // every /slow request of the first wave leaks

	fmt.Fprintf(out, "waiting for the grace period (%v) to pass...\n", o.grace)
	if err := waitFor(ctx, o.grace+20*time.Second, func() bool {
		runtime.GC() // dropped cancel funcs are noticed when they are collected
		s := m.Snapshot()
		_, seen := lagStarts()["GET /slow"] // its event, delivered just after the count
		return s.Lagging >= lagging && s.DroppedCancels >= uint64(first.requests) && seen && blockedKnown(s)
	}); err != nil {
		return fmt.Errorf("waiting for ctxguard's findings: %w", err)
	}
	if o.limit > 0 {
		second := o
		second.requests = o.requests - first.requests
		fmt.Fprintf(out, "sending the second wave of %d requests to each route...\n", second.requests)
		outcomes = merge(outcomes, drive(base, second))
		if err := waitFor(ctx, 20*time.Second, func() bool {
			runtime.GC()
			return m.Snapshot().DroppedCancels >= uint64(o.requests)
		}); err != nil {
			return fmt.Errorf("waiting for the second wave's dropped cancels: %w", err)
		}
	}
	withLeaks := runtime.NumGoroutine()
	report(out, m.Snapshot(), lagStarts(), outcomes, time.Since(start))
	if err := printMetrics(out, base); err != nil {
		return err
	}

	if o.serve {
		fmt.Fprintf(out, "\nserving until interrupted; open the debug page:\n  %[1]s/debug/ctxguard/\nor try:\n"+
			"  curl --max-time 1 %[1]s/slow\n  curl -s '%[1]s/debug/ctxguard/?format=json'\n"+
			"  curl -s %[1]s/metrics | grep ^ctxguard_\n  curl -s '%[1]s/debug/pprof/goroutine?debug=1'\n", base)
		<-ctx.Done()
		return nil
	}
	a.releaseOnce()
	if err := waitFor(ctx, 30*time.Second, func() bool { return m.Snapshot().Live == 0 }); err != nil {
		return fmt.Errorf("waiting for the leaked goroutines to end: %w", err)
	}
	srv.Close()
	after := runtime.NumGoroutine()
	fmt.Fprintf(out, "\ngoroutines: %d before the requests, %d with the leaks, %d once the leaked ones were released\n",
		before, withLeaks, after)
	m.Close() // logs the last aggregated report
	fmt.Fprintf(out, "\nctxguard's log (aggregated: one record per site, whatever the number of events):\n%s", logs.String())
	return nil
}

// blockedKnown reports whether every lagging goroutine's blocking location
// is known: their stacks are captured a moment after they start lagging.
func blockedKnown(s ctxguard.Snapshot) bool {
	for _, g := range s.Goroutines {
		n := g.BlockedAtOmitted
		for _, b := range g.BlockedAt {
			n += b.Count
		}
		if n != g.Lagging {
			return false
		}
	}
	return true
}

// releaseOnce ends the slow workers.
func (a *app) releaseOnce() {
	a.once.Do(func() { close(a.release) })
}

// merge adds the outcomes of b to those of a, per route.
func merge(a, b map[string]map[string]int) map[string]map[string]int {
	for route, counts := range b {
		for k, n := range counts {
			a[route][k] += n
		}
	}
	return a
}

// describe says what became of a route's requests.
func describe(counts map[string]int) string {
	var parts []string
	for _, k := range []string{"timed out", "answered", "turned away (503)", "failed"} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

// drive sends o.requests concurrent requests to each route and returns
// what became of them, per route.
func drive(base string, o options) map[string]map[string]int {
	client := &http.Client{Timeout: o.timeout}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	counts := make(map[string]map[string]int)
	for _, route := range routes { // all before any request: the requests read counts
		counts[route] = make(map[string]int)
	}
	var wg sync.WaitGroup
	for _, route := range routes {
		for range o.requests {
			wg.Go(func() {
				outcome := "answered"
				resp, err := client.Get(base + route)
				switch {
				case err != nil && errors.Is(err, context.DeadlineExceeded) || err != nil && strings.Contains(err.Error(), "Timeout"):
					outcome = "timed out"
				case err != nil:
					outcome = "failed"
				case resp.StatusCode == http.StatusServiceUnavailable:
					outcome = "turned away (503)"
					resp.Body.Close()
				default:
					resp.Body.Close()
				}
				mu.Lock()
				counts[route][outcome]++
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return counts
}

// lagStart is what the first LagStart event of a scope said.
type lagStart struct {
	ended time.Time
	cause error
}

// observeLagStarts collects the first LagStart event per scope; the
// returned func reads them.
func observeLagStarts(m *ctxguard.Monitor) func() map[string]lagStart {
	var mu sync.Mutex
	first := make(map[string]lagStart)
	m.Observe(func(e ctxguard.Event) {
		if e.Kind != ctxguard.EventLagStart {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if _, ok := first[e.Scope]; !ok {
			first[e.Scope] = lagStart{e.Ended, e.Cause}
		}
	})
	return func() map[string]lagStart {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(first)
	}
}

// report prints the findings per route and the dropped cancels.
func report(out io.Writer, s ctxguard.Snapshot, starts map[string]lagStart, outcomes map[string]map[string]int, elapsed time.Duration) {
	fmt.Fprintf(out, "\nctxguard found, %.1fs after the first request:\n\n", elapsed.Seconds())
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "route\trequests\tlagging now\tlagged in total")
	for _, route := range routes {
		scope := "GET " + route
		lagging, lagged := 0, uint64(0)
		for _, g := range s.Goroutines {
			if g.Scope == scope {
				lagging += g.Lagging
				lagged += g.Lagged
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", scope, describe(outcomes[route]), lagging, lagged)
	}
	tw.Flush()
	for _, g := range s.Goroutines {
		if g.Lagging == 0 {
			continue
		}
		fmt.Fprintf(out, "\n  %d lagging in %q: goroutine %s\n    spawned at %s\n", g.Lagging, g.Scope, g.Name, g.Site)
		for _, b := range g.BlockedAt {
			fmt.Fprintf(out, "    %d blocked at %s (%s)\n", b.Count, b.Site, b.Reason)
		}
		if st, ok := starts[g.Scope]; ok {
			fmt.Fprintf(out, "    still running %.1fs after its request context ended; cause: %v\n", time.Since(st.ended).Seconds(), st.cause)
		}
	}
	fmt.Fprintf(out, "\ndropped cancel funcs (collected uncalled while their context was live): %d\n", s.DroppedCancels)
	for _, sc := range s.DroppedCancelSites {
		fmt.Fprintf(out, "  %d created at %s (%s)\n", sc.Count, sc.Site, sc.Site.Function)
	}
}

// printMetrics scrapes /metrics and prints the ctxguard series with a
// nonzero value, histogram buckets aside.
func printMetrics(out io.Writer, base string) error {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	fmt.Fprintf(out, "\nthe same, as Prometheus scrapes it from /metrics (ctxguard series with a value):\n")
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "ctxguard_") || strings.Contains(line, "_bucket{") || strings.HasSuffix(line, " 0") {
			continue
		}
		fmt.Fprintln(out, "  "+line)
	}
	return sc.Err()
}

// waitFor polls cond until it holds, ctx ends or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
