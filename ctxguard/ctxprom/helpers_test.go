package ctxprom_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"github.com/ctxguard/ctxguard/ctxguard"
	"github.com/ctxguard/ctxguard/internal/childproc"
)

// TestMain fails the run if any test leaves a goroutine behind: tracked
// goroutines, Monitor loops, HTTP servers and clients. A child process of
// a leak test (childproc.Run) leaves them behind on purpose, and is not
// checked.
func TestMain(m *testing.M) {
	if childproc.InChild() {
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m)
}

const grace = 50 * time.Millisecond

// newMonitor returns a Monitor that tracks every cancel func, with a short
// grace and at most maxSites sites (0: the default), closed with the test,
// and a root context carrying it.
func newMonitor(t testing.TB, maxSites int) (*ctxguard.Monitor, context.Context) {
	t.Helper()
	m := ctxguard.New(ctxguard.Config{Grace: grace, CancelSampleRate: 1, MaxSites: maxSites,
		Logger: slog.New(slog.DiscardHandler), ReportInterval: time.Hour})
	t.Cleanup(func() { m.Close() })
	return m, ctxguard.WithMonitor(context.Background(), m)
}

// waitFor takes Snapshots of m until cond holds, and fails the test if it
// does not within a generous deadline. It runs a garbage collection before
// each Snapshot, so that dropped cancel funcs get counted.
func waitFor(t testing.TB, m *ctxguard.Monitor, what string, cond func(ctxguard.Snapshot) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		runtime.GC()
		if cond(m.Snapshot()) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s; last Snapshot: %+v", what, m.Snapshot())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// named sums the Snapshot entries named name, over scopes and sites. The
// per-entry counts are the ones to wait on: Snapshot's totals are updated
// before the entries.
func named(s ctxguard.Snapshot, name string) ctxguard.GoroutineStats {
	sum := ctxguard.GoroutineStats{Name: name}
	for _, g := range s.Goroutines {
		if g.Name == name {
			sum.Live += g.Live
			sum.Lagging += g.Lagging
			sum.Lagged += g.Lagged
			sum.LateExits += g.LateExits
			sum.Panics += g.Panics
			sum.ExitDelayTotal += g.ExitDelayTotal
			for i, n := range g.ExitDelays {
				if sum.ExitDelays == nil {
					sum.ExitDelays = make([]uint64, len(g.ExitDelays))
				}
				sum.ExitDelays[i] += n
			}
		}
	}
	return sum
}

// droppedTotal sums the dropped cancels of every site.
func droppedTotal(s ctxguard.Snapshot) uint64 {
	var n uint64
	for _, sc := range s.DroppedCancelSites {
		n += sc.Count
	}
	return n
}

// dropCancel creates a tracked cancel func from ctx and drops it uncalled,
// and returns the site it is reported at.
//
//go:noinline
func dropCancel(ctx context.Context) string {
	_, file, line, _ := runtime.Caller(0)
	_, _ = ctxguard.WithCancel(ctx) //ctxvet:ignore lostcancel dropped on purpose, on line+1
	// ctxguard names the file by its package path and base name.
	return fmt.Sprintf("github.com/ctxguard/ctxguard/ctxguard/ctxprom/%s:%d", filepath.Base(file), line+1)
}

// histogram is an exported histogram in comparable form.
type histogram struct {
	count   uint64
	sum     float64
	bounds  []float64 // upper bounds, +Inf left out
	buckets []uint64  // cumulative counts
}

// zeroHistogram is the exit-delay histogram of a series with no late exits.
func zeroHistogram() histogram {
	return histogram{bounds: boundsSeconds(), buckets: make([]uint64, len(ctxguard.ExitDelayBounds()))}
}

func boundsSeconds() []float64 {
	var b []float64
	for _, d := range ctxguard.ExitDelayBounds() {
		b = append(b, d.Seconds())
	}
	return b
}

// exitDelays gathers g and returns the exit-delay histogram of the series
// name, scope.
func exitDelays(t *testing.T, g prometheus.Gatherer, name, scope string) histogram {
	t.Helper()
	m := find(t, g, "ctxguard_goroutine_exit_delay_seconds", map[string]string{"name": name, "scope": scope})
	h := histogram{count: m.GetHistogram().GetSampleCount(), sum: m.GetHistogram().GetSampleSum()}
	for _, b := range m.GetHistogram().GetBucket() {
		h.bounds = append(h.bounds, b.GetUpperBound())
		h.buckets = append(h.buckets, b.GetCumulativeCount())
	}
	return h
}

// find gathers g and returns the one metric of family with the labels.
func find(t *testing.T, g prometheus.Gatherer, family string, labels map[string]string) *dto.Metric {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; !ok || v != l.GetValue() {
					continue metrics
				}
			}
			return m
		}
	}
	t.Fatalf("no %s%v in the gathered metrics", family, labels)
	return nil
}

// families gathers g and returns the metrics of family.
func families(t *testing.T, g prometheus.Gatherer, family string) []*dto.Metric {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == family {
			return mf.GetMetric()
		}
	}
	return nil
}

// label returns m's value for the label name.
func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// value returns m's value, whatever its type.
func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	return 0
}
