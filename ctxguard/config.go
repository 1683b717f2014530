package ctxguard

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults for the zero Config. Each is the production choice; the comments
// say why.
const (
	// DefaultGrace is how long a tracked goroutine may keep running after its
	// context is done before it counts as lagging. Well-behaved code returns
	// within milliseconds of cancellation; five seconds leaves room for
	// cleanup work (flushing, closing connections) without letting a
	// goroutine that ignores its context go unnoticed for long.
	DefaultGrace = 5 * time.Second

	// DefaultCancelSampleRate tracks one cancel func in 128. Tracking one
	// costs a tracker with a finalizer, set and, on cancel, removed again
	// (bench/RESULTS.md, "Context constructors", track-all, has what that
	// adds to a bare context.WithCancel). At one in 64 the
	// cheapest constructor, WithCancel, measured 1.03x to 1.11x package
	// context from run to run; one in 128 keeps every constructor within
	// 1.1x (BenchmarkConstructors in cancel_bench_test.go), and a site that
	// drops its cancel on every request is still reported within a few
	// hundred requests.
	DefaultCancelSampleRate = 128

	// DefaultReportInterval is how often aggregated reports are logged: one
	// record per site with new events in the interval, so a hot leak costs a
	// few log lines a minute, not one per event.
	DefaultReportInterval = 10 * time.Second

	// MinReportInterval is the shortest ReportInterval: shorter ones are
	// raised to it. The first event of a site is logged at once anyway;
	// the interval only spaces the records that aggregate the later ones,
	// and below a second they would be one record per event again.
	MinReportInterval = time.Second

	// DefaultMaxSites bounds how many distinct sites (and, for goroutines,
	// names) a Monitor keeps statistics for. Sites come from the program's
	// code, so a thousand covers real programs; beyond it, events fold into
	// one overflow entry (see [OverflowName]) and memory stays bounded.
	DefaultMaxSites = 1000

	// maxReportLines bounds the records of each kind one report writes;
	// sites beyond it are summed into a single extra record.
	maxReportLines = 20
)

