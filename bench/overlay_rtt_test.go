package bench

import (
	"os"
	"strings"
	"testing"

	"github.com/actorswarm/swarm/internal/cpulatency"
)

// TestQuickOverlayRTT runs overlay-rtt once through Run (five swarmd in
// namespaces, a task on each of two workers) and checks its records:
// names, units, parameters, one positive sample each; never the figures.
// Its task namespaces must be gone after.
func TestQuickOverlayRTT(t *testing.T) {
	requireRootWith(t, "overlay-rtt", "starts swarmd processes in network namespaces", "ip", "ping", "nsenter")
	before := taskNamespaces(t)
	recs, err := Run(t.Context(), RunConfig{
		Scenarios: []string{"overlay-rtt"},
		Options:   Options{Quick: true, Repeat: 1, BinDir: binDir(t), Log: testLog{t}},
		OutDir:    t.TempDir(),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var want []wantRecord
	for _, path := range []string{"overlay", "underlay"} {
		for _, kind := range []string{"rtt", "rtt-warm", "rtt-flood", "rtt-one-cpu"} {
			want = append(want, wantRecord{"overlay-rtt/" + path + "/" + kind, "ms"})
		}
	}
	if _, err := os.Stat(cpulatency.DevicePath); err == nil {
		for _, kind := range []string{"rtt", "rtt-warm"} {
			want = append(want, wantRecord{"overlay-rtt/overlay-low-latency/" + kind, "ms"})
		}
	}
	checkOneRun(t, recs, want, "path", "route", "tool", "tasks")
	for _, r := range recs {
		low := strings.Contains(r.Scenario, "low-latency")
		if got := r.Parameters["swarmd"]; low != (got == "--overlay-low-latency on every node") {
			t.Errorf("%s: swarmd parameter %q", r.Scenario, got)
		}
	}
	if after := taskNamespaces(t); len(after) > len(before) {
		t.Errorf("task namespaces left behind: %v (before: %v)", after, before)
	}
}

// taskNamespaces returns the names in /run/netns that swarmd gives task
// namespaces ("as-...").
func taskNamespaces(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir("/run/netns")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if len(e.Name()) > 3 && e.Name()[:3] == "as-" {
			names = append(names, e.Name())
		}
	}
	return names
}
