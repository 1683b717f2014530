package ctxdebug

import (
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
)

// A Page is what the debug page shows, as served at ?format=json. Field
// names and meanings are stable: new fields may be added, none is renamed
// or removed. Lists are never null (empty lists are []), times are
// RFC 3339 with nanoseconds, durations are seconds as numbers. Strings
// from the program (names, scopes, causes, panic values) are at most
// ctxguard.MaxLabelBytes long.
type Page struct {
	// Time is when the Monitor was read.
	Time time.Time `json:"time"`
	// WatchingSince is when the handler began observing the Monitor's
	// events: Events and Samples cover only what happened since (for
	// Entry.OldestEnded and Entry.Causes, the Monitor's own figures stand
	// in for what came before).
	WatchingSince time.Time `json:"watching_since"`
	// Filter is the filter applied to Goroutines and Events.
	Filter Filter `json:"filter"`
	// Totals are the Monitor's totals, unfiltered.
	Totals Totals `json:"totals"`

	// Goroutines are the entries (by name, scope and spawn site) that
	// pass the filter, worst first: those with lagging goroutines that
	// do not wait for other lagging goroutines (the root causes), most
	// lagging first; then lagging ones that wait for others; then those
	// with goroutines proven leaked; then the rest, most live first. At
	// most the handler's MaxSites (see WithMaxSites).
	Goroutines []Entry `json:"goroutines"`
	// GoroutinesOmitted counts the entries that passed the filter but
	// were left out by MaxSites; OmittedLive and OmittedLagging are their
	// goroutines.
	GoroutinesOmitted int `json:"goroutines_omitted"`
	OmittedLive       int `json:"omitted_live"`
	OmittedLagging    int `json:"omitted_lagging"`

	// DroppedCancelSites are the sites that created cancel funcs later
	// collected uncalled, most drops first, at most MaxSites; the filter
	// does not apply to them. DroppedCancelSitesOmitted counts the sites
	// left out.
	DroppedCancelSites        []SiteCount `json:"dropped_cancel_sites"`
	DroppedCancelSitesOmitted int         `json:"dropped_cancel_sites_omitted"`

	// Events are the recent events that pass the filter, newest first,
	// at most the handler's MaxEvents (see WithMaxEvents).
	Events []Event `json:"events"`

	// Samples are the live and lagging totals over the last ChartWindow,
	// oldest first, taken when the page was served and when events
	// arrived (at most one a second). Unfiltered.
	Samples []Sample `json:"samples"`

	// LeakCheck says whether the Monitor can prove goroutines leaked on
	// this Go release, and when it last checked.
	LeakCheck LeakCheck `json:"leak_check"`
	// Untracked are the groups of goroutines ctxguard does not track that
	// pile up at one place (ctxguard.Config.WatchUntracked). The filter
	// does not apply to them.
	Untracked Untracked `json:"untracked"`
}

// LeakCheck is the state of the Monitor's proof of leaks. Lagging says a
// goroutine still runs after its context ended, and may yet return;
// leaked, that Go's goroutine leak profile proved it can never return
// (it is blocked on a channel or lock nothing reachable can signal).
type LeakCheck struct {
	// Available is ctxguard.LeakProfileAvailable: this program's Go
	// release has the goroutine leak profile (Go 1.27 and later, or Go
	// 1.26 built with GOEXPERIMENT=goroutineleakprofile). Without it no
	// goroutine is ever counted as leaked.
	Available bool `json:"available"`
	// GoVersion is the program's Go release, as runtime.Version says.
	GoVersion string `json:"go_version"`
	// Last is when the Monitor last ran the profile (ctxguard.Snapshot's
	// LeakCheckAt); null if it has not. It runs when there is something
	// to prove: goroutines newly lagging, untracked groups not yet
	// checked, and now and then long-lived goroutines; with the Monitor's
	// Config.NoLeakCheck, only when Monitor.CheckLeaks is called.
	Last *time.Time `json:"last"`
}

// Untracked is what the Monitor last saw of the goroutines it does not
// track, as ctxguard.Snapshot's Untracked fields say.
type Untracked struct {
	// Watched is whether the Monitor has looked at them: false when its
	// Config.WatchUntracked is off, or before its first look.
	Watched bool `json:"watched"`
	// At is when it last looked; null if it has not.
	At *time.Time `json:"at"`
	// Live counts the untracked goroutines at that look, in groups or not.
	Live int `json:"live"`
	// Groups are the groups the Monitor lists (at least its
	// Config.UntrackedMin goroutines, or some proven leaked), those with
	// leaked goroutines first, then most goroutines first; at most the
	// handler's MaxSites. Omitted counts the goroutines of the groups the
	// Monitor or the handler left out.
	Groups  []UntrackedGroup `json:"groups"`
	Omitted int              `json:"omitted"`
}

