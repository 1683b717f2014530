package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommand builds ctxvet and runs it on the testdata module the way a
// user would: standalone and as go vet's tool, with checks off by default
// and named, -json, and GOFLAGS=-modfile.
func TestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs go vet")
	}
	bin := filepath.Join(t.TempDir(), "ctxvet")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	testdata, err := filepath.Abs(filepath.Join("..", "..", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	const finding = "goroutine does not receive r.Context(), so cancellation cannot stop it"
	const leak = "this send on out blocks forever once withTimer moves on when the timer fires"
	const doneLeak = "this send on out blocks forever once fetch returns through case <-ctx.Done()"

	// A module file of another name, as GOFLAGS=-modfile=... names it.
	modDir := t.TempDir()
	for _, name := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(testdata, name))
		if err != nil {
			t.Fatal(err)
		}
		data = []byte(strings.ReplaceAll(string(data), "=> ../../..", "=> "+filepath.Join(testdata, "..", "..", "..")))
		if err := os.WriteFile(filepath.Join(modDir, "alt"+filepath.Ext(name)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	modfile := "GOFLAGS=-modfile=" + filepath.Join(modDir, "alt.mod")

	tests := []struct {
		name     string
		args     []string
		env      string // an environment variable set
		wantCode int    // exit code
		want     string // in the output; "" for none at all
		wantN    int    // times want occurs, if not 0
	}{
		{"standalone, a check off by default", []string{bin, "./goctx"}, "", 0, "", 0},
		{"standalone, the check named", []string{bin, "-goctx", "./goctx"}, "", 3, finding, 0},
		{"standalone, the check enabled beside the defaults", []string{bin, "-goctx.enable", "./goctx"}, "", 3, finding, 0},
		{"standalone, the check enabled and turned off", []string{bin, "-goctx.enable", "-goctx=false", "./goctx"}, "", 0, "", 0},
		{"standalone, only another check", []string{bin, "-selectdone", "./goctx"}, "", 0, "", 0},
		{"standalone, chanleak on by default", []string{bin, "./chanleak"}, "", 3, leak, 0},
		{"standalone, chanleak turned off", []string{bin, "-chanleak=false", "./chanleak"}, "", 0, "", 0},
		{"standalone, chanleak without -done: the timers only", []string{bin, "-chanleak", "./chanleaknodone"}, "", 3, "blocks forever", 2},
		{"standalone, chanleak -done", []string{bin, "-chanleak.done", "./chanleak"}, "", 3, doneLeak, 0},
		{"standalone -json", []string{bin, "-json", "-goctx", "./goctx"}, "", 3, finding, 2},
		{"standalone -json, each finding once with tests", []string{bin, "-json", "-brokenchain", "./brokenchain"}, "", 3, `"posn"`, 10},
		{"standalone -json, nothing found", []string{bin, "-json", "./goctx"}, "", 0, "{}", 1},
		{"standalone with -modfile", []string{bin, "-goctx", "./goctx"}, modfile, 3, finding, 0},
		{"standalone with a missing -modfile", []string{bin, "./goctx"}, "GOFLAGS=-modfile=" + filepath.Join(modDir, "none.mod"), 1, "none.mod", 0},
		{"go vet -vettool, a check off by default", []string{"go", "vet", "-vettool=" + bin, "./goctx"}, "", 0, "", 0},
		{"go vet -vettool, the check named", []string{"go", "vet", "-vettool=" + bin, "-goctx", "./goctx"}, "", 1, finding, 0},
		{"go vet -vettool, the check enabled", []string{"go", "vet", "-vettool=" + bin, "-goctx.enable", "./goctx"}, "", 1, finding, 0},
		{"go vet -vettool, chanleak on by default", []string{"go", "vet", "-vettool=" + bin, "./chanleak"}, "", 1, leak, 0},
		{"go vet -vettool, chanleak turned off", []string{"go", "vet", "-vettool=" + bin, "-chanleak=false", "./chanleak"}, "", 0, "", 0},
		{"go vet -vettool, chanleak named", []string{"go", "vet", "-vettool=" + bin, "-chanleak", "./chanleak"}, "", 1, leak, 0},
		{"go vet -vettool, chanleak -done", []string{"go", "vet", "-vettool=" + bin, "-chanleak.done", "./chanleak"}, "", 1, doneLeak, 0},
		{"go vet -vettool with -modfile", []string{"go", "vet", "-vettool=" + bin, "-goctx", "./goctx"}, modfile, 1, finding, 0},
		{"go vet -vettool with the check off", []string{"go", "vet", "-vettool=" + bin, "-goctx.enable", "-goctx=false", "./goctx"}, "", 0, "", 0},
		{"go vet -vettool with an analyzer flag", []string{"go", "vet", "-vettool=" + bin, "-goctx.enable", "-goctx.everywhere", "./goctxeverywhere"}, "", 1, "goroutine does not receive ctx", 0},
		{"standalone, chanleak with every way out", []string{bin, "-chanleak.all", "./chanleakall"}, "", 3, "when it is not the one value firstWins receives", 0},
		{"go vet -vettool, chanleak with every way out", []string{"go", "vet", "-vettool=" + bin, "-chanleak.all", "./chanleakall"}, "", 1, "when it is not the one value firstWins receives", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(tt.args[0], tt.args[1:]...)
			cmd.Dir = testdata
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
			if tt.env != "" {
				cmd.Env = append(cmd.Env, tt.env)
			}
			out, err := cmd.CombinedOutput()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\n%s", code, tt.wantCode, out)
			}
			if tt.want == "" && len(out) > 0 {
				t.Errorf("output %q, want none", out)
			}
			if tt.want != "" && !strings.Contains(string(out), tt.want) {
				t.Errorf("output does not contain %q:\n%s", tt.want, out)
			}
			if n := strings.Count(string(out), tt.want); tt.wantN > 0 && n != tt.wantN {
				t.Errorf("output contains %q %d times, want %d:\n%s", tt.want, n, tt.wantN, out)
			}
		})
	}
}
