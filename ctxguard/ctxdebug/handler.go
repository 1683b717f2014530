package ctxdebug

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// Handler returns a handler that serves the debug page of m: HTML, or at
// ?format=json the same data as JSON (see [Page]). With m nil it serves
// ctxguard.Default as of each request. Mount it where you like; nothing is
// registered anywhere:
//
//	mux.Handle("/debug/ctxguard/", http.StripPrefix("/debug/ctxguard", ctxdebug.Handler(m)))
//
// The handler serves GET and HEAD to the clients its access check allows
// ([FromLoopback] unless [WithAuth]) and 403 Forbidden to the others. Query
// parameters: scope and name filter the goroutines and events listed (see
// [Filter]); refresh=N reloads the HTML page every N seconds (1 to 3600);
// format=json serves JSON. Other values of them get 400 Bad Request, and
// other methods 405 Method Not Allowed.
//
// From this call on, the handler observes the Monitor's events
// ([ctxguard.Monitor.Observe]) to keep what a Snapshot does not say: when
// each lagging goroutine's context ended and its cause, the recent events,
// and samples of the totals for the chart. It starts no goroutine: events
// reach it on the Monitor's observer goroutine, which runs only while
// events wait, and samples are taken when the page is served and when
// events arrive (at most once a second, and not again within 100 times
// the last Snapshot's duration). What it keeps is bounded (see
// [WithMaxEvents], [ChartWindow]) and lives as long as the Monitor, or, with
// m nil, until ctxguard.SetDefault replaces the Default Monitor and a
// request comes.
//
// Each request costs one [ctxguard.Monitor.Snapshot] and the rendering of a
// page bounded by [WithMaxSites]: see the package documentation for the
// time measured.
func Handler(m *ctxguard.Monitor, opts ...Option) http.Handler {
	h := &handler{fixed: m, cfg: newConfig(opts)}
	h.watching(h.monitor())
	return h
}

type handler struct {
	fixed *ctxguard.Monitor // nil: Default
	cfg   config

	mu sync.Mutex
	w  *watch // for the Monitor served last
}

func (h *handler) monitor() *ctxguard.Monitor {
	if h.fixed != nil {
		return h.fixed
	}
	return ctxguard.Default()
}

// watching returns the watch of m, starting it (and ending the previous
// Monitor's) if m is not the Monitor watched.
func (h *handler) watching(m *ctxguard.Monitor) *watch {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w != nil && h.w.m == m {
		return h.w
	}
	if h.w != nil {
		h.w.stop()
	}
	h.w = newWatch(m, h.cfg.maxEvents)
	return h.w
}

// query is a request's parameters.
type query struct {
	filter  Filter
	refresh int // seconds, 0 for none
	json    bool
}

const maxRefresh = 3600

func parseQuery(v url.Values) (query, error) {
	q := query{filter: Filter{Scope: v.Get("scope"), Name: v.Get("name")}}
	switch f := v.Get("format"); f {
	case "", "html":
	case "json":
		q.json = true
	default:
		return q, fmt.Errorf("format must be html or json, not %q", f)
	}
	if r := v.Get("refresh"); r != "" {
		n, err := strconv.Atoi(r)
		if err != nil || n < 1 || n > maxRefresh {
			return q, fmt.Errorf("refresh must be a whole number of seconds from 1 to %d, not %q", maxRefresh, r)
		}
		q.refresh = n
	}
	return q, nil
}

