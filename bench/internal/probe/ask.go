package probe

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
	"go.uber.org/goleak"
)

// A Population is n goroutines started with spawn.Go, blocked until Stop:
// lagging ones (Lagging), what "which goroutines are lagging?" is asked
// about, or healthy ones of the same code (Healthy).
type Population struct {
	N       int
	Monitor *ctxguard.Monitor
	release chan struct{}
	exited  chan struct{}
}

// Lagging starts n goroutines with spawn.Go under a context that is then
// cancelled, tracked by a Monitor of their own with a grace of one
// millisecond, and waits until the Monitor counts all of them lagging.
// They block on a channel the Population holds, so they stay reachable:
// by its definition, Go's leak profile reports none of them.
func Lagging(n int) (*Population, error) {
	m := ctxguard.New(ctxguard.Config{Grace: time.Millisecond, Logger: slog.New(slog.DiscardHandler), ReportInterval: time.Hour})
	p := &Population{N: n, Monitor: m, release: make(chan struct{}), exited: make(chan struct{}, n)}
	ctx, cancel := context.WithCancel(ctxguard.WithMonitor(context.Background(), m))
	for range n {
		spawn.Go(ctx, p.lag)
	}
	cancel()
	deadline := time.Now().Add(time.Minute)
	for m.Snapshot().Lagging != n {
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("probe: %d goroutines not all lagging after a minute", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p, nil
}

// Healthy starts n goroutines with spawn.Go running the same code as
// Lagging's, under a context that stays live: never lagging.
func Healthy(n int) *Population {
	m := ctxguard.New(ctxguard.Config{Logger: slog.New(slog.DiscardHandler)})
	p := &Population{N: n, Monitor: m, release: make(chan struct{}), exited: make(chan struct{}, n)}
	ctx := ctxguard.WithMonitor(context.Background(), m)
	for range n {
		spawn.Go(ctx, p.lag)
	}
	return p
}

func (p *Population) lag(context.Context) {
	<-p.release
	p.exited <- struct{}{}
}

// Stop ends the goroutines, waits for them to return and closes the Monitor.
func (p *Population) Stop() {
	close(p.release)
	for range p.N {
		<-p.exited
	}
	p.Monitor.Close()
}

// Snapshot asks ctxguard: one Monitor.Snapshot, checked to count every
// goroutine lagging.
func (p *Population) Snapshot(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if s := p.Monitor.Snapshot(); s.Lagging != p.N {
			b.Fatalf("Snapshot counts %d lagging, want %d", s.Lagging, p.N)
		}
	}
}

// GoleakOnePass returns a benchmark of goleak.Find answering after one
// pass. Find takes a goroutine dump, parses every stack and filters them;
// when goroutines are left it retries up to 20 times, sleeping with
// backoff up to 100 ms (about 0.43 s in all), and goleak 1.3.0 has no
// option to change that. Here IgnoreCurrent, taken once the population
// is running, filters every goroutine out, so Find returns after its first
// pass: the cost of one dump, parse and filter.
func (p *Population) GoleakOnePass() func(b *testing.B) {
	ignore := goleak.IgnoreCurrent()
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := goleak.Find(ignore); err != nil {
				b.Fatalf("goleak.Find: %v", err)
			}
		}
	}
}

// GoleakReporting is goleak.Find as a test calls it, finding the
// population: with its default retries.
func (p *Population) GoleakReporting(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := goleak.Find(); err == nil {
			b.Fatal("goleak.Find found nothing")
		}
	}
}

// GoroutineProfile asks runtime.GoroutineProfile for every goroutine's
// stack, into a slice allocated once.
func (p *Population) GoroutineProfile() func(b *testing.B) {
	records := make([]runtime.StackRecord, p.N+1000)
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			n, ok := runtime.GoroutineProfile(records)
			if !ok || n < p.N {
				b.Fatalf("GoroutineProfile: %d records, ok %v; want at least %d", n, ok, p.N)
			}
		}
	}
}

// LeakProfile writes Go's goroutine leak profile, as /debug/pprof/goroutineleak
// serves it (debug=0). Writing it first runs a full GC cycle with leak
// detection (runtime_goroutineLeakGC); its Count method alone does not, and
// returns what the last such cycle found. See [LeakProfileAvailable] for
// the releases that have it.
func (p *Population) LeakProfile(b *testing.B) {
	prof := pprof.Lookup("goroutineleak")
	if prof == nil {
		b.Fatal(NoLeakProfile)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := prof.WriteTo(io.Discard, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// LeakProfileAvailable tells whether this program has Go's goroutine leak
// profile: built with Go 1.27 or later, where it is a standard profile, or
// with Go 1.26 and GOEXPERIMENT=goroutineleakprofile.
func LeakProfileAvailable() bool { return pprof.Lookup("goroutineleak") != nil }

// NoLeakProfile is the error text of a program that needs the goroutine
// leak profile and was built without it.
const NoLeakProfile = "no goroutineleak profile: build with Go 1.27 or later, or Go 1.26 with GOEXPERIMENT=goroutineleakprofile"

// LeakProfileNeedsExperiment tells whether a toolchain whose go env
// GOVERSION is goversion ("go1.26.8") has the goroutine leak profile only
// under GOEXPERIMENT=goroutineleakprofile: releases before Go 1.27 do;
// Go 1.27 made it standard and rejects the experiment's name. A
// development toolchain ("devel ...") is taken to be newer.
func LeakProfileNeedsExperiment(goversion string) bool {
	rest, ok := strings.CutPrefix(goversion, "go1.")
	if !ok {
		return false
	}
	digits := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
	if digits < 0 {
		digits = len(rest)
	}
	n, err := strconv.Atoi(rest[:digits])
	return err == nil && n < 27
}
