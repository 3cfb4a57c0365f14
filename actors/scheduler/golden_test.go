package scheduler

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenSwarm is a swarm of a dozen nodes and a burst of services that
// touches every rule, for a decision table a reviewer can read.
func goldenSwarm() (nodes []*swarmv1.Node, active, pending []*swarmv1.Task) {
	docker := runtimes("process", "docker")
	nodes = []*swarmv1.Node{
		node("m1", manager, labels("zone", "a", "rack", "1"), capacity(4, 8*gib), docker),
		node("m2", manager, labels("zone", "b", "rack", "1"), capacity(4, 8*gib), drained),
		node("w01", labels("zone", "a", "rack", "1", "disk", "ssd"), capacity(4, 8*gib), docker),
		node("w02", labels("zone", "a", "rack", "2"), capacity(2, 4*gib)),
		node("w03", labels("zone", "b", "rack", "1", "disk", "ssd"), capacity(4, 8*gib), docker),
		node("w04", labels("zone", "b", "rack", "2"), capacity(2, 4*gib), paused),
		node("w05", labels("zone", "c", "rack", "1", "disk", "ssd"), capacity(4, 8*gib)),
		node("w06", labels("zone", "c", "rack", "2"), capacity(2, 4*gib), down),
		node("w07", labels("zone", "c", "rack", "2"), capacity(8, 16*gib), platform("linux", "arm64")),
		node("w08", labels("rack", "1"), capacity(2, 2*gib)),
		node("w09", labels("zone", "a", "rack", "2"), docker),
		node("w10", labels("zone", "b", "rack", "2"), capacity(1, 1*gib)),
	}
	active = []*swarmv1.Task{
		task("db.0", "db", on("w01"), reserve(1, 2*gib)),
		task("cache.0", "cache", on("w03"), reserve(0.5, gib)),
		task("old.1", "old", on("w05"), reserve(2, 4*gib)),
		task("old.2", "old", on("w06"), reserve(2, 4*gib)),
		task("web.0", "web", on("w09")),
	}
	pending = concat(
		tasks("web.", "web", 12, spread("zone"), reserve(0.25, 256<<20)),
		tasks("db.", "db", 3, constraints("node.labels.disk==ssd"), maxPerNode(1), reserve(1, 2*gib)),
		tasks("cache.", "cache", 4, uses("docker"), spread("zone", "rack")),
		tasks("batch.", "batch", 16, reserve(1, gib), constraints("node.role==worker")),
		tasks("gpu.", "gpu", 2, constraints("node.labels.gpu==true")),
		tasks("arm.", "arm", 1, constraints("node.platform.arch==aarch64")),
		tasks("ops.", "ops", 2, constraints("node.role==manager"), maxPerNode(1)),
		tasks("sim.", "sim", 1, uses("sim")),
		tasks("bad.", "bad", 1, constraints("node.labels.zone=a")),
	)
	return nodes, active, pending
}

// decisionTable renders the swarm, the plan and the load it leaves.
func decisionTable(nodes []*swarmv1.Node, active, pending []*swarmv1.Task, res Result) string {
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NODE\tROLE\tSTATE\tAVAILABILITY\tRUNTIMES\tCPUS\tMEMORY\tLABELS")
	for _, n := range nodes {
		ls := n.GetSpec().GetLabels()
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(ls)) {
			kv = append(kv, k+"="+ls[k])
		}
		d := n.GetDescription()
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.GetId(), roleName(n.GetRole()),
			strings.ToLower(strings.TrimPrefix(n.GetStatus().GetState().String(), "NODE_STATE_")),
			strings.ToLower(strings.TrimPrefix(n.GetSpec().GetAvailability().String(), "NODE_AVAILABILITY_")),
			strings.Join(d.GetRuntimes(), ","), orUnlimited(fmt.Sprintf("%g", float64(d.GetNanoCpus())/1e9), d.GetNanoCpus()),
			orUnlimited(gibs(d.GetMemoryBytes()), d.GetMemoryBytes()), strings.Join(kv, ","))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "TASK\tNODE\tRULES / REASON")
	nodeOf := map[string]string{}
	for _, a := range res.Assignments {
		nodeOf[a.TaskID] = a.NodeID
	}
	for _, t := range pending {
		if at, ok := nodeOf[t.GetId()]; ok {
			fmt.Fprintf(w, "%s\t%s\t%s\n", t.GetId(), at, rulesOf(t.GetSpec()))
		} else {
			fmt.Fprintf(w, "%s\t-\t%s\n", t.GetId(), res.Unplaced[t.GetId()])
		}
	}
	fmt.Fprintln(w)
	services := map[string]bool{}
	perNode := map[string]map[string]int{}
	for _, t := range active {
		services[t.GetServiceId()] = true
		nodeOf[t.GetId()] = t.GetNodeId()
	}
	for _, t := range slices.Concat(active, pending) {
		if at, ok := nodeOf[t.GetId()]; ok {
			services[t.GetServiceId()] = true
			if perNode[at] == nil {
				perNode[at] = map[string]int{}
			}
			perNode[at][t.GetServiceId()]++
		}
	}
	names := slices.Sorted(maps.Keys(services))
	fmt.Fprintf(w, "LOAD\t%s\n", strings.Join(names, "\t"))
	for _, n := range nodes {
		fmt.Fprint(w, n.GetId())
		for _, s := range names {
			fmt.Fprintf(w, "\t%d", perNode[n.GetId()][s])
		}
		fmt.Fprintln(w)
	}
	w.Flush()
	return b.String()
}

func rulesOf(s *swarmv1.TaskSpec) string {
	var parts []string
	if rt := s.GetRuntime(); rt != "" {
		parts = append(parts, "runtime="+rt)
	}
	if r := s.GetReservations(); r.GetNanoCpus() > 0 || r.GetMemoryBytes() > 0 {
		parts = append(parts, fmt.Sprintf("reserve=%gcpu/%s", float64(r.GetNanoCpus())/1e9, gibs(r.GetMemoryBytes())))
	}
	p := s.GetPlacement()
	for _, c := range p.GetConstraints() {
		parts = append(parts, c)
	}
	if ls := p.GetSpreadLabels(); len(ls) > 0 {
		parts = append(parts, "spread="+strings.Join(ls, ">"))
	}
	if m := p.GetMaxReplicasPerNode(); m > 0 {
		parts = append(parts, fmt.Sprintf("max-per-node=%d", m))
	}
	return strings.Join(parts, " ")
}

func orUnlimited(s string, capacity int64) string {
	if capacity == 0 {
		return "-"
	}
	return s
}

func gibs(b int64) string {
	return fmt.Sprintf("%gGiB", float64(b)/gib)
}

func TestPlanGolden(t *testing.T) {
	nodes, active, pending := goldenSwarm()
	res := Plan(nodes, active, pending)
	if ref := naivePlan(nodes, active, pending); !samePlan(res, ref) {
		t.Fatalf("the reference disagrees:\n got: %s\n ref: %s", describe(res), describe(ref))
	}
	got := decisionTable(nodes, active, pending, res)
	path := filepath.Join("testdata", "plan.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("decision table differs from %s (review, then go test -update):\n%s", path, got)
	}
}
