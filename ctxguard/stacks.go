package ctxguard

import (
	"encoding/binary"
	"runtime"
	"slices"
	"time"
	"unsafe"
)

// Stack capture: where lagging goroutines are blocked.
//
// The Monitor's loop asks for a capture when lagging goroutines have no
// known stack yet. A capture runs on a goroutine of its own, reads every
// goroutine's stack and label set pointer from the runtime's goroutine
// profile (concurrent: the world is stopped only for a few microseconds,
// whatever the goroutine count), picks out the wanted records by their
// label sets (identity.go), and symbolizes each distinct stack once.
// Captures are spaced by their own cost: one that took d is not followed
// by another within captureSpacing·d, so that on average they use at most
// about 1% of a core.

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

// A capture is one stack capture's request and result. Besides the
// lagging records it wants, it may run the goroutine leak profile first
// (leakcheck.go) and group the untracked goroutines (untracked.go).
type capture struct {
	want map[unsafe.Pointer]*goroutine // wanted records, lagging, by identity
	// leaks runs the goroutine leak profile; records are then every live
	// record, by identity, to tell whose goroutines it lists.
	leaks     bool
	records   map[unsafe.Pointer]*goroutine
	untracked *untrackedGrouper // nil: untracked goroutines are not grouped

	started  time.Time
	found    map[*goroutine]*stackInfo
	leaked   []*leakedStack // with leaks: the stacks of leaked goroutines
	leakErr  error          // with leaks: why the profile could not be read
	took     time.Duration
	leakTook time.Duration // of it, the leak profile's
}

// A leakedStack is one stack the leak profile listed, and the goroutines
// at it in the capture's goroutine profile: the profile says how many of
// them leaked, not which.
type leakedStack struct {
	leaked  int                       // how many of its goroutines leaked
	records map[*goroutine]*stackInfo // tracked goroutines at it
	unknown int                       // tracked goroutines at it whose record is unknown
	group   *untrackedCount           // untracked goroutines at it are in it
	n       int                       // goroutines at it
}

// run captures the stacks of c.want and fills in the result.
func (c *capture) run() {
	start := time.Now()
	c.started = start
	defer func() { c.took = time.Since(start) }()
	c.found = make(map[*goroutine]*stackInfo)
	var leakedAt map[string]int
	if c.leaks {
		leakedAt, c.leakErr = leakedStacks()
		c.leakTook = time.Since(start)
	}
	byStack := make(map[string]*leakedStack, len(leakedAt))
	waits := make(map[unsafe.Pointer]*groupWait)
	groupWaits.Range(func(p, w any) bool {
		waits[p.(unsafe.Pointer)] = w.(*groupWait)
		return true
	})
	stacks, labels := goroutineProfile()
	s := symbolizer{byStack: make(map[string]*stackInfo)}
	var fk frameKinds
	var key []byte
	for i, stack := range stacks {
		var ls *leakedStack
		if len(leakedAt) > 0 {
			key = stackKey(key, stack)
			if n := leakedAt[string(key)]; n > 0 {
				if ls = byStack[string(key)]; ls == nil {
					ls = &leakedStack{leaked: n}
					byStack[string(key)] = ls
				}
				ls.n++
			}
		}
		label, group := labels[i], uint64(0)
		if w := waits[label]; w != nil {
			label, group = w.prev, w.group
		}
		g, record := c.want[label], c.records[label]
		base := fk.base(stack)
		if base < 0 && len(stack) >= maxProfileFrames && label != nil {
			// Cut short, with a label set: a lagging record's (captures
			// look for those only once, deeper), or maybe that of a record
			// whose goroutine started another, which inherited it: which
			// one is not known, so neither is it counted as untracked.
			if g == nil {
				if ls != nil {
					ls.unknown++
				}
				continue
			}
			base = len(stack)
			record = nil // not credited with a leak, as the child may be what leaked
		}
		if base < 0 { // not a record's goroutine, though it may have inherited a label set
			if c.untracked != nil {
				counted := c.untracked.add(stack, &s, &fk)
				if ls != nil {
					ls.group = counted
				}
			}
			continue
		}
		if g != nil {
			c.found[g] = s.info(stack[:base], group)
		}
		switch {
		case ls == nil:
		case record != nil:
			if ls.records == nil {
				ls.records = make(map[*goroutine]*stackInfo)
			}
			ls.records[record] = s.info(stack[:base], group)
		default:
			ls.unknown++
		}
	}
	for _, ls := range byStack {
		ls.leaked = min(ls.leaked, ls.n)
		c.leaked = append(c.leaked, ls)
		if ls.group != nil {
			untracked := ls.n - len(ls.records) - ls.unknown
			ls.group.leaked += provenLeaked(ls.leaked, ls.n, untracked)
		}
	}
	if len(c.found) < len(c.want) {
		c.findByFunction(stacks, labels, &s, &fk)
	}
}

// provenLeaked is how many of some n goroutines at one stack, of which
// leaked have leaked, belong to a class of mine of them, at least: all of
// theirs if all leaked, and otherwise those that the goroutines of other
// classes cannot account for.
func provenLeaked(leaked, n, mine int) int {
	return max(0, leaked-(n-mine))
}

// findByFunction looks for the wanted records not found by identity (their
// goroutine replaced its label set, or this release gives none) by the
// function they run: their stacks are among those of the goroutines
// running it from a record's frame. If all of those are blocked at one
// place, so are the records; otherwise where they are stays unknown.
func (c *capture) findByFunction(stacks [][]uintptr, labels []unsafe.Pointer, s *symbolizer, fk *frameKinds) {
	lost := make(map[uintptr][]*goroutine) // by the entry of the function they run
	for _, g := range c.want {
		if _, ok := c.found[g]; !ok && g.live.key.namePC != 0 {
			lost[g.live.key.namePC] = append(lost[g.live.key.namePC], g)
		}
	}
	if len(lost) == 0 {
		return
	}
	at := make(map[uintptr]*stackInfo) // by function: where all its goroutines are; nil if in several places
	for i, stack := range stacks {
		if _, found := c.want[labels[i]]; found {
			continue
		}
		base := fk.base(stack)
		if base < 0 {
			continue
		}
		fn := fk.function(stack[:base])
		if lost[fn] == nil {
			continue
		}
		info := s.info(stack[:base], 0)
		if prev, seen := at[fn]; !seen {
			at[fn] = info
		} else if prev != nil && (prev.at != info.at || prev.reason != info.reason) {
			at[fn] = nil
		}
	}
	for fn, gs := range lost {
		if info := at[fn]; info != nil {
			for _, g := range gs {
				c.found[g] = info
			}
		}
	}
}

// frameKinds caches, per return address, what a capture needs to know of
// its function.
type frameKinds map[uintptr]frameKind

type frameKind struct {
	record bool    // a record's own frame: (*goroutine).run or (*goroutine).Run
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
			k = frameKind{record: name == runFunc || name == regionFunc, own: ownPackage(funcPackage(name)),
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
