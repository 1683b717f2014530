package blockers

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// Lines says where the functions are declared and blocked, as the source
// file does.
func TestLines(t *testing.T) {
	f, err := os.Open("blockers.go")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lines := []string{""}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		lines = append(lines, sc.Text())
	}
	for fn, want := range map[string][2]string{
		Own:       {"func waitOnOwnChannel() {", "\t<-make(chan struct{})"},
		Reachable: {"func waitOnReachableChannel() {", "\t<-reachable"},
	} {
		start, blocked := Lines(fn)
		if lines[start] != want[0] || !strings.HasPrefix(lines[blocked], want[1]) {
			t.Errorf("Lines(%s) = %d %q, %d %q", fn, start, lines[start], blocked, lines[blocked])
		}
	}
}
