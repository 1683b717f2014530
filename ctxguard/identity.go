package ctxguard

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Goroutine identity in stacks.
//
// To say where a lagging goroutine is blocked, the Monitor reads the stacks
// of all goroutines from the runtime (see stacks.go) and must pick out the
// ones of its lagging records, exactly, among healthy goroutines that may
// run the same function from the same site. There is no public goroutine
// ID, and giving each goroutine a unique pprof label costs an allocated
// label set per spawn and replaces the user's own labels. Instead, a
// tracked goroutine calls its function through [tagged], whose frames spell
// a number in their return addresses: the record's slot for a spawned
// goroutine or handler, a Group's number for a goroutine waiting in
// spawn.Group.Wait. It costs a few nanoseconds per spawn and no memory, and
// the user's labels are left as they are.
//
// An id's lowest bit says what it names.
//
// A record's id holds its Monitor's number as well as its shard and slot:
// a capture sees every goroutine of the process, including those of other
// Monitors (several in a test binary, or a closed one whose goroutines
// still run), which have the same slots. The number is coded in the id's
// low bits, above the lowest, as 7 bits per byte with the byte's lowest bit
// saying whether another byte follows: the code says its own length, so
// no two (Monitor, shard, slot) have the same id, and the first 128
// Monitors of a process cost one digit (one call, a nanosecond or two) per
// tracked goroutine.
const (
	idRecord = 0 // the rest of the id is a Monitor's tag, then a record's shard and slot
	idGroup  = 1 // the rest is a spawn.Group's number
)

// monitors counts the Monitors made, to number them.
var monitors atomic.Uint64

// monitorTag codes a Monitor's number n for goroutine ids, returning the
// code and its length in bits.
func monitorTag(n uint64) (tag uint64, bits uint8) {
	for {
		b := (n & 0x7f) << 1
		n >>= 7
		if n != 0 {
			b |= 1 // another byte follows
		}
		tag |= b << bits
		bits += 8
		if n == 0 {
			return tag, bits
		}
	}
}

// tagDigit is what a return address inside tagged means: the base-256
// digit of the frame's id, and whether the frame is the innermost of its
// run (the one that called the tagged function).
type tagDigit struct {
	digit uint8
	last  bool
}

// tagTable maps tagged's return addresses to digits. It is built once, on
// the first stack capture, by calling tagged with every digit and reading
// the return addresses back.
type tagTable struct {
	digits map[uintptr]tagDigit
	lo, hi uintptr // every address in digits is within [lo, hi]
	ok     bool    // false if two digits shared an address: no identity
}

var (
	tagsOnce sync.Once
	tags     tagTable
)

// tagPCs returns the table, building it on first use.
func tagPCs() *tagTable {
	tagsOnce.Do(func() { tags = buildTagTable() })
	return &tags
}

func buildTagTable() tagTable {
	t := tagTable{digits: make(map[uintptr]tagDigit, 512), ok: true}
	var pcs [2]uintptr
	probe := func(any, any, any) (any, error) {
		runtime.Callers(2, pcs[:]) // the caller's frames: tagged's
		return nil, nil
	}
	add := func(pc uintptr, d tagDigit) {
		if _, dup := t.digits[pc]; dup || pc == 0 {
			t.ok = false
		}
		t.digits[pc] = d
		if t.lo == 0 || pc < t.lo {
			t.lo = pc
		}
		t.hi = max(t.hi, pc)
	}
	for d := range 256 {
		tagged(uint64(d), probe, nil, nil, nil)
		add(pcs[0], tagDigit{uint8(d), true})
		tagged(uint64(d)|1<<8, probe, nil, nil, nil) // the frame of digit d calls the frame of digit 1
		add(pcs[1], tagDigit{uint8(d), false})
	}
	return t
}

// A tagRun is one id spelled in a stack: the frames stack[start:end]
// (innermost first) are tagged's.
type tagRun struct {
	id         uint64
	start, end int
}

// tagRuns returns the ids spelled in stack, a stack of return addresses
// innermost first, innermost run first. A run cut short by the end of the
// stack is left out: its most significant digits are there but not all of
// the others.
func (t *tagTable) tagRuns(stack []uintptr, runs []tagRun) []tagRun {
	for i := 0; i < len(stack); i++ {
		pc := stack[i]
		if pc < t.lo || pc > t.hi {
			continue
		}
		d, ok := t.digits[pc]
		if !ok || !d.last {
			continue
		}
		// The innermost frame of a run holds the most significant digit.
		id, end := uint64(d.digit), i+1
		for end < len(stack) {
			next, ok := t.digits[stack[end]]
			if !ok || next.last {
				break
			}
			id = id<<8 | uint64(next.digit)
			end++
		}
		if end == len(stack) {
			break // the outermost digits may be cut off
		}
		runs = append(runs, tagRun{id, i, end})
		i = end - 1
	}
	return runs
}
