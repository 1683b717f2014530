package ctxguard

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/trace"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ctxguard/ctxguard/internal/leakcheck"
	"github.com/ctxguard/ctxguard/internal/track"
	"github.com/ctxguard/ctxguard/internal/wait"
)

// lagOnce spawns a goroutine named name under m that ignores its context,
// ends the context, and waits for the site's first lag record, which it
// returns; release lets the goroutine return.
func lagOnce(t *testing.T, m *Monitor, logs *logRecords, name string) (record map[string]any, release func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(WithMonitor(context.Background(), m))
	pc, _, _, _ := runtime.Caller(0)
	stop := make(chan struct{})
	track.Go(ctx, func(context.Context) { <-stop }, pc, &track.Options{Name: name})
	cancel()
	wait.Collecting(t, name+"'s lag is logged", func() bool {
		record = lagLogged(t, logs, name)
		return record != nil
	})
	return record, sync.OnceFunc(func() { close(stop) })
}

// lagLogged returns the lag record of goroutines named name, nil if none.
func lagLogged(t *testing.T, logs *logRecords, name string) map[string]any {
	t.Helper()
	for _, r := range logs.records(t) {
		if r["msg"] == msgLagging && r["name"] == name {
			return r
		}
	}
	return nil
}

// recordsWith returns the records with message msg.
func recordsWith(t *testing.T, logs *logRecords, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range logs.records(t) {
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// parseTrace returns a trace file as go tool trace -d=parsed prints it.
func parseTrace(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("go", "tool", "trace", "-d=parsed", path).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool trace -d=parsed %s: %v\n%s", path, err, out)
	}
	return string(out)
}

// mustNotTrace skips a test that needs the execution tracer to itself:
// it checks that the Monitor stops it.
func mustNotTrace(t *testing.T) {
	t.Helper()
	if trace.IsEnabled() {
		t.Skip("an execution trace is already being recorded")
	}
}

// recorderStopped reports whether the process's flight recorder slot is
// free: a FlightRecorder of the program's own starts.
func recorderStopped(t *testing.T) bool {
	t.Helper()
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if fr.Start() != nil {
		return false
	}
	fr.Stop()
	return true
}

// The first lag of a site writes the recorded trace to a file in TraceDir,
// made if missing, whose path the lag record carries; the file shows the
// lagging goroutine's ctxguard.lagging task. The program's trace.Start runs
// alongside. Close stops the recorder and leaves nothing running.
func TestTraceAtFirstLag(t *testing.T) {
	mustNotTrace(t)
	defer leakcheck.Check(t)()
	var logs logRecords
	dir := filepath.Join(t.TempDir(), "not", "yet")
	m := New(Config{Grace: 10 * time.Millisecond, ReportInterval: time.Hour, TraceDir: dir, Logger: logs.logger()})
	defer m.Close()
	if s := m.TraceStatus(); !s.Recording || s.Err != nil {
		t.Fatalf("TraceStatus = %+v, want Recording and no error", s)
	}
	if !trace.IsEnabled() {
		t.Error("the execution tracer is off while the Monitor records")
	}

	var own bytes.Buffer // the program's own trace, alongside
	if err := trace.Start(&own); err != nil {
		t.Fatalf("trace.Start while the Monitor records: %v", err)
	}
	defer trace.Stop()
	record, release := lagOnce(t, m, &logs, "traced")
	trace.Stop()
	defer release()
	path, _ := record["trace"].(string)
	if path == "" {
		t.Fatalf("the first lag record has no trace attribute: %v", record)
	}
	if filepath.Dir(path) != dir {
		t.Errorf("trace %s is not in TraceDir %s", path, dir)
	}
	name := regexp.MustCompile(`^ctxguard-\d{8}T\d{6}\.\d{3}Z-\d+-[A-Za-z0-9._-]+\.trace$`)
	if !name.MatchString(filepath.Base(path)) || !strings.HasSuffix(path, "_ctxguard_flightrecorder_test.go_"+siteLine(record)+".trace") {
		t.Errorf("trace file name %s: want ctxguard-<time>-<pid>-<site>.trace ending in the site", filepath.Base(path))
	}
	wait.Collecting(t, "the trace is written", func() bool { return len(m.TraceStatus().Files) == 1 })
	if s := m.TraceStatus(); s.Files[0] != path || s.Err != nil || s.Skipped != 0 {
		t.Errorf("TraceStatus = %+v, want Files [%s]", s, path)
	}

	parsed := parseTrace(t, path)
	if !strings.Contains(parsed, `"ctxguard.lagging"`) || !regexp.MustCompile(`TaskBegin.*"ctxguard.lagging"`).MatchString(parsed) {
		t.Errorf("no ctxguard.lagging task in %s", path)
	}
	if !strings.Contains(parsed, "lag start: traced spawned at") {
		t.Errorf("no lag start message for the goroutine in %s", path)
	}
	if own.Len() == 0 {
		t.Error("the program's own trace is empty")
	}

	release()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if s := m.TraceStatus(); s.Recording {
		t.Error("TraceStatus.Recording after Close")
	}
	if trace.IsEnabled() {
		t.Error("the execution tracer is still on after Close")
	}
	if !recorderStopped(t) {
		t.Error("the flight recorder still runs after Close")
	}
}

// siteLine is the line number of a record's site.
func siteLine(record map[string]any) string {
	site, _ := record["site"].(string)
	return site[strings.LastIndexByte(site, ':')+1:]
}

// After a file, the first lags of other sites within ReportInterval get
// none: counted as skipped, their record has no trace attribute.
func TestTraceOncePerReportInterval(t *testing.T) {
	mustNotTrace(t)
	defer leakcheck.Check(t)()
	var logs logRecords
	m := New(Config{Grace: 10 * time.Millisecond, ReportInterval: time.Hour, TraceDir: t.TempDir(), Logger: logs.logger()})
	defer m.Close()
	first, release := lagOnce(t, m, &logs, "first")
	defer release()
	second, release2 := lagOnce(t, m, &logs, "second")
	defer release2()
	if first["trace"] == nil {
		t.Errorf("the first site's lag record has no trace: %v", first)
	}
	if second["trace"] != nil {
		t.Errorf("a second file within ReportInterval: %v", second)
	}
	wait.Collecting(t, "the trace is written", func() bool { return len(m.TraceStatus().Files) == 1 })
	if s := m.TraceStatus(); s.Skipped != 1 || len(s.Files) != 1 {
		t.Errorf("TraceStatus = %+v, want one file and one skipped", s)
	}
}

// The rules of traceFirstLag on its own, with times chosen: sites reported
// in the same round share a file, one file per ReportInterval, none while
// one is written, MaxTraceFiles in all; Close waits for the file being
// written.
func TestTraceFilesBounded(t *testing.T) {
	mustNotTrace(t)
	defer leakcheck.Check(t)()
	dir := t.TempDir()
	const interval = time.Minute
	m := New(Config{Logger: discardLogger, ReportInterval: interval, TraceDir: dir})
	defer m.Close()
	site := Site{Function: "main.f", File: "example.com/app/main.go", Line: 7}
	t0 := time.Now()
	written := func(n int) {
		t.Helper()
		wait.Collecting(t, "the trace is written", func() bool { return len(m.TraceStatus().Files) == n })
	}

	flightRecorder.writeMu.Lock() // holds the first write
	p1 := m.traceFirstLag(t0, site)
	if p1 == "" {
		t.Fatal("no file for the first lag")
	}
	if p := m.traceFirstLag(t0, Site{Function: "main.g"}); p != p1 {
		t.Errorf("a site reported in the same round got %q, want the same file %q", p, p1)
	}
	if p := m.traceFirstLag(t0.Add(interval), site); p != "" {
		t.Errorf("a file while one is written: %s", p)
	}
	flightRecorder.writeMu.Unlock()
	written(1)
	if p := m.traceFirstLag(t0.Add(interval-time.Nanosecond), site); p != "" {
		t.Errorf("a file within ReportInterval of the last: %s", p)
	}
	for i := 1; ; i++ {
		if m.traceFirstLag(t0.Add(time.Duration(i)*interval), site) == "" {
			break
		}
		written(i + 1)
	}
	s := m.TraceStatus()
	if len(s.Files) != MaxTraceFiles || s.Skipped != 3 || s.Err != nil {
		t.Errorf("TraceStatus = %d files, %d skipped, error %v; want %d files, 3 skipped (while writing, within the interval, beyond the bound)",
			len(s.Files), s.Skipped, s.Err, MaxTraceFiles)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != MaxTraceFiles {
		t.Errorf("TraceDir holds %d entries, want %d", len(entries), MaxTraceFiles)
	}
	for _, f := range s.Files {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("trace file %s: %v", f, err)
		}
	}

	// A file being written when Close is called is written before Close
	// returns, unless it takes over a second (the bound is lifted here so
	// that one can be reserved).
	m.traces.mu.Lock()
	m.traces.attempts = 0
	m.traces.mu.Unlock()
	last := m.traceFirstLag(t0.Add(100*interval), site)
	if last == "" {
		t.Fatal("no file reserved")
	}
	if err := m.Close(); err != nil {
		t.Logf("Close gave up on the write (a loaded machine?): %v", err)
		written(MaxTraceFiles + 1)
	}
	if s := m.TraceStatus(); len(s.Files) != MaxTraceFiles+1 || s.Files[MaxTraceFiles] != last || s.Recording {
		t.Errorf("after Close, TraceStatus = %+v, want %s written and not Recording", s, last)
	}
	if p := m.traceFirstLag(t0.Add(200*interval), site); p != "" {
		t.Errorf("a file reserved after Close: %s", p)
	}
	wait.Collecting(t, "the recorder stops", func() bool { return recorderStopped(t) })
}

// Close waits for a trace file being written for a second at most; past
// it, Close says so, and the write, once done, stops the recorder.
func TestCloseGivesUpOnATraceWrite(t *testing.T) {
	mustNotTrace(t)
	defer leakcheck.Check(t)()
	m := New(Config{Logger: discardLogger, TraceDir: t.TempDir()})
	defer m.Close()
	flightRecorder.writeMu.Lock() // a write stuck on a slow disk
	path := m.traceFirstLag(time.Now(), Site{Function: "main.f"})
	err := m.Close()
	if err == nil || !strings.Contains(err.Error(), "gave up after 1s on writing execution trace "+path) {
		t.Errorf("Close = %v, want it to give up on %s", err, path)
	}
	if !trace.IsEnabled() {
		t.Error("the recorder stopped under a write")
	}
	flightRecorder.writeMu.Unlock()
	wait.Collecting(t, "the write stops the recorder", func() bool { return !trace.IsEnabled() && recorderStopped(t) })
	if s := m.TraceStatus(); len(s.Files) != 1 || s.Files[0] != path {
		t.Errorf("TraceStatus = %+v, want %s written", s, path)
	}
}

// A TraceDir that cannot hold files: New does not fail; the Monitor works
// without traces, logs why once, and TraceStatus says why. A TraceDir
// that stops being usable later: the write fails, is logged, and no file
// is left.
func TestTraceDirUnusable(t *testing.T) {
	mustNotTrace(t)
	defer leakcheck.Check(t)()
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, dir string
		want      error
	}{
		{"a file", notADir, syscall.ENOTDIR},
		{"under a file", filepath.Join(notADir, "traces"), syscall.ENOTDIR},
	}
	if os.Geteuid() != 0 { // root writes anywhere
		readOnly := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(readOnly, 0o555); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct {
			name, dir string
			want      error
		}{"read-only", readOnly, os.ErrPermission})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs logRecords
			m := New(Config{Grace: 10 * time.Millisecond, ReportInterval: time.Hour, TraceDir: c.dir, Logger: logs.logger()})
			defer m.Close()
			s := m.TraceStatus()
			if s.Recording || !errors.Is(s.Err, c.want) || !strings.Contains(s.Err.Error(), c.dir) {
				t.Errorf("TraceStatus = %+v, want not Recording and an error naming %s, wrapping %v", s, c.dir, c.want)
			}
			if trace.IsEnabled() {
				t.Error("the execution tracer runs for a Monitor that cannot write traces")
			}
			record, release := lagOnce(t, m, &logs, "untraced")
			defer release()
			if record["trace"] != nil {
				t.Errorf("lag record with a trace: %v", record)
			}
			off := recordsWith(t, &logs, msgTracesOff)
			if len(off) != 1 || off[0]["level"] != "ERROR" || off[0]["trace_dir"] != c.dir || off[0]["error"] != s.Err.Error() {
				t.Errorf("records saying traces are off: %v, want one error record with trace_dir and error", off)
			}
		})
	}

	t.Run("removed after New", func(t *testing.T) {
		var logs logRecords
		dir := filepath.Join(t.TempDir(), "traces")
		m := New(Config{Grace: 10 * time.Millisecond, ReportInterval: time.Hour, TraceDir: dir, Logger: logs.logger()})
		defer m.Close()
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		record, release := lagOnce(t, m, &logs, "lost")
		defer release()
		path, _ := record["trace"].(string)
		if path == "" {
			t.Fatalf("lag record without a trace: %v", record)
		}
		wait.Collecting(t, "the failure is logged", func() bool { return len(recordsWith(t, &logs, msgTraceFailed)) == 1 })
		failed := recordsWith(t, &logs, msgTraceFailed)[0]
		s := m.TraceStatus()
		if failed["trace"] != path || failed["level"] != "ERROR" || !errors.Is(s.Err, os.ErrNotExist) || len(s.Files) != 0 {
			t.Errorf("record %v, TraceStatus %+v: want the path, an error wrapping ErrNotExist, no files", failed, s)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after a failed write: %v", path, err)
		}
	})
}

