package ctxguard

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Stack capture: where lagging goroutines are blocked.
//
// The Monitor's loop asks for a capture when lagging goroutines have no
// known stack yet. A capture runs on a goroutine of its own, reads every
// goroutine's stack from runtime.GoroutineProfile (concurrent: the world is
// stopped only for a few microseconds, whatever the goroutine count), picks
// out the wanted records by the ids their stacks spell (identity.go), and
// symbolizes each distinct stack once. runtime.GoroutineProfile keeps the 32
// innermost frames of a stack; when a wanted record is not found and some
// stack was cut there, the next capture uses the goroutine profile of
// runtime/pprof instead, which keeps 128 frames and costs several times
// more. Captures are spaced by their own cost: one that took d is not
// followed by another within captureSpacing·d, so that on average they use
// at most about 1% of a core.

// captureSpacing is how many times its own duration the Monitor waits after
// a capture before the next one.
const captureSpacing = 100

// maxFrames bounds the frames kept per blocking location.
const maxFrames = 32

// A stackInfo is where one captured goroutine was blocked.
type stackInfo struct {
	at     Site   // innermost frame outside the runtime, the standard library and ctxguard
	reason string // why it waits, from the frames inside at
	frames []Site // from at down to the tracked function, at most maxFrames
	group  uint64 // nonzero: it waits in spawn.Group.Wait for this Group
}

// A capture is one stack capture's request and result.
type capture struct {
	want  map[uint64]*goroutine // by id; wanted records, lagging
	deep  bool                  // use runtime/pprof's deeper stacks
	found map[*goroutine]*stackInfo
	// cut reports that a stack was cut at runtime.GoroutineProfile's
	// depth: wanted records not found may be among them.
	cut  bool
	took time.Duration
}

// run captures the stacks of c.want and fills in the result.
func (c *capture) run() {
	start := time.Now()
	defer func() { c.took = time.Since(start) }()
	c.found = make(map[*goroutine]*stackInfo)
	t := tagPCs()
	if !t.ok {
		return
	}
	s := symbolizer{byStack: make(map[string]*stackInfo)}
	var runs []tagRun
	visit := func(stack []uintptr) {
		runs = t.tagRuns(stack, runs[:0])
		for i, r := range runs {
			if r.id&1 != idRecord {
				continue
			}
			g, ok := c.want[r.id]
			if !ok {
				break
			}
			var group uint64
			if i > 0 && runs[i-1].id&1 == idGroup {
				group = runs[i-1].id >> 1
			}
			c.found[g] = s.info(stack[:r.start], group)
			break
		}
	}
	if c.deep {
		c.cut = false
		deepStacks(visit)
		return
	}
	c.cut = shallowStacks(visit)
}

// shallowStacks calls visit with every goroutine's stack (innermost first,
// at most 32 frames) and reports whether some stack had 32 frames, so may
// have been cut.
func shallowStacks(visit func([]uintptr)) (cut bool) {
	var records []runtime.StackRecord
	n, ok := runtime.NumGoroutine(), false
	for !ok {
		records = make([]runtime.StackRecord, n+n/8+16)
		n, ok = runtime.GoroutineProfile(records)
	}
	for i := range records[:n] {
		stack := records[i].Stack()
		cut = cut || len(stack) == len(records[i].Stack0)
		visit(stack)
	}
	return cut
}

// deepStacks calls visit with every distinct goroutine stack, read from the
// text form of runtime/pprof's goroutine profile: its "count @ pc pc ..."
// lines list return addresses, innermost first.
func deepStacks(visit func([]uintptr)) {
	r, w := io.Pipe()
	go func() {
		w.CloseWithError(pprof.Lookup("goroutine").WriteTo(w, 1))
	}()
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var stack []uintptr
	for sc.Scan() {
		line := sc.Bytes()
		at := bytes.Index(line, []byte(" @ "))
		if at < 0 || line[0] < '0' || line[0] > '9' {
			continue
		}
		stack = stack[:0]
		for _, f := range strings.Fields(string(line[at+3:])) {
			pc, err := strconv.ParseUint(strings.TrimPrefix(f, "0x"), 16, 64)
			if err == nil {
				stack = append(stack, uintptr(pc))
			}
		}
		visit(stack)
	}
}

// symbolizer turns stacks into stackInfos, once per distinct stack.
type symbolizer struct {
	buf     []byte // the key of a stack: its pcs and group
	byStack map[string]*stackInfo
}

