package ctxguard

import (
	"time"
)

// The loop is the Monitor's goroutine. It runs while there is something to
// watch or to report: started by the first tracked goroutine or dropped
// cancel func, it returns once no tracked goroutine is live and every
// report is written (flushing reports held back by ReportInterval), and the
// next one starts it again; Close stops it for good. While it runs it scans
// the goroutine registry every scanInterval (and at the earliest grace
// deadline), records late exits, starts stack captures of lagging
// goroutines (capture.go) and writes the reports that are due (report.go).
// It never calls user code that could block it: log records and events go
// to outboxes (outbox.go), and the few context methods it calls are
// contained (contain.go).

// A loopRun is one run of the loop, from its start to its return: the
// channels of one run are made by the goroutine that starts it.
type loopRun struct {
	wake     chan struct{} // something to record or report
	quit     chan struct{} // closed by Close
	captured chan *capture // the stack capture in flight, when done
}

// startLoop starts the loop unless it runs or the Monitor is closed.
func (m *Monitor) startLoop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.run.Load() != nil || m.closing {
		return
	}
	r := &loopRun{
		wake:     make(chan struct{}, 1),
		quit:     make(chan struct{}),
		captured: make(chan *capture, 1),
	}
	m.run.Store(r)
	m.loops.Add(1)
	m.loopGoroutines.Add(1)
	go m.loop(r)
}

// watchesUntracked reports whether the Monitor looks at untracked
// goroutines.
func (m *Monitor) watchesUntracked() bool { return m.cfg.WatchUntracked && !m.bubbled }

func (m *Monitor) loop(r *loopRun) {
	defer m.loops.Done()
	defer m.loopGoroutines.Add(-1)
	timer := time.NewTimer(idleCheckInterval) // few goroutines are live yet
	defer timer.Stop()
	for {
		select {
		case <-r.quit:
			if m.stackCapture.running {
				m.captured(<-r.captured, time.Now())
			}
			return // Close writes the last reports
		case <-r.wake:
			m.recordLateExits(false)
			m.report(time.Now(), false)
			continue
		case c := <-r.captured:
			m.captured(c, time.Now())
			m.report(time.Now(), false)
			continue
		case <-timer.C:
		}
		now := time.Now()
		next := m.scan(now.UnixNano())
		m.recordLateExits(false)
		m.maybeCapture(now, r)
		due := m.report(now, false)
		wait, stop := m.sleep(r, now, due)
		if stop {
			return
		}
		if next != 0 {
			wait = min(wait, time.Duration(next-now.UnixNano()))
		}
		timer.Reset(max(wait, time.Millisecond))
	}
}

// sleep returns how long the loop may sleep after its round at now, due
// being when the earliest record held back is (zero if none), or stop if
// run r is to return: nothing is live, nothing is left to do, and the
// Monitor does not watch untracked goroutines.
//
// A loop that stays with nothing live (for the records held back, or for
// its next look at untracked goroutines) still wakes every scanInterval:
// a goroutine spawned meanwhile finds it running and does not wake it, and
// is owed a scan within scanInterval like any other.
func (m *Monitor) sleep(r *loopRun, now, due time.Time) (wait time.Duration, stop bool) {
	live := m.liveRecords()
	idle := live == 0 && m.idle()
	switch {
	case idle && (m.watchesUntracked() || !due.IsZero()):
		if !due.IsZero() {
			return min(scanInterval, due.Sub(now)), false
		}
		return scanInterval, false
	case idle:
		if m.stop(r) {
			return 0, true
		}
		// a goroutine was registered or news listed meanwhile
	case live < fewLive && underTest:
		return idleCheckInterval, false // soon gone, in a test that checks for leaks
	}
	return scanInterval, false
}

// In a test binary, while fewer than fewLive tracked goroutines are live,
// the loop looks every idleCheckInterval, rather than every scanInterval,
// for the moment none is: it then returns at once, well within the half
// second that leak checks such as goleak's wait for a test's goroutines to
// end. A scan of so few goroutines costs next to nothing; a program that
// is not a test keeps a few long-lived goroutines without waking the loop
// twenty times a second for them.
const (
	fewLive           = 64
	idleCheckInterval = 50 * time.Millisecond
)

// idle reports whether the loop has nothing left to do besides the reports
// ReportInterval holds back, its caller having found no live tracked
// goroutine: none lags or has a late exit to record, no capture runs.
func (m *Monitor) idle() bool {
	if m.stackCapture.running {
		return false
	}
	m.lateExits.mu.Lock()
	pending := len(m.lateExits.pending)
	m.lateExits.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	return pending == 0 && len(m.lagging) == 0
}

// liveRecords counts the tracked goroutines, under each shard's lock.
func (m *Monitor) liveRecords() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.live
		s.mu.Unlock()
	}
	return n
}

// stop ends run r of an idle loop and reports whether it may return. A
// goroutine registered meanwhile, or news listed for a report (a dropped
// cancel, a route starting to shed), either sees no loop and starts one,
// or is seen here (registration locks a shard, and news is listed under
// m.mu, before either looks for the loop; stop clears the loop before it
// locks them): then r goes on, unless a new run has started already.
func (m *Monitor) stop(r *loopRun) bool {
	m.run.CompareAndSwap(r, nil)
	live := m.liveRecords()
	m.mu.Lock()
	defer m.mu.Unlock()
	if live == 0 && !m.news {
		return true
	}
	return m.closing || !m.run.CompareAndSwap(nil, r)
}

// wakeLoop has the loop record late exits and report soon.
func (m *Monitor) wakeLoop() {
	if r := m.run.Load(); r != nil {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}
