// Command detect is the helper that bench's compare command runs in a
// process of its own, built normally or with the goroutine leak profile
// (standard from Go 1.27; GOEXPERIMENT=goroutineleakprofile on Go 1.26):
//
//	detect pattern -id p2a -with ctxguard|goleak|leakprofile|leakprofile-spawn
//
// runs one failure pattern of package patterns and prints, unparsed, what
// the detector reports after it: ctxguard's Snapshot as JSON, goleak.Find's
// error text, or the goroutine leak profile at debug=1. ctxguard and
// leakprofile-spawn start the pattern's goroutines with spawn.Go, the
// others with a go statement.
//
//	detect cost -n 1000,10000 -rounds 5 -benchtime 200ms
//
// measures Monitor.Snapshot against writing the goroutine leak profile, on
// the population of package probe, and prints one JSON line per n.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/ctxguard/ctxguard/bench/internal/probe"
	"github.com/ctxguard/ctxguard/bench/patterns"
	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/spawn"
	"go.uber.org/goleak"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "pattern":
		err = runPattern(os.Args[2:])
	case "cost":
		err = runCost(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "detect:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: detect pattern -id ID -with DETECTOR | detect cost -n N[,N...] [-rounds R] [-benchtime T]")
	os.Exit(2)
}

// Grace for the ctxguard runs: short, so a run takes a second.
const grace = 50 * time.Millisecond

func runPattern(args []string) error {
	fs := flag.NewFlagSet("pattern", flag.ExitOnError)
	id := fs.String("id", "", "pattern ID")
	with := fs.String("with", "", "ctxguard, goleak, leakprofile or leakprofile-spawn")
	fs.Parse(args)
	p, ok := patterns.Lookup(*id)
	if !ok {
		return fmt.Errorf("no pattern %q", *id)
	}
	env := patterns.Env{Root: context.Background(), Go: goStatement}
	var m *ctxguard.Monitor
	switch *with {
	case "ctxguard", "leakprofile-spawn":
		// Every cancel func tracked (the default tracks 1 in 128), and
		// everything reported to this Monitor, contexts from Background
		// included.
		m = ctxguard.New(ctxguard.Config{Grace: grace, CancelSampleRate: 1,
			Logger: slog.New(slog.DiscardHandler), ReportInterval: time.Hour})
		ctxguard.SetDefault(m)
		env.Go = spawnGo
	case "goleak", "leakprofile":
		// Nothing tracked: constructors and goroutines are package
		// context's and the go statement's.
		ctxguard.Default().Close()
	default:
		return fmt.Errorf("no detector %q", *with)
	}
	if strings.HasPrefix(*with, "leakprofile") && !probe.LeakProfileAvailable() {
		return errors.New(probe.NoLeakProfile)
	}

	p.Run(env)

	switch *with {
	case "ctxguard":
		// Past grace, a scan (every 250 ms) marks goroutines lagging; GC
		// runs the cleanups that count dropped cancel funcs.
		for range 20 {
			runtime.GC()
			time.Sleep(50 * time.Millisecond)
		}
		return json.NewEncoder(os.Stdout).Encode(m.Snapshot())
	case "goleak":
		time.Sleep(100 * time.Millisecond)
		if err := goleak.Find(); err != nil {
			fmt.Println(err)
		} else {
			fmt.Println("goleak: no unexpected goroutines")
		}
		return nil
	default:
		time.Sleep(100 * time.Millisecond)
		return pprof.Lookup("goroutineleak").WriteTo(os.Stdout, 1)
	}
}

func goStatement(ctx context.Context, fn func(context.Context)) { go fn(ctx) }

func spawnGo(ctx context.Context, fn func(context.Context)) { spawn.Go(ctx, fn) }

func runCost(args []string) error {
	fs := flag.NewFlagSet("cost", flag.ExitOnError)
	ns := fs.String("n", "1000", "comma-separated goroutine counts")
	rounds := fs.Int("rounds", 3, "rounds of the interleaved runs")
	benchtime := fs.String("benchtime", "100ms", "benchtime of each run")
	fs.Parse(args)
	if !probe.LeakProfileAvailable() {
		return errors.New(probe.NoLeakProfile)
	}
	for _, s := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		p, err := probe.Lagging(n)
		if err != nil {
			return err
		}
		rs := probe.Interleave(*rounds, *benchtime, p.Snapshot, p.LeakProfile)
		leaked := pprof.Lookup("goroutineleak").Count()
		p.Stop()
		line := struct {
			N      int          `json:"n"`
			Ours   probe.Result `json:"ours"`
			Theirs probe.Result `json:"theirs"`
			Leaked int          `json:"leaked"`
		}{n, rs[0], rs[1], leaked}
		if err := json.NewEncoder(os.Stdout).Encode(line); err != nil {
			return err
		}
	}
	return nil
}
