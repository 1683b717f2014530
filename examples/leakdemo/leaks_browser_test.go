package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxdebug"
	"github.com/ctxguard/ctxguard/middleware/httpguard"
	"github.com/ctxguard/ctxguard/spawn"
)

var leaksScreenshot = flag.String("leaks-screenshot", "", "also write the screenshot of the debug page with proven leaks and untracked groups to this PNG file")

// leaksChildEnv marks the child process that serves the page of
// TestLeaksAndUntrackedInChromium: goroutines proven leaked never end, so
// they live in a process of their own.
const leaksChildEnv = "LEAKDEMO_LEAKS_CHILD"

// The debug page of a program with proven leaks and untracked pile-ups,
// loaded in headless Chromium: the lagging table marks what can never
// return, a tracked goroutine that leaked without lagging is listed with
// the lagging ones, the untracked section lists both groups, and the note
// on the leak profile says whether this Go release has it. A child
// process of the test serves the page; the test drives the browser and
// takes a screenshot.
func TestLeaksAndUntrackedInChromium(t *testing.T) {
	if os.Getenv(leaksChildEnv) != "" {
		serveLeaks(t)
		return
	}
	browser := findChromium(t)
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), leaksChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	var page, rest string
	for lines.Scan() {
		rest += lines.Text() + "\n"
		if u, ok := strings.CutPrefix(lines.Text(), "page: "); ok {
			page = u
			break
		}
	}
	defer func() {
		stdin.Close() // the child's cue to end
		b, _ := io.ReadAll(stdout)
		rest += string(b)
		if err := cmd.Wait(); err != nil || !strings.Contains(rest, "--- PASS: "+t.Name()) {
			t.Errorf("the serving process: %v\n%s%s", err, rest, stderr.String())
		}
	}()
	if page == "" {
		t.Fatalf("the serving process printed no page:\n%s%s", rest, stderr.String())
	}
	proven := strings.Contains(rest, "leak profile: available")
	t.Logf("debug page at %s (%s)", page, strings.TrimSpace(rest))

	tab, closeTab := chromiumTab(t, browser)
	defer closeTab()
	if err := chromedp.Do(tab, chromedp.Navigate(page), chromedp.WaitVisible("#untracked tbody tr")); err != nil {
		t.Fatalf("loading %s in Chromium: %v", page, err)
	}
	// What a person sees: the rendered text of the cells (of the blocking
	// places, the summary, not the frames below it).
	cells := func(table string) [][]string {
		t.Helper()
		rows, err := chromedp.Run(tab, chromedp.Evaluate[[][]string](
			`Array.from(document.querySelectorAll("#`+table+` tbody tr"), tr => Array.from(tr.cells,
				td => (td.querySelector("summary") || td).innerText.replace(/\s+/g, " ").trim()))`))
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	var got []string
	for _, row := range cells("lagging") {
		got = append(got, row[0]+" | "+strings.Fields(row[2])[0]+" | "+row[1])
	}
	want := []string{"5 of 5 live 5 lagged | exporter | GET /export", "3 of 3 live 3 lagged | reporter | GET /report"}
	if proven {
		want = []string{"5 5 can never return of 5 live 5 lagged | exporter | GET /export",
			"3 of 3 live 3 lagged | reporter | GET /report",
			"0 1 can never return of 1 live 0 lagged | session-reader | (none)"}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the lagging table shows\n%q\nwant\n%q", got, want)
	}
	got = nil
	for _, row := range cells("untracked") {
		fn := strings.Fields(row[1])[0]
		got = append(got, row[0]+" | "+fn[strings.LastIndex(fn, ".")+1:]+" | "+row[2][strings.LastIndex(row[2], "/")+1:])
	}
	feed, watch := lineOf(t, "// blocks: feed"), lineOf(t, "// blocks: watch")
	want = []string{
		fmt.Sprintf("150 | feed | leaks_browser_test.go:%d chan send", feed),
		fmt.Sprintf("120 | watchConfig | leaks_browser_test.go:%d chan receive", watch),
	}
	if proven {
		want[0] = fmt.Sprintf("150 150 can never return | feed | leaks_browser_test.go:%d chan send", feed)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the untracked table shows\n%q\nwant\n%q", got, want)
	}
	texts, err := chromedp.Run(tab, chromedp.Evaluate[[]string](
		`["total-leaked", "leak-check"].map(id => document.getElementById(id).innerText.replace(/\s+/g, " ").trim())`))
	if err != nil {
		t.Fatal(err)
	}
	card, note := "n/a proven leaked", "Proven leaks: not available on this Go release"
	if proven {
		card, note = "6 proven leaked", "The profile last ran "
	}
	if texts[0] != card || !strings.Contains(texts[1], note) {
		t.Errorf("the leak card shows %q and the note %q; want %q and a note with %q", texts[0], texts[1], card, note)
	}
	if proven {
		color, err := chromedp.Run(tab, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#untracked small.leaked")).color`))
		if err != nil || color != "rgb(207, 34, 46)" {
			t.Errorf("the leaked mark's color is %q (%v), want the style sheet's rgb(207, 34, 46)", color, err)
		}
	}

	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the screenshot is no PNG: %v", err)
	}
	file := *leaksScreenshot
	if file == "" {
		file = filepath.Join(t.TempDir(), "leaks.png")
	}
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot (%d bytes, %v) in %s", len(shot), img.Bounds().Size(), file)
}

