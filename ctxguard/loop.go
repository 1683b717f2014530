package ctxguard

import (
	"time"
)

// The loop is the Monitor's one goroutine, started by the first tracked
// goroutine or dropped cancel and stopped by Close. It scans the goroutine
// registry every scanInterval (and at the earliest grace deadline), delivers
// events to observers as they are queued, starts stack captures of lagging
// goroutines (stacks.go) and writes the reports that are due (report.go).

func (m *Monitor) startLoop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loopStarted.Load() || m.closing {
		return
	}
	m.loopStarted.Store(true)
	go m.loop()
}

// stackCapture is the loop's state of stack captures.
type stackCapture struct {
	running bool
	next    time.Time // no capture starts before
	deep    bool      // the next capture reads deeper stacks
	done    chan *capture
}

func (m *Monitor) loop() {
	defer close(m.loopDone)
	timer := time.NewTimer(scanInterval)
	defer timer.Stop()
	for {
		select {
		case <-m.quit:
			if m.stackCapture.running {
				<-m.stackCapture.done
			}
			m.recordLateExits(true)
			m.deliver(true)
			m.report(time.Now(), true)
			return
		case <-m.wake:
			m.recordLateExits(false)
			m.deliver(false)
			m.report(time.Now(), false)
			continue
		case c := <-m.stackCapture.done:
			m.stackCapture.running = false
			m.captured(c, time.Now())
			m.deliver(false)
			m.report(time.Now(), false)
			continue
		case <-timer.C:
		}
		now := time.Now()
		next := m.scan(now.UnixNano())
		m.recordLateExits(false)
		m.maybeCapture(now)
		m.deliver(false)
		m.report(now, false)
		wait := scanInterval
		if next != 0 {
			wait = min(wait, time.Duration(next-now.UnixNano()))
		}
		timer.Reset(max(wait, time.Millisecond))
	}
}

// maybeCapture starts a stack capture if lagging goroutines have no known
// stack, none is running, and the last one's cost allows.
func (m *Monitor) maybeCapture(now time.Time) {
	c := &m.stackCapture
	if c.running || now.Before(c.next) {
		return
	}
	m.mu.Lock()
	if m.unknownStacks == 0 {
		m.mu.Unlock()
		return
	}
	want := make(map[uint64]*goroutine, m.unknownStacks)
	for g, r := range m.lagging {
		if r.info == nil {
			want[g.id()] = g
		}
	}
	m.mu.Unlock()
	c.running = true
	job := &capture{want: want, deep: c.deep}
	go func() {
		job.run()
		c.done <- job
	}()
}