func (s *symbolizer) info(stack []uintptr, group uint64) *stackInfo {
	s.buf = s.buf[:0]
	for _, pc := range stack {
		s.buf = binary.LittleEndian.AppendUint64(s.buf, uint64(pc))
	}
	s.buf = binary.LittleEndian.AppendUint64(s.buf, group)
	if info, ok := s.byStack[string(s.buf)]; ok {
		return info
	}
	info := symbolize(stack, group)
	s.byStack[string(s.buf)] = info
	return info
}

// symbolize describes a stack (innermost first, ending above the tracked
// goroutine's own tag) of a goroutine waiting in group's Wait if group is
// not zero.
func symbolize(stack []uintptr, group uint64) *stackInfo {
	info := &stackInfo{group: group}
	frames := runtime.CallersFrames(stack)
	var inner []string // functions inside the blocking frame, innermost first
	for {
		f, more := frames.Next()
		pkg := funcPackage(f.Function)
		switch {
		case info.at.Function == "" && (ownPackage(pkg) || isStdPackage(pkg)):
			inner = append(inner, f.Function)
		case ownPackage(pkg):
			// spawn's and the middleware's frames between the tracked
			// function and the tag, or Group.Wait's
		case len(info.frames) < maxFrames:
			site := frameSite(f)
			if info.at.Function == "" {
				info.at = site
			}
			info.frames = append(info.frames, site)
		}
		if !more {
			break
		}
	}
	info.reason = waitReason(inner, group)
	if info.at.Function == "" && len(inner) > 0 {
		// Blocked in library code only: the tracked function is ours
		// (a Group's goroutine) or the standard library's.
		info.at = Site{Function: inner[len(inner)-1]}
	}
	return info
}

// ownPackage reports whether pkg is one of ctxguard's, whose frames sit
// between the tracked function and its tag: they are left out of reports.
func ownPackage(pkg string) bool {
	switch pkg {
	case "github.com/ctxguard/ctxguard/ctxguard",
		"github.com/ctxguard/ctxguard/ctxguard/ctxguardtest",
		"github.com/ctxguard/ctxguard/spawn",
		"github.com/ctxguard/ctxguard/middleware/httpguard",
		"github.com/ctxguard/ctxguard/middleware/grpcguard":
		return true
	}
	return false
}

// waitReasons names what a goroutine waits for by a function it is blocked
// in, looked up from the frame nearest the blocking frame inward: the
// standard library's entry point (sync.(*WaitGroup).Wait) names the wait
// better than the runtime function it ends in.
var waitReasons = map[string]string{
	"runtime.chanrecv1":                 "chan receive",
	"runtime.chanrecv2":                 "chan receive",
	"runtime.chansend1":                 "chan send",
	"runtime.selectgo":                  "select",
	"runtime.block":                     "select (no cases)",
	"time.Sleep":                        "sleep",
	"sync.runtime_SemacquireWaitGroup":  "sync.WaitGroup.Wait",
	"sync.(*WaitGroup).Wait":            "sync.WaitGroup.Wait",
	"sync.runtime_SemacquireMutex":      "sync.Mutex.Lock",
	"sync.(*Mutex).Lock":                "sync.Mutex.Lock",
	"sync.runtime_SemacquireRWMutex":    "sync.RWMutex.Lock",
	"sync.runtime_SemacquireRWMutexR":   "sync.RWMutex.RLock",
	"sync.runtime_notifyListWait":       "sync.Cond.Wait",
	"internal/poll.runtime_pollWait":    "IO wait",
	"runtime.semacquire1":               "semacquire",
	"runtime.netpollblock":              "IO wait",
	"syscall.Syscall":                   "syscall",
	"syscall.Syscall6":                  "syscall",
	"internal/runtime/syscall.Syscall6": "syscall",
}

// waitReason says why a goroutine waits, from the functions it is in inside
// its blocking frame, innermost first.
func waitReason(inner []string, group uint64) string {
	if group != 0 {
		return "spawn.Group.Wait"
	}
	for _, fn := range slices.Backward(inner) {
		if r, ok := waitReasons[fn]; ok {
			return r
		}
	}
	if len(inner) > 0 && (inner[0] == "runtime.gopark" || inner[0] == "runtime.goparkunlock") {
		return "waiting"
	}
	return "running"
}
