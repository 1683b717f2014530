package ctxguard

import (
	"context"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"sync"
	"time"
)

// Execution traces and profiler labels: two ways to see ctxguard's findings
// beside the goroutines themselves, in `go tool trace` and in pprof.
//
// While an execution trace is being recorded (runtime/trace.IsEnabled), a
// goroutine that starts lagging gets a trace task named "ctxguard.lagging"
// with a log message saying who it is; the task ends, with a second
// message, when the goroutine has returned. Both are done by the Monitor's
// loop, off the hot path. When no trace is being recorded a lag start
// costs one atomic load, and a late exit a lock and a map lookup.

// traceCategory is the category of ctxguard's trace log messages.
const traceCategory = "ctxguard"

// lagTasks holds the trace tasks of lagging goroutines, by lag ID, from lag
// start to late exit: at most one per goroutine that was lagging while a
// trace was recorded and has not returned yet.
type lagTasks struct {
	mu    sync.Mutex
	tasks map[uint64]lagTask
}

type lagTask struct {
	ctx  context.Context
	task *trace.Task
}

// traceLagging starts a task for each goroutine in gs, under its lag ID in
// ids, with its context's cause in causes, on the loop's goroutine; the
// caller checked trace.IsEnabled.
func (m *Monitor) traceLagging(gs []*goroutine, ids []uint64, causes []error, now int64) {
	t := &m.lagTasks
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tasks == nil {
		t.tasks = make(map[uint64]lagTask)
	}
	for i, g := range gs {
		m.traceLagStart(g, ids[i], causes[i], now)
	}
}

// traceLagStart starts g's task. NewTask reads g's context, which may
// panic: contained, g then gets no task.
func (m *Monitor) traceLagStart(g *goroutine, id uint64, cause error, now int64) {
	m.contained(func() {
		ctx, task := trace.NewTask(g.ctx, "ctxguard.lagging")
		trace.Log(ctx, traceCategory, "lag start: "+m.describe(g, cause)+
			", context ended "+time.Duration(now-g.endedAt).String()+" ago")
		m.lagTasks.tasks[id] = lagTask{ctx, task}
	})
}

// traceLateExit logs g's late exit and ends its task.
func (m *Monitor) traceLateExit(g *goroutine, lagID uint64, delay time.Duration) {
	t := &m.lagTasks
	t.mu.Lock()
	lt, ok := t.tasks[lagID]
	delete(t.tasks, lagID)
	t.mu.Unlock()
	if !ok {
		if !trace.IsEnabled() {
			return
		}
		lt.ctx = g.ctx
	}
	m.contained(func() { // Log reads the context, which may panic
		trace.Log(lt.ctx, traceCategory, "late exit: "+m.describe(g, m.cause(g.ctx))+", returned "+delay.String()+" after its context ended")
	})
	if lt.task != nil {
		lt.task.End()
	}
}

// describe is g's name, scope, spawn site and cause, for trace messages.
func (m *Monitor) describe(g *goroutine, cause error) string {
	s := g.name() + " spawned at " + siteOf(g.site()).String()
	if scope := g.scopeName(); scope != "" {
		s += " in scope " + strconv.Quote(scope)
	}
	if cause != nil {
		s += ", cause: " + m.errorText(cause)
	}
	return s
}

// Profiler labels: with Config.ProfileLabels, a tracked goroutine runs with
// the pprof labels "ctxguard.name" and "ctxguard.scope", which goroutines it
// starts inherit.

// setProfileLabels labels the calling goroutine, which runs g.
func (g *goroutine) setProfileLabels() {
	pprof.SetGoroutineLabels(pprof.WithLabels(g.ctx, pprof.Labels(
		"ctxguard.name", g.name(), "ctxguard.scope", g.scopeName())))
}
