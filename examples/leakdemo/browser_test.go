package main

import (
	"bytes"
	"context"
	"flag"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"
)

var screenshot = flag.String("screenshot", "", "also write the debug page's screenshot to this PNG file")

// The debug page the demo serves with -serve, loaded in a real browser
// (headless Chromium, driven over the DevTools protocol): the lagging
// route and its count are on screen, the chart is drawn, and a screenshot
// is taken.
func TestDebugPageInChromium(t *testing.T) {
	browser := findChromium(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent()) // the demo, its page and the browser's driver all stopped
	o, err := parseFlags([]string{"-serve", "-grace", "1s", "-timeout", "1s", "-requests", "10", "-addr", "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, out) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("run: %v\n%s", err, out.String())
		}
	}()
	page := waitForURL(t, out, done)
	t.Logf("debug page at %s", page)

	tab, closeTab := chromiumTab(t, browser)
	defer closeTab()

	if err := chromedp.Do(tab, chromedp.Navigate(page), chromedp.WaitVisible("#lagging tbody tr")); err != nil {
		t.Fatalf("loading %s in Chromium: %v", page, err)
	}
	// What a person sees: the rendered text of the table's cells.
	rows, err := chromedp.Run(tab, chromedp.Evaluate[[][]string](
		`Array.from(document.querySelectorAll("#lagging tbody tr"), tr => Array.from(tr.cells, td => td.innerText.replace(/\s+/g, " ").trim()))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || len(rows[0]) != 6 {
		t.Fatalf("the table of lagging goroutines shows %q, want one row of six cells", rows)
	}
	row := rows[0]
	if !strings.HasPrefix(row[0], "10 ") || row[1] != "GET /slow" || row[4] != "context canceled" {
		t.Errorf("the row shows lagging %q, scope %q, cause %q; want 10, GET /slow, context canceled", row[0], row[1], row[4])
	}
	if !regexp.MustCompile(`^10 github\.com/ctxguard/ctxguard/examples/leakdemo/server\.go:\d+ select\b`).MatchString(row[5]) {
		t.Errorf("the row shows blocked at %q, want 10 at server.go in a select", row[5])
	}
	// The chart: two SVG panels drawn with a size, the lagging one with a
	// line.
	chart, err := chromedp.Run(tab, chromedp.Evaluate[[]float64](
		`Array.from(document.querySelectorAll("svg.chart"), s => s.getBoundingClientRect().width * s.getBoundingClientRect().height)`))
	if err != nil {
		t.Fatal(err)
	}
	if len(chart) != 2 || chart[0] == 0 || chart[1] == 0 {
		t.Errorf("the charts' rendered areas are %v, want two non-empty", chart)
	}
	line, err := chromedp.Run(tab, chromedp.Evaluate[float64](`document.querySelector("svg.chart path.lagging").getTotalLength()`))
	if err != nil || line == 0 {
		t.Errorf("the lagging chart's line has length %v (%v)", line, err)
	}

	// The style sheet applies: the Content-Security-Policy allows it by
	// its hash, and a browser refuses it on a mismatch.
	bg, err := chromedp.Run(tab, chromedp.Evaluate[string](`getComputedStyle(document.getElementById("total-lagging")).backgroundColor`))
	if err != nil || bg != "rgb(255, 235, 233)" {
		t.Errorf("the lagging total's background is %q (%v), want the style sheet's rgb(255, 235, 233)", bg, err)
	}

	shot, err := chromedp.Run(tab, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("the screenshot is no PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 600 {
		t.Errorf("the screenshot is %v, want the whole page", b)
	}
	file := *screenshot
	if file == "" {
		file = filepath.Join(t.TempDir(), "debugpage.png")
	}
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot (%d bytes, %v) in %s", len(shot), img.Bounds().Size(), file)
}

// chromiumTab starts headless Chromium and returns a tab of it, which
// gives up after two minutes, and the func that closes both.
func chromiumTab(t *testing.T, browser string) (context.Context, func()) {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox, // as root, in a container
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	)
	tab, cancelTab := chromedp.NewContext(alloc)
	tab, cancelTimeout := context.WithTimeout(tab, 2*time.Minute)
	return tab, func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	}
}

// findChromium returns the browser's path, or skips the test saying how
// to get one.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("no Chromium to load the debug page in: install the Debian package chromium (apt-get install chromium); .ci/run does")
	return ""
}

// waitForURL returns the debug page's URL once the demo prints it.
func waitForURL(t *testing.T, out *syncBuffer, done <-chan error) string {
	t.Helper()
	re := regexp.MustCompile(`open the debug page:\n +(http://\S+)\n`)
	deadline := time.After(2 * time.Minute)
	for {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("the demo returned before serving: %v\n%s", err, out.String())
		case <-deadline:
			t.Fatalf("the demo printed no debug page URL:\n%s", out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