// Only one FlightRecorder may run in a process: if the program's own runs,
// the Monitor records nothing, says why (ErrFlightRecorderInUse), and
// leaves the program's recorder alone.
func TestTraceWhenTheProgramRunsAFlightRecorder(t *testing.T) {
	mustNotTrace(t)
	defer leakcheck.Check(t)()
	own := trace.NewFlightRecorder(trace.FlightRecorderConfig{})
	if err := own.Start(); err != nil {
		t.Fatal(err)
	}
	defer own.Stop()
	var logs logRecords
	m := New(Config{Grace: 10 * time.Millisecond, ReportInterval: time.Hour, TraceDir: t.TempDir(), Logger: logs.logger()})
	defer m.Close()
	s := m.TraceStatus()
	if s.Recording || !errors.Is(s.Err, ErrFlightRecorderInUse) {
		t.Errorf("TraceStatus = %+v, want not Recording, ErrFlightRecorderInUse", s)
	}
	record, release := lagOnce(t, m, &logs, "untraced")
	defer release()
	if record["trace"] != nil {
		t.Errorf("lag record with a trace: %v", record)
	}
	if off := recordsWith(t, &logs, msgTracesOff); len(off) != 1 {
		t.Errorf("%d records saying traces are off, want 1", len(off))
	}
	release()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := own.WriteTo(&buf); err != nil || buf.Len() == 0 {
		t.Errorf("the program's recorder after the Monitor's Close: %d bytes, %v", buf.Len(), err)
	}
}