// The goroutines of serveLeaks's program.

// configChanged is held by a package variable: its waiters can be woken,
// so they never leak.
var configChanged = make(chan struct{})

// feed sends to a channel nobody else holds: it can never return.
//
//go:noinline
func feed(out chan<- int) {
	out <- 1 // blocks: feed
}

// watchConfig waits for a change that may still come.
//
//go:noinline
func watchConfig() {
	<-configChanged // blocks: watch
}

// serveLeaks is the child process: a server whose /export workers leak
// (blocked on a channel only they hold) and whose /report workers lag, a
// session reader under a context that never ends leaked, 150 untracked
// goroutines leaked and 120 merely waiting. Once the Monitor has seen it
// all, it prints the debug page's URL and serves until its stdin closes.
func serveLeaks(t *testing.T) {
	m := ctxguard.New(ctxguard.Config{Grace: 100 * time.Millisecond, ReportInterval: time.Second, WatchUntracked: true,
		Logger: slog.New(slog.DiscardHandler)})
	defer m.Close()
	page := httptest.NewServer(ctxdebug.Handler(m))
	defer page.Close()
	root := ctxguard.WithMonitor(context.Background(), m)
	release := make(chan struct{})
	defer close(release)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /export", func(w http.ResponseWriter, r *http.Request) {
		rows := make(chan int)
		spawn.Go(r.Context(), func(context.Context) { rows <- 1 }, spawn.WithName("exporter")) // nobody receives once the handler returns
	})
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, r *http.Request) {
		spawn.Go(r.Context(), func(context.Context) { <-release }, spawn.WithName("reporter"))
	})
	app := httptest.NewServer(httpguard.Handler(mux, httpguard.WithMonitor(m)))
	defer app.Close()
	for _, path := range []string{"/export", "/export", "/export", "/export", "/export", "/report", "/report", "/report"} {
		resp, err := http.Get(app.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	spawn.Go(root, func(context.Context) { <-make(chan []byte) }, spawn.WithName("session-reader"))
	for range 150 {
		go feed(make(chan int))
	}
	for range 120 {
		go watchConfig()
	}

	proven := ctxguard.LeakProfileAvailable()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		s := m.Snapshot()
		if s.Lagging == 8 && blockedKnown(s) && len(s.Untracked) == 2 && (!proven || s.Leaked == 6 && s.Untracked[0].Leaked == 150) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Monitor did not see it all: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Printf("leak profile: %s\npage: %s\n", map[bool]string{true: "available", false: "not available"}[proven], page.URL)
	io.Copy(io.Discard, os.Stdin)
}

// lineOf returns the line of leaks_browser_test.go that ends with marker.
func lineOf(t *testing.T, marker string) int {
	t.Helper()
	b, err := os.ReadFile("leaks_browser_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.HasSuffix(l, marker) {
			return i + 1
		}
	}
	t.Fatalf("no line ends with %q", marker)
	return 0
}
