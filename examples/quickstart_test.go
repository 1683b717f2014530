package examples_test

import (
	"bytes"
	"context"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/middleware/httpguard"
	"github.com/ctxguard/ctxguard/spawn"
)

// results is where slow's goroutine waits for a value that, in the README's
// program, never comes.
var results = make(chan string)

func slow(w http.ResponseWriter, r *http.Request) {
	spawn.Go(r.Context(), func(ctx context.Context) {
		log.Print(<-results) // never looks at ctx.Done()
	})
}

// The README's first program: a handler whose goroutine outlives its
// request. (Compiled, not run: it serves until killed.)
func Example_quickstart() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", slow)
	log.Fatal(http.ListenAndServe("localhost:8080", httpguard.Handler(mux)))
}

// lockedBuffer is a bytes.Buffer safe for the log package's writer and the
// test's reads at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The README's first program, served as it is (the Default Monitor, the
// default logger) but by httptest: the log records shown under it in the
// README are the ones it writes, but for the date and time each begins
// with and the counts (another run of the test in the same process adds
// to them).
func TestQuickstartLogsWhatTheReadmeShows(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the default grace, 5 s")
	}
	var out lockedBuffer
	prevOut, prevFlags := log.Writer(), log.Flags()
	log.SetOutput(&out)
	defer func() { log.SetOutput(prevOut); log.SetFlags(prevFlags) }()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", slow)
	srv := httptest.NewServer(httpguard.Handler(mux))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer func() { results <- "released" }() // the goroutine's one result

	const blocked = "where lagging goroutines are blocked"
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), blocked) {
		if time.Now().After(deadline) {
			t.Fatalf("no record %q within 30 s; the log:\n%s", blocked, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	shown := regexp.MustCompile("(?s)```text\n(\\d{4}/[^`]*?)```").FindSubmatch(readme)
	if shown == nil {
		t.Fatalf("the README shows no log output (a text block of lines that begin with a date); the program logged:\n%s", out.String())
	}
	got := normalize(out.String())
	for _, line := range strings.Split(strings.TrimSpace(string(shown[1])), "\n") {
		if !strings.Contains(got, normalize(line)) {
			t.Errorf("the README shows\n\t%s\nbut the program logged\n%s", line, out.String())
		}
	}
}

var (
	logDate = regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d `)
	counts  = regexp.MustCompile(`(count=|total=| x)\d+`)
)

// normalize leaves out what changes from run to run: the time, and counts.
func normalize(s string) string {
	return counts.ReplaceAllString(logDate.ReplaceAllString(s, ""), "${1}N")
}