func (f Filter) match(scope, name string) bool {
	return strings.Contains(scope, f.Scope) && strings.Contains(name, f.Name)
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	if !h.cfg.auth(r) {
		http.Error(w, "ctxdebug: forbidden (by default only loopback clients may see this page; see ctxdebug.WithAuth)", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "ctxdebug: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q, err := parseQuery(r.URL.Query())
	if err != nil {
		http.Error(w, "ctxdebug: "+err.Error(), http.StatusBadRequest)
		return
	}
	p := h.watching(h.monitor()).page(q.filter, &h.cfg)
	var body bytes.Buffer
	if q.json {
		hdr.Set("Content-Type", "application/json")
		enc := json.NewEncoder(&body)
		enc.SetIndent("", "  ")
		err = enc.Encode(p)
	} else {
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("Referrer-Policy", "no-referrer")
		err = renderHTML(&body, p, q)
	}
	if err != nil {
		http.Error(w, "ctxdebug: "+err.Error(), http.StatusInternalServerError)
		return
	}
	hdr.Set("Content-Length", strconv.Itoa(body.Len()))
	w.Write(body.Bytes())
}

// page reads the Monitor and builds the page: one Snapshot, and what the
// watch kept, filtered and bounded.
func (w *watch) page(f Filter, cfg *config) *Page {
	s, start := w.takeSample()
	p := &Page{
		Time:          time.Now(),
		WatchingSince: w.since,
		Filter:        f,
		Totals: Totals{
			Spawned: s.Spawned, Live: s.Live, Lagging: s.Lagging, Lagged: s.Lagged, Panics: s.Panics,
			DroppedCancels: s.DroppedCancels, CancelsTracked: s.CancelsTracked, CancelSampleRate: s.CancelSampleRate,
			EventsDropped: s.EventsDropped, LogRecordsDropped: s.LogRecordsDropped,
			ObserverPanics: s.ObserverPanics, LoggerPanics: s.LoggerPanics, ContextPanics: s.ContextPanics,
			Leaked: s.Leaked,
		},
		Goroutines:         []Entry{},
		DroppedCancelSites: []SiteCount{},
		LeakCheck:          LeakCheck{Available: ctxguard.LeakProfileAvailable(), GoVersion: runtime.Version(), Last: timeOrNil(s.LeakCheckAt)},
		Untracked:          untrackedOf(&s, cfg.maxSites),
	}
	for _, sc := range s.DroppedCancelSites {
		if len(p.DroppedCancelSites) == cfg.maxSites {
			p.DroppedCancelSitesOmitted++
			continue
		}
		p.DroppedCancelSites = append(p.DroppedCancelSites, SiteCount{siteOf(sc.Site), sc.Count})
	}

	// Entries with goroutines proven leaked go before those with none
	// lagging or leaked, whatever their live counts, so that the bound
	// never hides a leak the totals count.
	slices.SortStableFunc(s.Goroutines, func(a, b ctxguard.GoroutineStats) int {
		return cmp.Compare(listRank(a), listRank(b))
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pruneLocked(&s, start)
	for _, g := range s.Goroutines {
		if !f.match(g.Scope, g.Name) {
			continue
		}
		if len(p.Goroutines) == cfg.maxSites {
			p.GoroutinesOmitted++
			p.OmittedLive += g.Live
			p.OmittedLagging += g.Lagging
			continue
		}
		p.Goroutines = append(p.Goroutines, w.entryLocked(g, p.Time))
	}
	p.Events = w.recentLocked(f)
	p.Samples = append([]Sample{}, w.samples...)
	return p
}

// listRank orders the entries listed: lagging ones (in the Snapshot's
// order), then those with goroutines proven leaked, then the others.
func listRank(g ctxguard.GoroutineStats) int {
	switch {
	case g.Lagging > 0:
		return 0
	case g.Leaked > 0:
		return 1
	}
	return 2
}

// timeOrNil is t, or nil for the zero time.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// untrackedOf is the Snapshot's untracked groups, at most maxSites.
func untrackedOf(s *ctxguard.Snapshot, maxSites int) Untracked {
	u := Untracked{Watched: !s.UntrackedAt.IsZero(), At: timeOrNil(s.UntrackedAt), Live: s.UntrackedLive,
		Omitted: s.UntrackedOmitted, Groups: []UntrackedGroup{}}
	for _, g := range s.Untracked {
		if len(u.Groups) == maxSites {
			u.Omitted += g.Count
			continue
		}
		b := g.BlockedAt
		ug := UntrackedGroup{Start: siteOf(g.Start), BlockedAt: siteOf(b.Site), Reason: b.Reason, Frames: []Site{},
			Count: g.Count, Leaked: g.Leaked}
		for _, f := range b.Frames[:min(len(b.Frames), maxFrames)] {
			if f.Function != "runtime.goexit" { // below every goroutine's start: says nothing
				ug.Frames = append(ug.Frames, siteOf(f))
			}
		}
		u.Groups = append(u.Groups, ug)
	}
	return u
}

// maxBlockedAt bounds the blocking locations listed per entry, maxFrames
// the frames of each, maxWaitingFor the entries each waits for.
const (
	maxBlockedAt  = 8
	maxFrames     = 32
	maxWaitingFor = 8
)

func (w *watch) entryLocked(g ctxguard.GoroutineStats, now time.Time) Entry {
	e := Entry{
		Name: g.Name, Scope: g.Scope, Site: siteOf(g.Site),
		Live: g.Live, Lagging: g.Lagging, Lagged: g.Lagged, LateExits: g.LateExits, Panics: g.Panics, Leaked: g.Leaked,
		ExitDelayMaxSeconds: g.ExitDelayMax.Seconds(),
		Waiting:             g.Waiting(),
		BlockedAt:           []Blocked{},
		BlockedAtOmitted:    g.BlockedAtOmitted,
	}
	if g.LateExits > 0 {
		e.ExitDelayMeanSeconds = g.ExitDelayTotal.Seconds() / float64(g.LateExits)
	}
	oldest, causes := w.lagOfLocked(entryKey{g.Name, g.Scope, g.Site})
	if g.Lagging > 0 {
		// The page's own counts come from the events it observed; for
		// lags that began before it did, the Monitor's figures stand in.
		if len(causes) == 0 && g.LastCause != "" {
			causes = []CauseCount{{Cause: g.LastCause, Count: g.Lagging}}
		}
		e.Causes = causes
		if oldest.IsZero() || g.LaggingSince.Before(oldest) {
			oldest = g.LaggingSince
		}
		if !oldest.IsZero() {
			e.OldestEnded = &oldest
			e.LaggingForSeconds = now.Sub(oldest).Seconds()
		}
	} else {
		e.Causes = []CauseCount{}
	}
	captured := g.BlockedAtOmitted
	blocked := g.BlockedAt
	if g.Lagging == 0 && len(blocked) == 0 {
		blocked = g.LeakedAt // leaked without lagging: its context never ended
	}
	for i, b := range blocked {
		captured += b.Count
		if i >= maxBlockedAt {
			e.BlockedAtOmitted += b.Count
			continue
		}
		bl := Blocked{Site: siteOf(b.Site), Reason: b.Reason, Count: b.Count, Returned: b.Returned, Frames: []Site{}, WaitingFor: []LaggingEntry{}}
		for _, f := range b.Frames[:min(len(b.Frames), maxFrames)] {
			bl.Frames = append(bl.Frames, siteOf(f))
		}
		for _, wf := range b.WaitingFor[:min(len(b.WaitingFor), maxWaitingFor)] {
			bl.WaitingFor = append(bl.WaitingFor, LaggingEntry{wf.Name, wf.Scope, siteOf(wf.Site), wf.Count})
		}
		e.BlockedAt = append(e.BlockedAt, bl)
	}
	e.NotCaptured = max(0, g.Lagging-captured)
	return e
}
