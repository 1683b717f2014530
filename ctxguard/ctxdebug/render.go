package ctxdebug

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

//go:embed page.html
var pageSource string

// pageTemplate is the HTML page. html/template escapes every value from
// the program for the context it lands in (text, attribute, URL).
var pageTemplate = template.Must(template.New("page").Parse(pageSource))

// contentSecurityPolicy lets the page use its own style sheet and nothing
// else: no script, no external resource, no framing. The style sheet is
// allowed by its hash, so no inline style can be injected.
var contentSecurityPolicy = func() string {
	css := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(pageSource)[1]
	sum := sha256.Sum256([]byte(css))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; " +
		"img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}()

// view is what the template renders: the Page, split for its tables,
// with helpers that format against the page's time.
type view struct {
	*Page
	Refresh int
	Lagging []Entry // entries with lagging or leaked goroutines, worst first
	Others  []Entry // the other entries
	Charts  []chart
	JSONURL string
}

func renderHTML(w io.Writer, p *Page, q query) error {
	v := &view{Page: p, Refresh: q.refresh, Charts: charts(p.Samples, p.Time)}
	for _, e := range p.Goroutines {
		if e.Lagging > 0 || e.Leaked > 0 {
			v.Lagging = append(v.Lagging, e)
		} else {
			v.Others = append(v.Others, e)
		}
	}
	v.JSONURL = v.url(p.Filter, "json")
	return pageTemplate.Execute(w, v)
}

// url is the page's URL, relative to the one served, for filter f.
func (v *view) url(f Filter, format string) string {
	q := url.Values{}
	if f.Scope != "" {
		q.Set("scope", f.Scope)
	}
	if f.Name != "" {
		q.Set("name", f.Name)
	}
	if v.Refresh > 0 && format == "" {
		q.Set("refresh", strconv.Itoa(v.Refresh))
	}
	if format != "" {
		q.Set("format", format)
	}
	if len(q) == 0 {
		return "?"
	}
	return "?" + q.Encode()
}

// ScopeURL is the page filtered to scope exactly as the current filter's
// name is.
func (v *view) ScopeURL(scope string) string {
	return v.url(Filter{Scope: scope, Name: v.Filter.Name}, "")
}

// NameURL is the page filtered to name.
func (v *view) NameURL(name string) string {
	return v.url(Filter{Scope: v.Filter.Scope, Name: name}, "")
}

// ClearURL is the page unfiltered.
func (v *view) ClearURL() string { return v.url(Filter{}, "") }

// Filtered reports whether a filter is set.
func (v *view) Filtered() bool { return v.Filter != Filter{} }

// RefreshMeta is the element that reloads the page, if asked for.
func (v *view) RefreshMeta() template.HTML {
	if v.Refresh == 0 {
		return ""
	}
	return template.HTML(`<meta http-equiv="refresh" content="` + strconv.Itoa(v.Refresh) + `">`)
}

// Ago says how long before the page t was: "12s ago".
func (v *view) Ago(t time.Time) string {
	return seconds(v.Time.Sub(t).Seconds()) + " ago"
}

// Clock is t's time of day, in the server's time zone.
func (v *view) Clock(t time.Time) string { return t.Format("15:04:05.000") }

// Stamp is t in full, for titles.
func (v *view) Stamp(t time.Time) string { return t.Format("2006-01-02 15:04:05.000 MST") }

// seconds formats a duration in seconds for people: "850ms", "5.1s",
// "3m12s", "2h05m".
func seconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return strconv.Itoa(int(d/time.Millisecond)) + "ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Hour:
		d = d.Round(time.Second)
		return strconv.Itoa(int(d/time.Minute)) + "m" + pad2(int(d%time.Minute/time.Second)) + "s"
	default:
		d = d.Round(time.Minute)
		return strconv.Itoa(int(d/time.Hour)) + "h" + pad2(int(d%time.Hour/time.Minute)) + "m"
	}
}

func pad2(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// Num formats n with thousands separators: "100,000".
func (v *view) Num(n any) string {
	var s string
	switch n := n.(type) {
	case int:
		s = strconv.Itoa(n)
	case uint64:
		s = strconv.FormatUint(n, 10)
	default:
		return fmt.Sprint(n)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Path is s (a site, a name) escaped, with a line break allowed after
// each slash, so that long package paths wrap between their elements.
// Only for text: the result is HTML.
func (v *view) Path(s any) template.HTML {
	parts := strings.Split(fmt.Sprint(s), "/")
	for i, p := range parts {
		parts[i] = template.HTMLEscapeString(p)
	}
	return template.HTML(strings.Join(parts, "/<wbr>"))
}

// Dur formats a duration in seconds for people.
func (v *view) Dur(s float64) string { return seconds(s) }
