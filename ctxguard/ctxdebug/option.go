package ctxdebug

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Defaults for the bounds of the page, each changed by an Option.
const (
	// DefaultMaxSites bounds the goroutine entries, the dropped-cancel
	// sites and the untracked groups listed, each: a hundred rows is more
	// than a person reads during an incident, and the rest are counted,
	// not listed (filter by scope or name to see them).
	DefaultMaxSites = 100

	// DefaultMaxEvents bounds the recent events the handler keeps.
	DefaultMaxEvents = 100
)

// An Option changes how Handler serves the page.
type Option interface {
	apply(*config)
}

type config struct {
	auth      func(*http.Request) bool
	maxSites  int
	maxEvents int
}

func newConfig(opts []Option) config {
	cfg := config{auth: FromLoopback, maxSites: DefaultMaxSites, maxEvents: DefaultMaxEvents}
	for _, o := range opts {
		if o == nil {
			panic("ctxdebug: Handler called with a nil Option")
		}
		o.apply(&cfg)
	}
	return cfg
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithAuth decides with allow which requests may see the page, instead of
// the default, [FromLoopback]. A request it refuses gets 403 Forbidden and
// nothing else. allow runs on every request, before the Monitor is read;
// to keep loopback clients in, call FromLoopback from it:
//
//	ctxdebug.WithAuth(func(r *http.Request) bool {
//		return ctxdebug.FromLoopback(r) || isAdmin(r)
//	})
//
// It panics if allow is nil.
func WithAuth(allow func(*http.Request) bool) Option {
	if allow == nil {
		panic("ctxdebug: WithAuth called with a nil func")
	}
	return optionFunc(func(c *config) { c.auth = allow })
}

// WithMaxSites lists at most n goroutine entries, n dropped-cancel sites
// and n untracked groups, instead of DefaultMaxSites; entries beyond it are
// counted in Page.GoroutinesOmitted and Page.DroppedCancelSitesOmitted,
// the goroutines of groups beyond it in Page.Untracked.Omitted. The page's
// size grows linearly with n (a lagging entry with every blocking location
// expanded takes up to some 20 KB). It panics if n is not positive.
func WithMaxSites(n int) Option {
	if n <= 0 {
		panic(fmt.Sprintf("ctxdebug: WithMaxSites needs a positive number, got %d", n))
	}
	return optionFunc(func(c *config) { c.maxSites = n })
}

// WithMaxEvents keeps at most n recent events, instead of
// DefaultMaxEvents; each takes up to about 1 KB. It panics if n is not
// positive.
func WithMaxEvents(n int) Option {
	if n <= 0 {
		panic(fmt.Sprintf("ctxdebug: WithMaxEvents needs a positive number, got %d", n))
	}
	return optionFunc(func(c *config) { c.maxEvents = n })
}

// FromLoopback reports whether r came from a loopback address (127.0.0.0/8
// or ::1), as its RemoteAddr says, not through a proxy, and for a loopback
// host. It is the default access check. A reverse proxy on the same host
// connects from loopback for every client it serves, so a request that
// carries a header such proxies add (Forwarded, X-Forwarded-For,
// X-Real-IP) is not taken for a loopback client's: behind such a proxy,
// use WithAuth with a check of your own. A web page on another site can
// point its own host name at 127.0.0.1 (DNS rebinding) and then read what
// the browser fetches from it, so the request's Host must name the
// machine's loopback interface too: localhost or a name under it, or a
// loopback address (or no Host, as HTTP/1.0 allows); reaching the page by
// the machine's own host name needs WithAuth. A RemoteAddr that is not an
// IP address and port, such as a Unix socket's, is not loopback.
func FromLoopback(r *http.Request) bool {
	for _, h := range proxyHeaders {
		if _, ok := r.Header[h]; ok {
			return false
		}
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback() && loopbackHost(r.Host)
}

// loopbackHost reports whether host, a request's Host with or without a
// port, names the loopback interface: empty, localhost or a name under it
// (which browsers resolve to loopback themselves, whatever DNS says), or
// a loopback address.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"), ".")
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	if n := len(".localhost"); len(host) > n && strings.EqualFold(host[len(host)-n:], ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

// proxyHeaders are the headers proxies add to say whom they forward for,
// in canonical form.
var proxyHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"}
