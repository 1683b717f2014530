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
// user would: standalone and as go vet's tool, with a check turned off.
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

	tests := []struct {
		name     string
		args     []string
		wantCode int    // exit code
		want     string // in the output; "" for none at all
	}{
		{"standalone", []string{bin, "./goctx"}, 3, finding},
		{"standalone with the check off", []string{bin, "-goctx=false", "./goctx"}, 0, ""},
		{"standalone, only another check", []string{bin, "-selectdone", "./goctx"}, 0, ""},
		{"go vet -vettool", []string{"go", "vet", "-vettool=" + bin, "./goctx"}, 1, finding},
		{"go vet -vettool with the check off", []string{"go", "vet", "-vettool=" + bin, "-goctx=false", "./goctx"}, 0, ""},
		{"go vet -vettool with an analyzer flag", []string{"go", "vet", "-vettool=" + bin, "-goctx.everywhere", "./goctxeverywhere"}, 1, "goroutine does not receive ctx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(tt.args[0], tt.args[1:]...)
			cmd.Dir = testdata
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
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
		})
	}
}
