package workspace

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The program of the dependency-weight scenario (issue 18) already
// requires these versions when it adds ctxguard.
var userRequires = []struct{ path, version, pkg string }{
	{"google.golang.org/grpc", "v1.81.1", "google.golang.org/grpc"},
	{"github.com/prometheus/client_golang", "v1.23.2", "github.com/prometheus/client_golang/prometheus"},
	{"go.opentelemetry.io/otel", "v1.44.0", "go.opentelemetry.io/otel"},
}

// The integration modules, with the package each is imported by.
var integrations = []struct{ path, dir string }{
	{"github.com/ctxguard/ctxguard/ctxguard/ctxprom", "ctxguard/ctxprom"},
	{"github.com/ctxguard/ctxguard/ctxguard/ctxotel", "ctxguard/ctxotel"},
	{"github.com/ctxguard/ctxguard/middleware/grpcguard", "middleware/grpcguard"},
	{"github.com/ctxguard/ctxguard/middleware/mcpguard", "middleware/mcpguard"},
}

const core = "github.com/ctxguard/ctxguard"

// TestDependencyWeight is the scenario of issue 18: a program on gRPC,
// client_golang and OpenTelemetry adds ctxguard (the working tree) and runs
// go mod tidy. Importing the core (ctxguard, spawn, httpguard) raises none
// of its requirements and adds exactly one module to go list -m all,
// ctxguard's; importing the integrations as well raises none of the three.
// It needs the module proxy (or a module cache holding the scenario's
// modules), and is skipped, saying so, when neither can be had.
func TestDependencyWeight(t *testing.T) {
	repo, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	// What the outcome depends on, read so that go test's cache does too.
	for _, f := range []string{"go.mod", "ctxguard/ctxprom/go.mod", "ctxguard/ctxotel/go.mod", "middleware/grpcguard/go.mod", "middleware/mcpguard/go.mod"} {
		if _, err := os.ReadFile(filepath.Join(repo, f)); err != nil {
			t.Fatal(err)
		}
	}
	without := consumer(t, nil, nil)
	t.Logf("the program alone: go list -m all\n%s", strings.Join(without, "\n"))

	corePkgs := []string{core + "/ctxguard", core + "/spawn", core + "/middleware/httpguard"}
	with := consumer(t, map[string]string{core: repo}, corePkgs)
	t.Logf("with the core: go list -m all\n%s", strings.Join(with, "\n"))
	want := slices.Clone(without)
	want = append(want, fmt.Sprintf("%s v0.0.0-00010101000000-000000000000 => %s", core, repo))
	slices.Sort(want)
	if !slices.Equal(with, want) {
		t.Errorf("importing the core changed go list -m all beyond adding ctxguard:\n%s", diff(want, with))
	}

	t.Run("integrations", func(t *testing.T) {
		replace := map[string]string{core: repo}
		pkgs := slices.Clone(corePkgs)
		for _, in := range integrations {
			replace[in.path] = filepath.Join(repo, in.dir)
			pkgs = append(pkgs, in.path)
		}
		all := consumer(t, replace, pkgs)
		t.Logf("with the integrations too: go list -m all\n%s", strings.Join(all, "\n"))
	})
}

// consumer makes the scenario's program, importing pkgs as well with the
// modules of replace replaced by directories, runs go mod tidy, checks
// that the user's three requirements were not raised, and returns go list
// -m all, the program's own line left out.
func consumer(t *testing.T, replace map[string]string, pkgs []string) []string {
	t.Helper()
	dir := t.TempDir()
	var gomod, src strings.Builder
	gomod.WriteString("module example.com/consumer\n\ngo 1.25.0\n\nrequire (\n")
	src.WriteString("package main\n\nimport (\n")
	for _, r := range userRequires {
		fmt.Fprintf(&gomod, "\t%s %s\n", r.path, r.version)
		fmt.Fprintf(&src, "\t_ %q\n", r.pkg)
	}
	for _, p := range pkgs {
		fmt.Fprintf(&src, "\t_ %q\n", p)
	}
	gomod.WriteString(")\n")
	for path, to := range replace {
		fmt.Fprintf(&gomod, "\nrequire %s v0.0.0-00010101000000-000000000000\n\nreplace %s => %s\n", path, path, strconv.Quote(to))
	}
	src.WriteString(")\n\nfunc main() {}\n")
	write(t, filepath.Join(dir, "go.mod"), gomod.String())
	write(t, filepath.Join(dir, "main.go"), src.String())

	if out, err := goIn(dir, "mod", "tidy"); err != nil {
		if unreachable(out) {
			t.Skipf("the scenario's modules cannot be had (no module proxy, and not in the module cache): %s", out)
		}
		t.Fatalf("go mod tidy: %v\n%s", err, out)
	}
	tidied, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range userRequires {
		if want := "\t" + r.path + " " + r.version + "\n"; !strings.Contains(string(tidied), want) {
			t.Errorf("go mod tidy raised %s %s:\n%s", r.path, r.version, tidied)
		}
	}
	out, err := goIn(dir, "list", "-m", "all")
	if err != nil {
		t.Fatalf("go list -m all: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return l == "example.com/consumer" })
	slices.Sort(lines)
	return lines
}

func goIn(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	return cmd.CombinedOutput()
}

// unreachable tells whether the go command failed for want of the module
// proxy: the network is down or GOPROXY=off, and the module cache lacks
// what it needs.
func unreachable(out []byte) bool {
	for _, s := range []string{"dial tcp", "no such host", "connection refused", "i/o timeout",
		"network is unreachable", "module lookup disabled", "TLS handshake timeout", "GOPROXY=off"} {
		if strings.Contains(string(out), s) {
			return true
		}
	}
	return false
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// diff lists the lines only in want (-) and only in got (+).
func diff(want, got []string) string {
	var b strings.Builder
	for _, l := range want {
		if !slices.Contains(got, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range got {
		if !slices.Contains(want, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
