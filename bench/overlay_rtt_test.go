package bench

import (
	"os"
	"os/exec"
	"testing"
)

// TestQuickOverlayRTT runs overlay-rtt once through Run (five swarmd in
// namespaces, a task on each of two workers) and checks its records:
// names, units, parameters, one positive sample each; never the figures.
// Its task namespaces must be gone after.
func TestQuickOverlayRTT(t *testing.T) {
	if os.Getenv("SWARM_E2E") != "1" {
		t.Skip("starts swarmd processes in network namespaces: set SWARM_E2E=1 (as root) to run it")
	}
	if os.Geteuid() != 0 {
		t.Skip("overlay-rtt needs root (network namespaces, TUN devices)")
	}
	for _, tool := range []string{"ip", "ping", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("overlay-rtt needs %s", tool)
		}
	}
	before := taskNamespaces(t)
	recs, err := Run(t.Context(), RunConfig{
		Scenarios: []string{"overlay-rtt"},
		Options:   Options{Quick: true, Repeat: 1, BinDir: binDir(t), Log: testLog{t}},
		OutDir:    t.TempDir(),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	var want []string
	for _, path := range []string{"overlay", "underlay"} {
		for _, kind := range []string{"rtt", "rtt-warm", "rtt-flood", "rtt-one-cpu"} {
			want = append(want, "overlay-rtt/"+path+"/"+kind)
		}
	}
	if len(recs) != len(want) {
		t.Fatalf("Run returned %d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		r := recs[i]
		if err := r.Check(); err != nil {
			t.Error(err)
		}
		if r.Scenario != w || r.Unit != "ms" {
			t.Errorf("record %d = %s in %s, want %s in ms", i, r.Scenario, r.Unit, w)
		}
		if len(r.Samples) != 1 || r.Samples[0] <= 0 {
			t.Errorf("%s: samples %v, want one positive figure", r.Scenario, r.Samples)
		}
		for _, k := range []string{"path", "route", "tool", "tasks"} {
			if r.Parameters[k] == "" {
				t.Errorf("%s: no parameter %q in %v", r.Scenario, k, r.Parameters)
			}
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
