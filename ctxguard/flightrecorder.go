package ctxguard

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Execution traces at the first lag (Config.TraceDir).
//
// A Monitor with a TraceDir keeps the process's flight recorder
// (runtime/trace.FlightRecorder, Go 1.25) running while it is open: the
// runtime then holds the last seconds of execution trace in memory. When
// the loop writes the first lag record of a site, it reserves a file name,
// adds it to the record as "trace", and a goroutine of the Monitor's copies
// the window into that file; the loop never touches the file system.
//
// Only one FlightRecorder may run in a process (its Start returns an error
// while another runs), so every Monitor with a TraceDir shares one: the
// first to open starts it, the last to close stops it. The program's own
// trace.Start is another consumer of the same tracer and runs alongside.

// MaxTraceFiles bounds the execution trace files a Monitor writes into
// Config.TraceDir over its life, failed attempts included: a program that
// keeps finding new lagging sites does not fill the disk.
const MaxTraceFiles = 16

// ErrFlightRecorderInUse is why a Monitor with Config.TraceDir records no
// execution trace while the program runs a runtime/trace.FlightRecorder of
// its own, started before it: only one may run in a process. (A program
// that holds the tracer through runtime.StartTrace gets it too.)
// [Monitor.TraceStatus] returns it, wrapped with the runtime's message.
var ErrFlightRecorderInUse = errors.New("ctxguard: the program runs a runtime/trace.FlightRecorder of its own (only one may run per process)")

// errTracesInBubble: the flight recorder's goroutines would belong to the
// bubble and outlive it.
var errTracesInBubble = errors.New("ctxguard: Config.TraceDir is ignored by a Monitor made in a testing/synctest bubble")

// The recorder's window: at least traceMinWindow, and at least Grace plus
// traceLeadIn of the Monitor that starts it, so that a goroutine's file
// shows its context ending and what came before; traceMaxBytes bounds the
// window (and takes precedence: a busy program holds less).
const (
	traceMinWindow = 10 * time.Second
	traceLeadIn    = 5 * time.Second
	traceMaxBytes  = 10 << 20
)

// Log messages of execution traces.
const (
	msgTracesOff   = "ctxguard: execution traces at the first lag are off"
	msgTraceFailed = "ctxguard: execution trace not written"
)

// File names: traceNameMax bytes of the site at most.
const (
	traceNameMax    = 64
	traceFileSuffix = ".trace"
)

// flightRecorder is the process's FlightRecorder as ctxguard runs it,
// shared by the open Monitors with a TraceDir. Lock order: a Monitor's
// traceFiles.mu, then flightRecorder.mu.
var flightRecorder struct {
	mu    sync.Mutex
	fr    *trace.FlightRecorder // nil while stopped
	users int                   // Monitors holding it
	// writeMu serializes WriteTo, which fails if called concurrently.
	writeMu sync.Mutex
}

// acquireFlightRecorder starts the recorder if none of ctxguard's runs, and
// holds it until releaseFlightRecorder.
func acquireFlightRecorder(window time.Duration) error {
	r := &flightRecorder
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fr == nil {
		fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: window, MaxBytes: traceMaxBytes})
		if err := fr.Start(); err != nil {
			// Ours is not running, so the tracer's one flight recorder
			// slot is someone else's.
			return fmt.Errorf("%w: runtime/trace: %v", ErrFlightRecorderInUse, err)
		}
		r.fr = fr
	}
	r.users++
	return nil
}

// releaseFlightRecorder stops the recorder when its last user lets go.
func releaseFlightRecorder() {
	r := &flightRecorder
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users--
	if r.users == 0 {
		r.fr.Stop()
		r.fr = nil
	}
}

// writeFlightRecorder copies the window to w. The caller holds the
// recorder.
func writeFlightRecorder(w *bufio.Writer) error {
	r := &flightRecorder
	r.mu.Lock()
	fr := r.fr
	r.mu.Unlock()
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if _, err := fr.WriteTo(w); err != nil {
		return err
	}
	return w.Flush()
}