// Monitors with a TraceDir share the process's one recorder: the first
// starts it, the last Close stops it, and each writes its own files.
func TestTraceRecorderSharedByMonitors(t *testing.T) {
	mustNotTrace(t)
	defer leakcheck.Check(t)()
	var logs logRecords
	m1 := New(Config{Logger: discardLogger, TraceDir: t.TempDir()})
	m2 := New(Config{Grace: 10 * time.Millisecond, ReportInterval: time.Hour, TraceDir: t.TempDir(), Logger: logs.logger()})
	defer m1.Close()
	defer m2.Close()
	if !m1.TraceStatus().Recording || !m2.TraceStatus().Recording {
		t.Fatalf("TraceStatus = %+v and %+v, want both Recording", m1.TraceStatus(), m2.TraceStatus())
	}
	if err := m1.Close(); err != nil {
		t.Fatal(err)
	}
	if !trace.IsEnabled() || recorderStopped(t) {
		t.Fatal("the recorder stopped while a Monitor still holds it")
	}
	record, release := lagOnce(t, m2, &logs, "second")
	defer release()
	if record["trace"] == nil {
		t.Fatalf("lag record without a trace: %v", record)
	}
	wait.Collecting(t, "the trace is written", func() bool { return len(m2.TraceStatus().Files) == 1 })
	if !strings.Contains(parseTrace(t, record["trace"].(string)), "lag start: second spawned at") {
		t.Error("the trace does not show the lag")
	}
	release()
	if err := m2.Close(); err != nil {
		t.Fatal(err)
	}
	if trace.IsEnabled() || !recorderStopped(t) {
		t.Error("the recorder runs after the last Monitor closed")
	}
}

// A Monitor made in a synctest bubble ignores TraceDir, saying so: the
// recorder's goroutine would belong to the bubble.
func TestTraceDirInABubble(t *testing.T) {
	mustNotTrace(t)
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		m := New(Config{Logger: discardLogger, TraceDir: dir})
		defer m.Close()
		if s := m.TraceStatus(); s.Recording || !errors.Is(s.Err, errTracesInBubble) {
			t.Errorf("TraceStatus = %+v, want errTracesInBubble", s)
		}
	})
	if trace.IsEnabled() {
		t.Error("the tracer runs")
	}
}

func TestSanitizeFileName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"github.com/acme/api/handlers/order.go:42", "github.com_acme_api_handlers_order.go_42"},
		{"(other sites)", "other_sites_"},
		{"a b\x00c/../d", "a_b_c_.._d"},
		{"main.f", "main.f"},
		{strings.Repeat("x", 100) + "/file.go:1", strings.Repeat("x", 54) + "_file.go_1"},
		{"héllo", "h_llo"},
		{"../../etc/passwd", "etc_passwd"},
	} {
		if got := sanitizeFileName(c.in, 64); got != c.want {
			t.Errorf("sanitizeFileName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