// An UntrackedGroup is untracked goroutines that started with the same
// function and are blocked at the same place (ctxguard.UntrackedStats).
type UntrackedGroup struct {
	// Start is the function they started with, at its declaration's line:
	// for a function literal started by a go statement, the go
	// statement's line.
	Start Site `json:"start"`
	// BlockedAt is the line where they are blocked, Reason what they wait
	// for (as Blocked.Reason), and Frames the stack from BlockedAt down
	// to the function they started with (at most 32 frames; the
	// runtime's goexit below it left out).
	BlockedAt Site   `json:"blocked_at"`
	Reason    string `json:"reason"`
	Frames    []Site `json:"frames"`
	// Count is how many goroutines the group had at the Monitor's last
	// look, Leaked how many of them its last leak check proved can never
	// return.
	Count  int `json:"count"`
	Leaked int `json:"leaked"`
}

// Filter restricts the entries and events listed: those whose scope
// contains Scope and whose name contains Name (case-sensitive substrings;
// empty matches everything). Set by the query parameters scope and name.
type Filter struct {
	Scope string `json:"scope"`
	Name  string `json:"name"`
}

// Totals are the Monitor's counters as ctxguard.Snapshot reports them.
type Totals struct {
	// Spawned counts the goroutines (and request handlers) tracked so far.
	Spawned uint64 `json:"spawned"`
	// Live is the number of tracked goroutines still running.
	Live int `json:"live"`
	// Lagging is the number of live goroutines past their grace after
	// their context ended.
	Lagging int `json:"lagging"`
	// Lagged counts the goroutines that ever became lagging.
	Lagged uint64 `json:"lagged"`
	// Panics counts tracked goroutines that panicked.
	Panics uint64 `json:"panics"`
	// DroppedCancels counts tracked cancel funcs collected uncalled while
	// their context was not done; one in CancelSampleRate is tracked, and
	// CancelsTracked counts those.
	DroppedCancels   uint64 `json:"dropped_cancels"`
	CancelsTracked   uint64 `json:"cancels_tracked"`
	CancelSampleRate int    `json:"cancel_sample_rate"`
	// EventsDropped counts events not delivered to observers (this page
	// among them), which then lack in Events and in Entry.Causes.
	EventsDropped uint64 `json:"events_dropped"`
	// LogRecordsDropped counts report records the Monitor's Logger missed.
	LogRecordsDropped uint64 `json:"log_records_dropped"`
	// ObserverPanics, LoggerPanics and ContextPanics count panics the
	// Monitor recovered from observers, its Logger's handler and methods
	// of tracked contexts.
	ObserverPanics uint64 `json:"observer_panics"`
	LoggerPanics   uint64 `json:"logger_panics"`
	ContextPanics  uint64 `json:"context_panics"`
	// Leaked counts the tracked goroutines, lagging or not, that the
	// Monitor's last leak check proved can never return (see LeakCheck);
	// always 0 on a Go release without the goroutine leak profile.
	Leaked int `json:"leaked"`
}

// An Entry is the goroutines of one name, scope and spawn site, as
// ctxguard.GoroutineStats counts them. The Monitor folds entries beyond its
// Config.MaxSites into one named "(other sites)".
type Entry struct {
	// Name is the goroutines' name (spawn.WithName, else the function's).
	Name string `json:"name"`
	// Scope is their context's scope: for requests, the route.
	Scope string `json:"scope"`
	// Site is where they were spawned.
	Site Site `json:"site"`
	// Live and Lagging are the running goroutines and, of them, those past
	// their grace after their context ended.
	Live    int `json:"live"`
	Lagging int `json:"lagging"`
	// Lagged counts the goroutines that ever lagged, LateExits those of
	// them that have returned, Panics those that panicked.
	Lagged    uint64 `json:"lagged"`
	LateExits uint64 `json:"late_exits"`
	Panics    uint64 `json:"panics"`
	// Leaked counts the entry's goroutines, lagging or not, that the
	// Monitor's last leak check proved can never return
	// (ctxguard.GoroutineStats.Leaked): a goroutine whose context never
	// ends can leak too. Always 0 without the goroutine leak profile
	// (Page.LeakCheck).
	Leaked int `json:"leaked"`
	// ExitDelayMaxSeconds and ExitDelayMeanSeconds are over the late
	// exits: how long after their context ended they returned. 0 without
	// late exits.
	ExitDelayMaxSeconds  float64 `json:"exit_delay_max_seconds"`
	ExitDelayMeanSeconds float64 `json:"exit_delay_mean_seconds"`
	// OldestEnded is when the context of the longest-lagging goroutine
	// ended, and LaggingForSeconds how long before Page.Time that was:
	// how long the oldest one has outlived its context. Taken from the
	// LagStart events the handler observed, or the Monitor's
	// GoroutineStats.LaggingSince when that is older (lags that began
	// before WatchingSince); null (and 0) when no goroutine lags.
	OldestEnded       *time.Time `json:"oldest_ended"`
	LaggingForSeconds float64    `json:"lagging_for_seconds"`
	// Causes are context.Cause of the lagging goroutines' contexts, most
	// first: for each cause, the LagStart events observed minus the
	// LateExit events observed. At most four, and "(other causes)". When
	// the handler observed none of the entry's lagging goroutines (they
	// began to lag before WatchingSince), the Monitor's
	// GoroutineStats.LastCause, counted for all of them.
	Causes []CauseCount `json:"causes"`
	// Waiting is true when every lagging goroutine of the entry waits in
	// spawn.Group.Wait for other lagging goroutines: not a root cause.
	Waiting bool `json:"waiting"`
	// BlockedAt says where the lagging goroutines are blocked, read from
	// their stacks, most first (those waiting for other goroutines last),
	// at most eight locations. BlockedAtOmitted counts the lagging
	// goroutines blocked elsewhere, NotCaptured those whose stack has not
	// been read yet.
	BlockedAt        []Blocked `json:"blocked_at"`
	BlockedAtOmitted int       `json:"blocked_at_omitted"`
	NotCaptured      int       `json:"not_captured"`
}