// Config configures a [Monitor]. The zero Config is the production default;
// every zero field takes the default documented on it.
type Config struct {
	// Grace is how long a tracked goroutine may keep running after its
	// context is done before it is lagging. 0 means DefaultGrace.
	Grace time.Duration

	// CancelSampleRate tracks one in CancelSampleRate cancel funcs for being
	// dropped uncalled; 1 tracks every one. 0 means DefaultCancelSampleRate.
	// Counts in Snapshot are of tracked cancel funcs: with sampling, multiply
	// by the rate for an estimate of the total.
	CancelSampleRate int

	// Logger receives the reports. nil means slog.Default(), as it is at
	// the time of each record. Its handler is called on a goroutine of the
	// Monitor's that runs while records wait, never on the one that
	// detects: while it is slow or blocked, up to 1,024 records wait and
	// the rest are dropped (Snapshot.LogRecordsDropped); its panics are
	// recovered (Snapshot.LoggerPanics).
	Logger *slog.Logger

	// ReportInterval is how often a site with new events may log again
	// after its first record, which is written at once. 0 means
	// DefaultReportInterval; values below MinReportInterval are raised to
	// it.
	ReportInterval time.Duration

	// MaxSites bounds the distinct sites and names kept in statistics.
	// 0 means DefaultMaxSites.
	MaxSites int

	// ProfileLabels runs every tracked goroutine with the pprof labels
	// "ctxguard.name" and "ctxguard.scope" (goroutines it starts with go
	// inherit them), so goroutine and CPU profiles, such as
	// /debug/pprof/goroutine, group by them. Off by default: it costs
	// each spawn a label set built on its goroutine, measured at about
	// 1.7x spawn.Go without it (some 240 ns and 2 allocations, 136 B,
	// more; BenchmarkGoProfileLabels in package spawn).
	ProfileLabels bool

	// TraceDir, if not empty, is a directory for execution traces of the
	// moments before a site's first lag. While the Monitor is open, it
	// runs the process's runtime/trace.FlightRecorder, which keeps the
	// last Grace + 5 s (at least 10 s; Grace of the Monitor that started
	// it) of execution trace in memory, up to about 10 MiB (the size bound
	// wins: a busy program keeps less). When
	// a site's first lagging goroutine is reported, the window is written
	// to a new file in TraceDir, named by time, process ID and site
	// (ctxguard-20260102T150405.000Z-4242-<site>.trace, the site's last 64
	// file-name-safe bytes), and the record carries its path as "trace".
	// Open it with go tool trace: the lagging goroutine's
	// "ctxguard.lagging" task (under "User-defined tasks") begins with a
	// message giving its name, spawn site, scope, cause and how long ago
	// its context ended, and the window reaches back to that moment, so
	// the goroutine view shows what it and its neighbours did then. One file is written per ReportInterval at most
	// (sites whose first lag is reported in the same round share it), and
	// MaxTraceFiles over the Monitor's life. The file is written off the
	// Monitor's loop, by a goroutine that ends when it is done, so it is
	// complete a moment after the record; if writing fails, an error
	// record with the path follows. Close waits up to a second for a file
	// being written.
	//
	// New makes TraceDir (and its parents) if missing, and checks that a
	// file can be created in it. New never fails: if TraceDir cannot hold
	// files, or the recorder cannot start, the Monitor works without
	// traces, logs why once as an error, and [Monitor.TraceStatus] says
	// why. Only one FlightRecorder may run in a process: every open
	// Monitor with a TraceDir shares one (the first starts it, the last
	// Close stops it), but if the program started its own before, ours
	// does not start (ErrFlightRecorderInUse), and if the program starts
	// its own while ours runs, its Start returns an error. trace.Start
	// (and go test -trace, and golang.org/x/exp/trace's FlightRecorder,
	// built on it) runs alongside the recorder. A Monitor made in a
	// testing/synctest bubble ignores TraceDir.
	//
	// Cost: the recorder runs the execution tracer for the whole process,
	// which records every goroutine's creation, start, block and end, and
	// holds the window (about 10 MiB once busy) in the heap. Measured on 2
	// shared, loaded cores (BenchmarkGoFlightRecorder in package spawn and
	// BenchmarkFlightRecorder in middleware/httpguard; four runs of 16 to
	// 20 pairs alternating off and on; the runs' medians of the per-pair
	// ratios of the process's CPU per operation, and the quartiles of all
	// pairs in brackets): spawn.Go 1.23x to 1.29x [1.18x-1.38x], about
	// 0.5 µs more per goroutine; a loopback HTTP/1.1 request through
	// httpguard 1.18x to 1.25x [1.12x-1.30x], about 10 µs more per request
	// of some 50 µs; wall-clock ratios alike; allocations unchanged. A go
	// statement measured 1.45x: the cost is the tracer's, per event, so
	// code that does more between events pays less. Under saturating
	// loopback traffic the trace grew by 4 MB a second, so the window held
	// the last 3 s, and its file (13 MB) took 8 ms to write. So TraceDir
	// suits a canary, a staging environment or the hunt for a known leak
	// better than every replica all the time.
	TraceDir string

	// WatchUntracked makes the Monitor look at the goroutines it does not
	// track too (started by go statements, libraries, the standard
	// library): it groups them by the function they started with and where
	// they are blocked, and lists in Snapshot.Untracked the groups of at
	// least UntrackedMin goroutines and those with goroutines proven
	// leaked. A group is logged when it has doubled since it was first
	// listed or last logged, and when goroutines of it are newly proven
	// leaked: a pool that stays the size its load makes it logs once or
	// not at all, a leak logs at each doubling.
	//
	// The Monitor's goroutine then runs until Close, even with nothing
	// tracked, and looks once per ReportInterval at most, with the
	// concurrent goroutine profile its stack captures read (the world is
	// stopped only for microseconds; never runtime.Stack), spaced by the
	// look's own cost as captures are: on average at most about 1% of a
	// core. See bench/RESULTS.md for the cost at 10k and 100k goroutines.
	// A Monitor made in a testing/synctest bubble ignores it.
	WatchUntracked bool

	// UntrackedMin is how many untracked goroutines blocked at one place
	// make a group worth listing (WatchUntracked). 0 means
	// DefaultUntrackedMin.
	UntrackedMin int

	// NoLeakCheck turns off the Monitor's own goroutine leak checks. By
	// default, on a Go release with the goroutine leak profile (see
	// LeakProfileAvailable) and while the process has at most
	// LeakCheckMaxGoroutines goroutines, the Monitor runs it when there is
	// something to prove: lagging goroutines or untracked groups not
	// checked yet, and, every LongLivedLeakCheck at most, long-lived
	// tracked goroutines (a goroutine whose context never ends may leak
	// too). It runs at most once per ReportInterval, and is spaced by its
	// own cost as stack captures are: not again within 100 times its
	// duration, or the CPU time the process spent meanwhile if more (the
	// collection runs on every core). Each check
	// is a garbage collection cycle that also proves which blocked
	// goroutines nothing reachable can ever wake (GoroutineStats.Leaked
	// and UntrackedStats.Leaked count them), and that stops the world for
	// longer the more goroutines there are: see LeakCheckMaxGoroutines.
	// Monitor.CheckLeaks runs one whatever NoLeakCheck says.
	NoLeakCheck bool
}

// LongLivedLeakCheck is how often at most the Monitor runs the goroutine
// leak profile only because tracked goroutines are live: a leak of
// goroutines whose context never ends is found within this long.
const LongLivedLeakCheck = 10 * time.Minute

// withDefaults validates cfg and fills its zero fields. Negative values are
// programming errors and panic naming the field.
func (cfg Config) withDefaults() Config {
	negative := func(field string, v any) {
		panic(fmt.Sprintf("ctxguard: Config.%s must not be negative, got %v", field, v))
	}
	switch {
	case cfg.Grace < 0:
		negative("Grace", cfg.Grace)
	case cfg.CancelSampleRate < 0:
		negative("CancelSampleRate", cfg.CancelSampleRate)
	case cfg.ReportInterval < 0:
		negative("ReportInterval", cfg.ReportInterval)
	case cfg.MaxSites < 0:
		negative("MaxSites", cfg.MaxSites)
	case cfg.UntrackedMin < 0:
		negative("UntrackedMin", cfg.UntrackedMin)
	}
	if cfg.Grace == 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.CancelSampleRate == 0 {
		cfg.CancelSampleRate = DefaultCancelSampleRate
	}
	if cfg.ReportInterval == 0 {
		cfg.ReportInterval = DefaultReportInterval
	}
	cfg.ReportInterval = max(cfg.ReportInterval, MinReportInterval)
	if cfg.MaxSites == 0 {
		cfg.MaxSites = DefaultMaxSites
	}
	if cfg.UntrackedMin == 0 {
		cfg.UntrackedMin = DefaultUntrackedMin
	}
	return cfg
}
