package ctxguard

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// The loop is the Monitor's one goroutine, started by the first tracked
// goroutine or dropped cancel and stopped by Close. It scans the goroutine
// registry every scanInterval (and at the earliest grace deadline), delivers
// events to observers as they are queued, and every ReportInterval logs one
// record per site with new events, at most maxReportLines of them plus one
// record summing the rest: the number of log records depends on the number
// of active sites, never on the number of events.

func (m *Monitor) startLoop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.loopStarted.Load() || m.closing {
		return
	}
	m.loopStarted.Store(true)
	go m.loop()
}

func (m *Monitor) loop() {
	defer close(m.loopDone)
	timer := time.NewTimer(scanInterval)
	defer timer.Stop()
	nextReport := time.Now().Add(m.cfg.ReportInterval)
	for {
		select {
		case <-m.quit:
			m.recordLateExits(true)
			m.deliver(true)
			m.report()
			return
		case <-m.wake:
			m.recordLateExits(false)
			m.deliver(false)
			continue
		case <-timer.C:
		}
		now := time.Now()
		next := m.scan(now.UnixNano())
		m.recordLateExits(false)
		m.deliver(false)
		if !now.Before(nextReport) {
			m.report()
			nextReport = now.Add(m.cfg.ReportInterval)
		}
		wait := min(scanInterval, nextReport.Sub(now))
		if next != 0 {
			wait = min(wait, time.Duration(next-now.UnixNano()))
		}
		timer.Reset(max(wait, time.Millisecond))
	}
}

// siteReport is one site's line in a report.
type siteReport struct {
	site         Site
	count, total uint64
	attrs        []slog.Attr
}

// report logs what happened since the previous report.
func (m *Monitor) report() {
	var drops, lags, lateExits []siteReport
	m.mu.Lock()
	for _, s := range m.cancelSites.all() {
		if s.unreported > 0 {
			drops = append(drops, siteReport{site: s.resolve(), count: s.unreported, total: s.total})
			s.unreported = 0
		}
	}
	for _, s := range m.goroutineStats.all() {
		attrs := []slog.Attr{slog.String("name", s.name), slog.String("scope", s.scope)}
		if s.newLagged > 0 {
			cause := "<nil>"
			if s.lastCause != nil {
				cause = s.lastCause.Error()
			}
			lags = append(lags, siteReport{site: s.resolve(), count: s.newLagged, total: s.lagged,
				attrs: append(attrs, slog.String("cause", cause))})
			s.newLagged = 0
		}
		if s.newLateExits > 0 {
			lateExits = append(lateExits, siteReport{site: s.resolve(), count: s.newLateExits, total: s.lateExits,
				attrs: append(attrs, slog.Duration("max_delay", s.newDelayMax))})
			s.newLateExits, s.newDelayMax = 0, 0
		}
	}
	m.mu.Unlock()
	m.logSites(lags, "ctxguard: goroutines still running after their context ended",
		slog.Duration("grace", m.cfg.Grace))
	m.logSites(lateExits, "ctxguard: lagging goroutines returned")
	m.logSites(drops, "ctxguard: cancel funcs dropped without being called",
		slog.Int("sample_rate", m.cfg.CancelSampleRate))
}

// logSites writes one Warn record per site, most events first, bounded by
// maxReportLines; the remaining sites are summed into one last record.
func (m *Monitor) logSites(sites []siteReport, msg string, extra ...slog.Attr) {
	if len(sites) == 0 {
		return
	}
	slices.SortFunc(sites, func(a, b siteReport) int {
		return bySiteCount(a.site, a.count, b.site, b.count)
	})
	log := m.logger()
	ctx := context.Background()
	for i, s := range sites {
		if i == maxReportLines {
			var count uint64
			for _, rest := range sites[i:] {
				count += rest.count
			}
			attrs := append([]slog.Attr{slog.Int("more_sites", len(sites)-i), slog.Uint64("count", count)}, extra...)
			log.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
			return
		}
		attrs := append(append([]slog.Attr{
			slog.String("site", s.site.String()),
			slog.String("function", s.site.Function),
			slog.Uint64("count", s.count),
			slog.Uint64("total", s.total),
		}, s.attrs...), extra...)
		log.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
	}
}