// A CauseCount is a cause and how many lagging goroutines it ended.
type CauseCount struct {
	Cause string `json:"cause"`
	Count int    `json:"count"`
}

// A Blocked is where some lagging goroutines of an entry are blocked.
type Blocked struct {
	// Site is the line of the blocking receive, select, Sleep or Wait.
	Site Site `json:"site"`
	// Reason is what they wait for: "chan receive", "select", "sleep",
	// "sync.WaitGroup.Wait", "spawn.Group.Wait", "running", and the others
	// ctxguard.BlockedAt.Reason lists.
	Reason string `json:"reason"`
	// Count is how many of the entry's lagging goroutines are blocked
	// here.
	Count int `json:"count"`
	// Returned counts those seen blocked here that have returned since: a
	// location with Count 0 is where the entry's lagging goroutines were
	// last seen (ctxguard.BlockedAt.Returned).
	Returned int `json:"returned"`
	// Frames are the stack from Site down to the spawned function.
	Frames []Site `json:"frames"`
	// WaitingFor lists, for goroutines in spawn.Group.Wait, the lagging
	// goroutines they wait for: the ones to fix.
	WaitingFor []LaggingEntry `json:"waiting_for"`
}

// A LaggingEntry is the lagging goroutines of one entry that others wait for.
type LaggingEntry struct {
	Name  string `json:"name"`
	Scope string `json:"scope"`
	Site  Site   `json:"site"`
	Count int    `json:"count"`
}

// A SiteCount is a site and how many cancel funcs created there were
// dropped.
type SiteCount struct {
	Site  Site   `json:"site"`
	Count uint64 `json:"count"`
}

// A Site is a place in the program's source, as ctxguard.Site: File is
// the package path and the file's base name, the same wherever the
// program was built.
type Site struct {
	Function string `json:"function"`
	File     string `json:"file"`
	Line     int    `json:"line"`
}

// String returns "file:line", or the Function for sites without a file.
func (s Site) String() string { return ctxguard.Site(s).String() }

func siteOf(s ctxguard.Site) Site { return Site(s) }

// An Event is one or more events the Monitor delivered, as the handler
// keeps them: consecutive events of the same kind, entry and detail
// within a second of each other (the lags of one burst of requests) are
// kept as one, with their Count.
type Event struct {
	// Kind is "LagStart", "LateExit", "DroppedCancel", "Panic" or
	// "Blocked" (see ctxguard.EventKind).
	Kind string `json:"kind"`
	// Time is when the Monitor observed the last of them, FirstTime the
	// first.
	Time      time.Time `json:"time"`
	FirstTime time.Time `json:"first_time"`
	// Count is how many events this is.
	Count int `json:"count"`
	// Name and Scope are the goroutine's (for DroppedCancel, the scope of
	// the cancel func's context; no name).
	Name  string `json:"name"`
	Scope string `json:"scope"`
	// Site is where the goroutine was spawned or the cancel func created.
	Site Site `json:"site"`
	// DelaySeconds is, for LagStart, how long the goroutine had run since
	// its context ended, for LateExit how late it returned: the longest
	// among the events counted. 0 for the other kinds.
	DelaySeconds float64 `json:"delay_seconds"`
	// Cause is context.Cause of the goroutine's context, "" if none.
	Cause string `json:"cause"`
	// Value is, for Panic, the recovered panic value, formatted; "" when
	// the panic was not recovered.
	Value string `json:"value"`
	// BlockedAt is, for Blocked, where the goroutine is blocked:
	// "file:line (reason)".
	BlockedAt string `json:"blocked_at"`
}

// A Sample is the Monitor's totals at one moment.
type Sample struct {
	Time    time.Time `json:"time"`
	Live    int       `json:"live"`
	Lagging int       `json:"lagging"`
}
