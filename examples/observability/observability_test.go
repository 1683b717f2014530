package observability

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/ctxguard/ctxprom"
	"github.com/prometheus/client_golang/prometheus"
)

func TestPromtoolAcceptsTheRules(t *testing.T) {
	promtool := lookPath(t, "promtool")
	out, err := exec.Command(promtool, "check", "rules", "alerts.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "SUCCESS: 5 rules found") {
		t.Errorf("promtool said:\n%s", out)
	}
}

// Every metric the rules and the dashboard use is one the collector
// exports (a histogram's _bucket, _sum and _count included).
func TestEveryReferencedMetricIsExported(t *testing.T) {
	exported := exportedMetrics(t)
	for _, file := range []string{"alerts.yml", "dashboard.json"} {
		used := referencedMetrics(t, file)
		if len(used) == 0 {
			t.Errorf("%s references no ctxguard metric", file)
		}
		for _, name := range used {
			if !exported[name] {
				t.Errorf("%s uses %s, which ctxprom does not export", file, name)
			}
		}
	}
}

// exportedMetrics returns the sample names the collector can export.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	m := ctxguard.New(ctxguard.Config{})
	defer m.Close()
	ch := make(chan *prometheus.Desc, 64)
	ctxprom.NewCollector(m).Describe(ch)
	close(ch)
	names := make(map[string]bool)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range ch {
		name := fqName.FindStringSubmatch(d.String())[1]
		names[name] = true
		if strings.HasSuffix(name, "_seconds") { // the histogram
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[name+s] = true
			}
		}
	}
	return names
}

// referencedMetrics returns the ctxguard metric names in a file, sorted.
func referencedMetrics(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`ctxguard_[a-z_]+`).FindAllString(string(b), -1)
	slices.Sort(names)
	return slices.Compact(names)
}

// dashboardExprs returns the PromQL of every dashboard panel, with the
// Grafana variables replaced by values Prometheus accepts.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard.json: %v", err)
	}
	var exprs []string
	r := strings.NewReplacer("$job", ".*", "$__rate_interval", "1m")
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, r.Replace(tg.Expr))
		}
	}
	return exprs
}

// End to end: a real Prometheus scrapes the leak demo; the lagging series
// shows the demo's leaks under their route, the alert goes pending, and
// every dashboard query is valid PromQL that Prometheus answers.
func TestPrometheusSeesTheDemoLeaks(t *testing.T) {
	promBin := lookPath(t, "prometheus")
	if testing.Short() {
		t.Skip("starts a Prometheus server and the demo; skipped in -short")
	}
	dir := t.TempDir()

	demo := filepath.Join(dir, "leakdemo")
	if out, err := exec.Command("go", "build", "-o", demo, "../leakdemo").CombinedOutput(); err != nil {
		t.Fatalf("go build leakdemo: %v\n%s", err, out)
	}
	const requests = 5
	demoAddr := startDemo(t, demo, "-serve", "-grace", "200ms", "-timeout", "300ms", "-requests", fmt.Sprint(requests))

	rules, err := filepath.Abs("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"+
		"rule_files: [%q]\nscrape_configs:\n  - job_name: leakdemo\n    static_configs:\n      - targets: [%q]\n", rules, demoAddr)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	promAddr := freeAddr(t)
	prom := exec.Command(promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+promAddr)
	var promLog syncBuffer
	prom.Stdout, prom.Stderr = &promLog, &promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prom.Process.Kill(); prom.Wait() })
	api := "http://" + promAddr + "/api/v1/"

	waitFor(t, "Prometheus to see the lagging series", &promLog, func() bool {
		var r queryResult
		get(api+"query?query="+url.QueryEscape(`sum(ctxguard_goroutines_lagging{scope="GET /slow"})`), &r)
		return len(r.Data.Result) == 1 && r.Data.Result[0].Value[1] == fmt.Sprint(requests)
	})
	var good queryResult
	get(api+"query?query="+url.QueryEscape(`sum(ctxguard_goroutines_lagging{scope="GET /good"})`), &good)
	if len(good.Data.Result) == 1 && good.Data.Result[0].Value[1] != "0" {
		t.Errorf("the good route lags: %v", good.Data.Result)
	}
	waitFor(t, "the lagging alert to be pending or firing", &promLog, func() bool {
		var r struct {
			Data struct {
				Alerts []struct {
					Labels map[string]string
					State  string
				}
			}
		}
		get(api+"alerts", &r)
		for _, a := range r.Data.Alerts {
			if a.Labels["alertname"] == "CtxguardGoroutinesLagging" && a.Labels["scope"] == "GET /slow" &&
				(a.State == "pending" || a.State == "firing") {
				return true
			}
		}
		return false
	})
	for _, expr := range dashboardExprs(t) {
		var r queryResult
		if err := get(api+"query?query="+url.QueryEscape(expr), &r); err != nil || r.Status != "success" {
			t.Errorf("dashboard query %s: status %q, error %v %s", expr, r.Status, err, r.Error)
		}
	}
}

type queryResult struct {
	Status string
	Error  string
	Data   struct {
		Result []struct {
			Metric map[string]string
			Value  [2]any
		}
	}
}

// get decodes a JSON answer from the Prometheus API into v.
func get(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// startDemo runs the demo binary and returns its address once it serves
// with the leaks in place.
func startDemo(t *testing.T, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, append(args, "-addr", "127.0.0.1:0")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		served := regexp.MustCompile(`server on http://(\S+)`)
		var a string
		for sc.Scan() {
			if m := served.FindStringSubmatch(sc.Text()); m != nil {
				a = m[1]
			}
			if strings.HasPrefix(sc.Text(), "serving until interrupted") {
				addr <- a
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case a := <-addr:
		return a
	case <-time.After(60 * time.Second):
		t.Fatal("the demo did not start serving")
	}
	return ""
}

// syncBuffer collects a process's output while the test may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lookPath finds a Prometheus tool or skips, saying why; CI installs them.
func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not on PATH (Debian package prometheus; .ci/run installs it): %v", name, err)
	}
	return p
}

func waitFor(t *testing.T, what string, log fmt.Stringer, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; Prometheus log:\n%s", what, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
