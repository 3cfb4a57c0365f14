package cli_test

import (
	"testing"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
)

func TestFilters(t *testing.T) {
	var f cli.Filters
	for _, s := range []string{"role=manager", "node.label=zone=a", "role=worker", "name="} {
		if err := f.Set(s); err != nil {
			t.Fatalf("Set(%q): %v", s, err)
		}
	}
	if got, want := f.String(), "role=manager,role=worker,node.label=zone=a,name="; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if err := f.Validate("role", "node.label", "name"); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if err := f.Validate("role", "name"); err == nil || err.Error() != "invalid filter 'node.label'" {
		t.Errorf("Validate without node.label: %v", err)
	}
	if !f.MatchAny("role", func(v string) bool { return v == "worker" }) {
		t.Error("role values are not alternatives")
	}
	if !f.MatchAny("id", func(string) bool { return false }) {
		t.Error("a key not given must match")
	}
	if !f.MatchLabels("node.label", map[string]string{"zone": "a"}) || f.MatchLabels("node.label", map[string]string{"zone": "b"}) {
		t.Error("node.label=zone=a must match zone=a only")
	}
	for _, bad := range []string{"role", "=x", ""} {
		if err := new(cli.Filters).Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
}

func TestMatchLabelsKeyOnly(t *testing.T) {
	var f cli.Filters
	if err := f.Set("label=ssd"); err != nil {
		t.Fatal(err)
	}
	if !f.MatchLabels("label", map[string]string{"ssd": ""}) || !f.MatchLabels("label", map[string]string{"ssd": "yes"}) || f.MatchLabels("label", nil) {
		t.Error("label=ssd must match any node having the ssd label, whatever its value")
	}
}
