// Package leakcheck fails a test that leaves goroutines running. It is the
// core module's stand-in for go.uber.org/goleak, so that the core requires
// no other module, not even for its tests:
//
//	defer leakcheck.Check(t)()
//
// Check records which goroutines run when it is called; the func it returns
// waits until every goroutine started since has returned, retrying with
// backoff up to a generous deadline (goroutines that were told to stop may
// take a moment, more on a loaded machine), and fails the test with the
// stacks of those still running. A check costs a full goroutine dump per
// try, so it belongs in tests only.
package leakcheck

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Deadline bounds how long the returned func waits for goroutines to
// return before failing the test. Only a test that leaks waits that long.
const Deadline = 30 * time.Second

// lazyStdlib are functions of goroutines that the runtime and the standard
// library start on first use, whichever test comes first, and that live
// until the process exits: they are not the leak of the test that happened
// to start them.
var lazyStdlib = []string{
	"os/signal.signal_recv",
	"os/signal.loop",
	"runtime.ensureSigM",
	"unique.runtime_registerUniqueMapCleanup",
	"runtime.ReadTrace",
}

// Check returns a func that fails t if goroutines started after this call
// are still running when it is called, once Deadline has passed. Call it
// at the start of a test and defer the result, before anything is started
// that the test will stop.
func Check(t testing.TB) func() {
	t.Helper()
	return check(t, Deadline)
}

func check(t testing.TB, timeout time.Duration) func() {
	before := make(map[int]bool)
	for _, g := range goroutines() {
		before[g.id] = true
	}
	return func() {
		t.Helper()
		deadline := time.Now().Add(timeout)
		wait := time.Millisecond
		for {
			var left []goroutine
			for _, g := range goroutines() {
				if !before[g.id] && !g.lazyStdlib() {
					left = append(left, g)
				}
			}
			if len(left) == 0 {
				return
			}
			if time.Now().After(deadline) {
				var b strings.Builder
				for _, g := range left {
					b.WriteString("\n\n")
					b.WriteString(g.stack)
				}
				t.Errorf("leakcheck: %d goroutines started by the test still run after %v:%s", len(left), timeout, b.String())
				return
			}
			time.Sleep(wait)
			wait = min(2*wait, 100*time.Millisecond)
		}
	}
}

// A goroutine is one goroutine's entry in a full stack dump.
type goroutine struct {
	id    int
	stack string
}

func (g goroutine) lazyStdlib() bool {
	for _, fn := range lazyStdlib {
		if strings.Contains(g.stack, "\n"+fn+"(") {
			return true
		}
	}
	return false
}

// goroutines returns every user goroutine, the caller's included, from
// runtime.Stack.
func goroutines() []goroutine {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var gs []goroutine
	for _, block := range bytes.Split(buf, []byte("\n\n")) {
		header, _, _ := bytes.Cut(block, []byte("\n"))
		rest, ok := bytes.CutPrefix(header, []byte("goroutine "))
		if !ok {
			continue
		}
		idText, _, _ := bytes.Cut(rest, []byte(" "))
		id, err := strconv.Atoi(string(idText))
		if err != nil {
			continue
		}
		gs = append(gs, goroutine{id: id, stack: string(block)})
	}
	return gs
}
