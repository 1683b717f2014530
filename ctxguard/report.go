package ctxguard

import (
	"context"
	"log/slog"
	"slices"
	"time"
)

// The reporter is the Monitor's one goroutine. Every ReportInterval it logs
// one record per site with events since the previous report, at most
// maxReportLines of them plus one record summing the rest, so the number of
// log records depends on the number of active sites, never on the number of
// events.
type reporter struct {
	m    *Monitor
	quit chan struct{}
	done chan struct{}
}

// ensureReporterLocked starts the reporter unless it runs or the Monitor is
// closing. The caller holds m.mu.
func (m *Monitor) ensureReporterLocked() {
	if m.reporter != nil || m.closing {
		return
	}
	r := &reporter{m: m, quit: make(chan struct{}), done: make(chan struct{})}
	m.reporter = r
	go r.run()
}

func (r *reporter) run() {
	defer close(r.done)
	t := time.NewTicker(r.m.cfg.ReportInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.m.report()
		case <-r.quit:
			r.m.report()
			return
		}
	}
}

// stop makes the reporter log a last report and waits for it to exit.
func (r *reporter) stop() {
	close(r.quit)
	<-r.done
}

// siteReport is one site's line in a report.
type siteReport struct {
	site         Site
	count, total uint64
}

// report logs what happened since the previous report.
func (m *Monitor) report() {
	m.mu.Lock()
	var drops []siteReport
	for _, s := range m.cancelSites.all() {
		if s.unreported > 0 {
			drops = append(drops, siteReport{s.resolve(), s.unreported, s.total})
			s.unreported = 0
		}
	}
	m.mu.Unlock()
	m.logSites(drops, "ctxguard: cancel funcs dropped without being called",
		slog.Int("sample_rate", m.cfg.CancelSampleRate))
}

// logSites writes one Warn record per site, most events first, bounded by
// maxReportLines; the remaining sites are summed into one last record.
func (m *Monitor) logSites(sites []siteReport, msg string, extra ...slog.Attr) {
	if len(sites) == 0 {
		return
	}
	sortSiteReports(sites)
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
		attrs := append([]slog.Attr{
			slog.String("site", s.site.String()),
			slog.String("function", s.site.Function),
			slog.Uint64("count", s.count),
			slog.Uint64("total", s.total),
		}, extra...)
		log.LogAttrs(ctx, slog.LevelWarn, msg, attrs...)
	}
}

func sortSiteReports(sites []siteReport) {
	slices.SortFunc(sites, func(a, b siteReport) int {
		return bySiteCount(a.site, a.count, b.site, b.count)
	})
}