// traceFiles is a Monitor's state of execution traces.
type traceFiles struct {
	mu       sync.Mutex
	dir      string    // absolute; "" if Config.TraceDir is empty
	holds    bool      // holds the process's recorder
	closed   bool      // Close has begun: no new files
	err      error     // why it does not record, else the last write's failure
	attempts int       // files reserved, at most MaxTraceFiles
	next     time.Time // no file is reserved before
	lastAt   time.Time // when the last file was reserved
	lastPath string
	writing  bool          // a file is being written
	done     chan struct{} // closed when that write ends
	written  []string
	skipped  uint64
	interval time.Duration
}

// startTraces starts the flight recorder for a new Monitor with a
// TraceDir, or records and logs why it cannot.
func (m *Monitor) startTraces() {
	if m.cfg.TraceDir == "" {
		return
	}
	t := &m.traces
	t.interval = m.cfg.ReportInterval
	var err error
	if m.bubbled {
		err = errTracesInBubble
	} else if t.dir, err = usableTraceDir(m.cfg.TraceDir); err == nil {
		err = acquireFlightRecorder(max(traceMinWindow, m.cfg.Grace+traceLeadIn))
	}
	if err != nil {
		t.err = err
		m.logs.put(logRecord{level: slog.LevelError, msg: msgTracesOff, attrs: []slog.Attr{
			slog.String("trace_dir", m.cfg.TraceDir), slog.String("error", err.Error())}})
		return
	}
	t.holds = true
}

// usableTraceDir makes dir if it is missing and checks that a file can be
// created in it, returning its absolute path.
func usableTraceDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err == nil {
		err = os.MkdirAll(abs, 0o777)
	}
	if err == nil {
		var f *os.File
		if f, err = os.CreateTemp(abs, ".ctxguard-probe-*"); err == nil {
			f.Close()
			err = os.Remove(f.Name())
		}
	}
	if err != nil {
		return abs, fmt.Errorf("ctxguard: Config.TraceDir %q cannot hold trace files: %w", dir, err)
	}
	return abs, nil
}

// traceFirstLag is called by report, with m.mu held, for the first lag
// record of a site found at now. It returns the path of the file that will
// hold the recorded trace, "" if none will: one file per ReportInterval,
// shared by the sites whose first lag is reported in the same round, at
// most MaxTraceFiles, one write at a time. The write runs on a goroutine of its
// own.
func (m *Monitor) traceFirstLag(now time.Time, site Site) string {
	t := &m.traces
	if t.dir == "" {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case !t.holds || t.closed:
		return ""
	case t.lastPath != "" && now.Equal(t.lastAt):
		return t.lastPath
	case now.Before(t.next) || t.attempts >= MaxTraceFiles || t.writing:
		t.skipped++
		return ""
	}
	path := filepath.Join(t.dir, traceFileName(now, site))
	t.attempts++
	t.next, t.lastAt, t.lastPath = now.Add(t.interval), now, path
	t.writing, t.done = true, make(chan struct{})
	go m.writeTrace(path, t.done)
	return path
}

// traceNames keeps the names of one process apart: Monitors sharing a
// TraceDir may reserve names in the same millisecond.
var traceNames struct {
	mu        sync.Mutex
	lastStamp string
	seq       int
}

// traceFileName is "ctxguard-<UTC time>-<pid>-<site>.trace", the site
// reduced to file-name-safe bytes and its last traceNameMax of them; a
// second name in the same millisecond gets a sequence number after the
// time.
func traceFileName(now time.Time, site Site) string {
	stamp := now.UTC().Format("20060102T150405.000Z")
	n := &traceNames
	n.mu.Lock()
	if stamp == n.lastStamp {
		n.seq++
	} else {
		n.lastStamp, n.seq = stamp, 0
	}
	if n.seq > 0 {
		stamp += "-" + strconv.Itoa(n.seq)
	}
	n.mu.Unlock()
	return "ctxguard-" + stamp + "-" + strconv.Itoa(os.Getpid()) + "-" + sanitizeFileName(site.String(), traceNameMax) + traceFileSuffix
}

