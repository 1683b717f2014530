// Command leakdemo shows ctxguard finding real context-cancellation leaks in
// a running HTTP server, in a few seconds and with nothing to set up:
//
//	go run ./examples/leakdemo
//
// It starts a server on 127.0.0.1 with the httpguard middleware and three
// routes: /slow, whose worker goroutine ignores the request context (the
// classic bad handler); /drop, which drops a cancel func; and /good, which
// stops when its request does. It sends requests that give up after a
// second, the way curl --max-time 1 does, waits out the grace period, and
// prints what ctxguard found: per route, the lagging goroutines with their
// spawn site, delay and cause; the dropped cancel funcs with their sites;
// the same figures as Prometheus exposition text; and the goroutine count
// with and without the leaks. Then it releases the leaked goroutines and
// exits with status 0.
//
// With -serve it keeps the server up instead, with the ctxguard debug page
// at /debug/ctxguard/ (package ctxdebug; its URL is printed), /metrics
// (Prometheus) and /debug/pprof/, for a person to open in a browser or poke
// at with curl. Run with -h for the flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// options are the command's flags.
type options struct {
	requests int
	timeout  time.Duration
	grace    time.Duration
	serve    bool
	addr     string
	limit    int // lagging limit of the routes; 0: none
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("leakdemo", flag.ContinueOnError)
	fs.IntVar(&o.requests, "requests", 20, "requests sent to each route")
	fs.DurationVar(&o.timeout, "timeout", time.Second, "client timeout of each request, like curl --max-time")
	fs.DurationVar(&o.grace, "grace", ctxguard.DefaultGrace, "how long a goroutine may outlive its request before it is lagging")
	fs.BoolVar(&o.serve, "serve", false, "keep the server up (with /debug/ctxguard/, /metrics and /debug/pprof/) until interrupted, instead of exiting after the report")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:0", "address to listen on; with -serve, try 127.0.0.1:8080")
	fs.IntVar(&o.limit, "limit", 0, "turn requests away (503) from a route once this many of its goroutines lag (httpguard.WithLaggingLimit); "+
		"the requests then come in two waves, the second after the first has started lagging")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./examples/leakdemo [flags]\n\n"+
			"Starts an HTTP server with leaky routes, drives timed-out requests at them\n"+
			"and prints what ctxguard finds. Flags:\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.requests <= 0 || o.timeout <= 0 || o.grace <= 0 || o.limit < 0 {
		return o, fmt.Errorf("-requests, -timeout and -grace must be positive, -limit not negative")
	}
	if o.limit > 0 && o.requests < 2 {
		return o, fmt.Errorf("-limit sends two waves of requests: -requests must be at least 2")
	}
	return o, nil
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err == flag.ErrHelp {
		return
	}
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "leakdemo:", err)
		os.Exit(1)
	}
}
