package probe

import (
	"runtime"
	"testing"
)

func TestLeakProfileNeedsExperiment(t *testing.T) {
	for goversion, want := range map[string]bool{
		"go1.25.9":             true,
		"go1.26.8":             true,
		"go1.26rc2":            true,
		"go1.27.3":             false,
		"go1.27rc1":            false,
		"go1.28":               false,
		"devel go1.28-abcdef0": false,
	} {
		if got := LeakProfileNeedsExperiment(goversion); got != want {
			t.Errorf("LeakProfileNeedsExperiment(%q) = %v, want %v", goversion, got, want)
		}
	}
}

// A test binary built without the experiment has the profile exactly when
// its release no longer needs the experiment for it.
func TestLeakProfileAvailableWithoutExperiment(t *testing.T) {
	if experimentBuild {
		t.Skip("built with GOEXPERIMENT=goroutineleakprofile")
	}
	if got, want := LeakProfileAvailable(), !LeakProfileNeedsExperiment(runtime.Version()); got != want {
		t.Errorf("%s: LeakProfileAvailable() = %v, want %v", runtime.Version(), got, want)
	}
}