// sanitizeFileName keeps letters, digits, '.', '-' and '_' of s, turning
// runs of anything else into one '_', and returns at most the last n bytes
// of the result: a site's file and line are at its end.
func sanitizeFileName(s string, n int) string {
	var b strings.Builder
	under := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteByte(c)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	out := b.String()
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return strings.TrimLeft(out, "._-")
}

// writeTrace writes the recorded window to path, on its own goroutine; it
// records the outcome and, if it fails, logs why. After Close it lets go
// of the recorder, which Close left to it.
func (m *Monitor) writeTrace(path string, done chan struct{}) {
	err := writeTraceFile(path)
	t := &m.traces
	t.mu.Lock()
	t.err = err
	if err == nil {
		t.written = append(t.written, path)
	}
	t.writing = false
	if t.closed && t.holds {
		t.holds = false
		releaseFlightRecorder()
	}
	t.mu.Unlock()
	close(done)
	if err != nil {
		m.logs.put(logRecord{level: slog.LevelError, msg: msgTraceFailed, attrs: []slog.Attr{
			slog.String("trace", path), slog.String("error", err.Error())}})
	}
}

// writeTraceFile creates path, which must not exist, and writes the window
// into it; on failure it removes what it wrote.
func writeTraceFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return err
	}
	err = writeFlightRecorder(bufio.NewWriterSize(f, 256<<10))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("ctxguard: writing execution trace %s: %w", path, err)
	}
	return nil
}

// closeTraces stops new files, waits until deadline for the file being
// written, and lets go of the recorder, leaving that to the write if it is
// still running. It returns an error naming a write it gave up on.
func (m *Monitor) closeTraces(deadline time.Time) error {
	t := &m.traces
	t.mu.Lock()
	t.closed = true
	writing, done, path := t.writing, t.done, t.lastPath
	if !writing && t.holds {
		t.holds = false
		releaseFlightRecorder()
	}
	t.mu.Unlock()
	if !writing {
		return nil
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-done:
		return nil // the write let go of the recorder
	case <-timer.C:
		return fmt.Errorf("ctxguard: Close gave up after %v on writing execution trace %s: the recorder runs until it is written", closeWait, path)
	}
}

// TraceStatus is the state of a Monitor's execution traces at the first
// lag (Config.TraceDir).
type TraceStatus struct {
	// Recording reports whether the Monitor holds the process's flight
	// recorder: it has a TraceDir, it is open, and the recorder started.
	Recording bool
	// Files are the trace files written, oldest first: at most
	// MaxTraceFiles.
	Files []string
	// Skipped counts the first lags of sites that got no file: within
	// ReportInterval of the last file, beyond MaxTraceFiles, or while a
	// file was being written. Sites whose first lag is reported in the
	// same round as the one a file was made for share that file and are
	// not counted.
	Skipped uint64
	// Err is why the Monitor does not record (ErrFlightRecorderInUse, a
	// TraceDir that cannot hold files, a Monitor made in a synctest
	// bubble) or, if it does, why its last file could not be written (nil
	// once a file is). Each of those was also logged, as an error record.
	Err error
}

// TraceStatus returns the state of the Monitor's execution traces: all
// zero if Config.TraceDir is empty. It costs a lock and a copy of the list
// of files.
func (m *Monitor) TraceStatus() TraceStatus {
	m.mustBeNew("Monitor.TraceStatus")
	t := &m.traces
	t.mu.Lock()
	defer t.mu.Unlock()
	return TraceStatus{
		Recording: t.holds && !t.closed,
		Files:     append([]string(nil), t.written...),
		Skipped:   t.skipped,
		Err:       t.err,
	}
}
