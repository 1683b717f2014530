package ctxguard

import (
	"encoding/binary"
	"runtime"
	"slices"
)

// Stacks: what a captured stack says. Each frame's function is classified
// once per capture (a record's own frame, ctxguard's, the runtime's
// goexit), and each distinct stack is symbolized once into where its
// goroutine is blocked and why: the innermost frame of the program's own
// code, and the wait the standard library frames inside it name.

// maxFrames bounds the frames kept per blocking location.
const maxFrames = 32

// A stackInfo is where one captured goroutine was blocked.
type stackInfo struct {
	at     Site   // innermost frame outside the runtime, the standard library and ctxguard
	reason string // why it waits, from the frames inside at
	frames []Site // from at down to the tracked function, at most maxFrames
	group  uint64 // nonzero: it waits in spawn.Group.Wait for this Group
}

// frameKinds caches, per return address, what a capture needs to know of
// its function.
type frameKinds map[uintptr]frameKind

type frameKind struct {
	record bool    // a record's own frame: (*goroutine).run or (*goroutine).Run
	region bool    // a region's: (*goroutine).Run
	own    bool    // in one of ctxguard's packages
	goexit bool    // runtime.goexit, the bottom of every goroutine's stack
	entry  uintptr // the function's entry
}

// Names of the record frames: a tracked goroutine's or region's stack is
// the part above the innermost of them.
const (
	runFunc    = "github.com/ctxguard/ctxguard/ctxguard.(*goroutine).run"
	regionFunc = "github.com/ctxguard/ctxguard/ctxguard.(*goroutine).Run"
)

func (fk *frameKinds) kind(pc uintptr) frameKind {
	if *fk == nil {
		*fk = make(frameKinds)
	}
	k, ok := (*fk)[pc]
	if !ok {
		if f := runtime.FuncForPC(pc); f != nil {
			name := f.Name()
			k = frameKind{record: name == runFunc || name == regionFunc, region: name == regionFunc, own: ownPackage(funcPackage(name)),
				goexit: name == "runtime.goexit", entry: f.Entry()}
		}
		(*fk)[pc] = k
	}
	return k
}

// base returns the index of stack's innermost record frame, or -1.
func (fk *frameKinds) base(stack []uintptr) int {
	for i, pc := range stack {
		if fk.kind(pc).record {
			return i
		}
	}
	return -1
}

// function returns the entry of the function a record runs, from its
// stack above the record's frame: the outermost frame not of ctxguard's
// own packages (spawn.Group's wrapper is).
func (fk *frameKinds) function(stack []uintptr) uintptr {
	for i := len(stack) - 1; i >= 0; i-- {
		if k := fk.kind(stack[i]); !k.own {
			return k.entry
		}
	}
	return 0
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
		case f.Function == "runtime.goexit":
			// the bottom of an untracked goroutine's stack
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
		"github.com/ctxguard/ctxguard/middleware/grpcguard",
		"github.com/ctxguard/ctxguard/middleware/mcpguard":
		return true
	}
	return false
}

// waitReasons names what a goroutine waits for by a function it is blocked
// in, looked up from the frame nearest the blocking frame inward: the
// standard library's entry point (sync.(*WaitGroup).Wait) names the wait
// better than the runtime function it ends in (RWMutex.Lock waits for
// another writer in the Lock of its inner Mutex).
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
	"sync.(*RWMutex).Lock":              "sync.RWMutex.Lock",
	"sync.(*RWMutex).RLock":             "sync.RWMutex.RLock",
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
