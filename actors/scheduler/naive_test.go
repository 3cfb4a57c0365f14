package scheduler

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

var seedFlag = flag.Uint64("seed", 0, "base seed of the property tests (0: from the clock)")

// naivePlan is the reference Plan: it orders tasks by group the obvious
// way, then for each task recounts everything from the list of held tasks,
// runs every filter on every node and picks the smallest key by brute
// force. It shares only ParseConstraint and Constraint.Matches with Plan.
func naivePlan(nodes []*swarmv1.Node, active, pending []*swarmv1.Task) Result {
	type held struct {
		node    int
		service string
		cpu     int64
		mem     int64
		ports   []string
	}
	var holds []held
	nodeOf := func(id string) int {
		for i, n := range nodes {
			if id != "" && n.GetId() == id {
				return i
			}
		}
		return -1
	}
	want := func(t *swarmv1.Task) (int64, int64) {
		r := t.GetSpec().GetReservations()
		return max(0, r.GetNanoCpus()), max(0, r.GetMemoryBytes())
	}
	hold := func(t *swarmv1.Task, n int) {
		cpu, mem := want(t)
		holds = append(holds, held{n, t.GetServiceId(), cpu, mem, hostPortKeys(t)})
	}
	for _, t := range active {
		if n := nodeOf(t.GetNodeId()); n >= 0 {
			hold(t, n)
		}
	}

	var keys []string
	byKey := map[string][]int{}
	for i, t := range pending {
		switch {
		case t == nil:
		case t.GetNodeId() != "":
			if n := nodeOf(t.GetNodeId()); n >= 0 {
				hold(t, n)
			}
		default:
			k := naiveGroupKey(t)
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], i)
		}
	}

	placed := map[int]int{}
	var res Result
	unplaced := func(t *swarmv1.Task, reason string) {
		if res.Unplaced == nil {
			res.Unplaced = map[string]string{}
		}
		res.Unplaced[t.GetId()] = reason
	}
	for _, k := range keys {
		for _, i := range byKey[k] {
			t := pending[i]
			n, reason := naiveChoose(nodes, t, func(visit func(node int, service string, cpu, mem int64, ports []string)) {
				for _, h := range holds {
					visit(h.node, h.service, h.cpu, h.mem, h.ports)
				}
			})
			if n < 0 {
				unplaced(t, reason)
				continue
			}
			placed[i] = n
			hold(t, n)
		}
	}
	res.Assignments = []Assignment{}
	for i, t := range pending {
		if n, ok := placed[i]; ok {
			res.Assignments = append(res.Assignments, Assignment{TaskID: t.GetId(), NodeID: nodes[n].GetId()})
		}
	}
	return res
}

func naiveGroupKey(t *swarmv1.Task) string {
	s := t.GetSpec()
	rt := s.GetRuntime()
	if rt == "" {
		rt = "process"
	}
	r, p := s.GetReservations(), s.GetPlacement()
	return fmt.Sprintf("%q %q %d %d %d %q %q %q", t.GetServiceId(), rt,
		max(0, r.GetNanoCpus()), max(0, r.GetMemoryBytes()),
		p.GetMaxReplicasPerNode(), p.GetConstraints(), p.GetSpreadLabels(), hostPortKeys(t))
}

// naiveChoose picks the node for one task, or says why there is none;
// holds visits every task that holds a node.
func naiveChoose(nodes []*swarmv1.Node, t *swarmv1.Task, holds func(func(node int, service string, cpu, mem int64, ports []string))) (int, string) {
	var cs []Constraint
	for _, s := range t.GetSpec().GetPlacement().GetConstraints() {
		c, err := ParseConstraint(s)
		if err != nil {
			return -1, err.Error()
		}
		cs = append(cs, c)
	}
	if len(nodes) == 0 {
		return -1, "no suitable node (no nodes in the swarm)"
	}
	spec := t.GetSpec()
	rt := spec.GetRuntime()
	if rt == "" {
		rt = "process"
	}
	wantCPU := max(0, spec.GetReservations().GetNanoCpus())
	wantMem := max(0, spec.GetReservations().GetMemoryBytes())
	limit := spec.GetPlacement().GetMaxReplicasPerNode()
	var spreadBy []string
	for _, l := range spec.GetPlacement().GetSpreadLabels() {
		if len(l) > len("node.labels.") && strings.EqualFold(l[:len("node.labels.")], "node.labels.") {
			l = l[len("node.labels."):]
		}
		spreadBy = append(spreadBy, l)
	}

	svc := make([]int64, len(nodes))
	total := make([]int64, len(nodes))
	usedCPU := make([]int64, len(nodes))
	usedMem := make([]int64, len(nodes))
	wantPorts := hostPortKeys(t)
	clash := make([]bool, len(nodes))
	holds(func(n int, service string, cpu, mem int64, ports []string) {
		for _, p := range ports {
			clash[n] = clash[n] || slices.Contains(wantPorts, p)
		}
		total[n]++
		usedCPU[n] += cpu
		usedMem[n] += mem
		if service == t.GetServiceId() {
			svc[n]++
		}
	})

	static := func(n *swarmv1.Node) string {
		if n.GetStatus().GetState() != swarmv1.NodeState_NODE_STATE_READY ||
			n.GetSpec().GetAvailability() != swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE {
			return "availability"
		}
		if !slices.Contains(n.GetDescription().GetRuntimes(), rt) {
			return "runtime"
		}
		for _, c := range cs {
			if !c.Matches(n) {
				return "constraints"
			}
		}
		return ""
	}
	fails := map[string]int{}
	best := -1
	var bestKey []int64
	for i, n := range nodes {
		if f := static(n); f != "" {
			fails[f]++
			continue
		}
		d := n.GetDescription()
		if (wantCPU > 0 && d.GetNanoCpus() > 0 && d.GetNanoCpus()-usedCPU[i] < wantCPU) ||
			(wantMem > 0 && d.GetMemoryBytes() > 0 && d.GetMemoryBytes()-usedMem[i] < wantMem) {
			fails["resources"]++
			continue
		}
		if limit > 0 && svc[i] >= int64(limit) {
			fails["max replicas"]++
			continue
		}
		if clash[i] {
			fails["host port"]++
			continue
		}
		var key []int64
		for depth := range spreadBy {
			var count int64
			for j, m := range nodes {
				same := static(m) == ""
				for _, l := range spreadBy[:depth+1] {
					same = same && m.GetSpec().GetLabels()[l] == n.GetSpec().GetLabels()[l]
				}
				if same {
					count += svc[j]
				}
			}
			key = append(key, count)
		}
		key = append(key, svc[i], total[i])
		if best < 0 || naiveLess(key, n.GetId(), i, bestKey, nodes[best].GetId(), best) {
			best, bestKey = i, key
		}
	}
	if best >= 0 {
		return best, ""
	}
	return -1, naiveReason(fails, rt)
}

func naiveLess(a []int64, aID string, ai int, b []int64, bID string, bi int) bool {
	if c := slices.Compare(a, b); c != 0 {
		return c < 0
	}
	if aID != bID {
		return aID < bID
	}
	return ai < bi
}

func naiveReason(fails map[string]int, rt string) string {
	type entry struct {
		text  string
		count int
	}
	var entries []entry
	for _, f := range []string{"availability", "runtime", "constraints", "resources", "max replicas", "host port"} {
		c := fails[f]
		if c == 0 {
			continue
		}
		nodes := fmt.Sprintf("%d nodes", c)
		if c == 1 {
			nodes = "1 node"
		}
		text := map[string]string{
			"availability": nodes + " not available for new tasks",
			"runtime":      "runtime " + rt + " not offered on " + nodes,
			"constraints":  "scheduling constraints not satisfied on " + nodes,
			"resources":    "insufficient resources on " + nodes,
			"max replicas": "max replicas per node limit exceed",
			"host port":    "host-mode port already in use on " + nodes,
		}[f]
		entries = append(entries, entry{text, c})
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].count > entries[j].count })
	texts := make([]string, len(entries))
	for i, e := range entries {
		texts[i] = e.text
	}
	return "no suitable node (" + strings.Join(texts, "; ") + ")"
}

// randomSwarm builds a swarm with every feature the scheduler looks at,
// drawn from r; scale multiplies the number of nodes and tasks.
func randomSwarm(r *rand.Rand, scale int) (nodes []*swarmv1.Node, active, pending []*swarmv1.Task) {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	chance := func(p float64) bool { return r.Float64() < p }

	nodeCount := 1 + r.IntN(12*scale)
	if chance(0.02) {
		nodeCount = 0
	}
	ids := r.Perm(100 * scale)
	for i := range nodeCount {
		id := fmt.Sprintf("n%03d", ids[i])
		n := node(id, hostname("host-"+id[len(id)-1:]), platform(pick("linux", "linux", "windows"), pick("amd64", "x86_64", "arm64")))
		switch {
		case chance(0.1):
			down(n)
		case chance(0.05):
			n.Status.State = swarmv1.NodeState_NODE_STATE_UNSPECIFIED
		}
		switch {
		case chance(0.1):
			drained(n)
		case chance(0.1):
			paused(n)
		case chance(0.03):
			n.Spec.Availability = swarmv1.NodeAvailability_NODE_AVAILABILITY_UNSPECIFIED
		}
		if chance(0.3) {
			manager(n)
		}
		n.Description.Runtimes = nil
		for _, rt := range []string{"process", "docker", "sim"} {
			if chance(0.7) {
				n.Description.Runtimes = append(n.Description.Runtimes, rt)
			}
		}
		if chance(0.7) {
			n.Description.NanoCpus = int64(1+r.IntN(8)) * 1e9
		}
		if chance(0.7) {
			n.Description.MemoryBytes = int64(1+r.IntN(8)) * gib
		}
		var kv []string
		if chance(0.8) {
			kv = append(kv, "zone", pick("a", "b", "c", ""))
		}
		if chance(0.7) {
			kv = append(kv, "rack", pick("1", "2"))
		}
		labels(kv...)(n)
		nodes = append(nodes, n)
	}

	services := []string{"s1", "s2", "s3", "s4"}
	nodeID := func() string {
		if len(nodes) == 0 || chance(0.05) {
			return "ghost"
		}
		return nodes[r.IntN(len(nodes))].GetId()
	}
	smallReservation := func() taskOpt {
		if chance(0.5) {
			return reserve(0, 0)
		}
		return reserve(float64(r.IntN(3))*0.5, int64(r.IntN(3))*gib/2)
	}
	// Some services publish a host-mode port, some of them the same.
	hostPorts := map[string]uint32{}
	for _, s := range append(services, "other") {
		if chance(0.25) {
			hostPorts[s] = uint32(8080 + r.IntN(2))
		}
	}
	for i := range r.IntN(20*scale + 1) {
		s := pick(append(services, "other")...)
		t := task(fmt.Sprintf("a%d", i), s, on(nodeID()), smallReservation())
		if p, ok := hostPorts[s]; ok {
			hostPort(p, swarmv1.Protocol_PROTOCOL_TCP)(t)
		}
		active = append(active, t)
	}

	constraintPool := []string{
		"node.role==worker", "node.role!=manager", "node.role==manager",
		"node.labels.zone==a", "node.labels.zone!=b", "NODE.LABELS.zone == c", "node.labels.rack==1",
		"node.platform.arch==x86_64", "node.platform.os==linux", "node.platform.os!=windows",
		"node.hostname!=host-3", "node.id!=" + nodeID(), "node.id==" + nodeID(),
	}
	spreadPool := [][]string{nil, nil, {"zone"}, {"zone", "rack"}, {"node.labels.rack"}, {"rack", "zone"}}
	randomSpec := func() *swarmv1.TaskSpec {
		t := task("", "", smallReservation(), uses(pick("", "", "process", "docker", "sim")))
		if chance(0.3) {
			maxPerNode(uint64(1 + r.IntN(3)))(t)
		}
		var cs []string
		for range max(0, r.IntN(5)-2) {
			cs = append(cs, constraintPool[r.IntN(len(constraintPool))])
		}
		if chance(0.02) {
			cs = append(cs, "zone=a")
		}
		constraints(cs...)(t)
		spread(spreadPool[r.IntN(len(spreadPool))]...)(t)
		return t.Spec
	}
	specs := map[string][]*swarmv1.TaskSpec{}
	for _, s := range services {
		for range 1 + r.IntN(2) {
			specs[s] = append(specs[s], randomSpec())
		}
	}
	for i := range r.IntN(40*scale + 1) {
		if chance(0.01) {
			pending = append(pending, nil)
			continue
		}
		s := services[r.IntN(len(services))]
		spec := specs[s][r.IntN(len(specs[s]))]
		if chance(0.5) {
			spec = proto.Clone(spec).(*swarmv1.TaskSpec)
		}
		t := task(fmt.Sprintf("p%d", i), s)
		t.Spec = spec
		if p, ok := hostPorts[s]; ok {
			hostPort(p, swarmv1.Protocol_PROTOCOL_TCP)(t)
		}
		if chance(0.03) {
			t.NodeId = nodeID()
		}
		pending = append(pending, t)
	}
	return nodes, active, pending
}

func samePlan(a, b Result) bool {
	return slices.Equal(a.Assignments, b.Assignments) && maps.Equal(a.Unplaced, b.Unplaced)
}

func baseSeed(t *testing.T) uint64 {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("base seed %d (rerun with -seed %d)", seed, seed)
	return seed
}

// TestPlanMatchesNaive checks the heap-based Plan against the brute-force
// reference on random swarms, and that Plan neither depends on the order
// of nodes and active tasks nor modifies its input.
func TestPlanMatchesNaive(t *testing.T) {
	base := baseSeed(t)
	for _, tc := range []struct {
		scale, runs int
	}{{1, 1000}, {6, 60}} {
		t.Run(fmt.Sprintf("scale=%d", tc.scale), func(t *testing.T) {
			for i := range uint64(tc.runs) {
				seed := base + i
				r := rand.New(rand.NewPCG(seed, uint64(tc.scale)))
				nodes, active, pending := randomSwarm(r, tc.scale)
				before := cloneAll(nodes, active, pending)

				got := Plan(nodes, active, pending)
				want := naivePlan(nodes, active, pending)
				if !samePlan(got, want) {
					t.Fatalf("seed %d: Plan differs from the reference\n got: %s\nwant: %s", seed, describe(got), describe(want))
				}
				if !protoEqualAll(before, cloneAll(nodes, active, pending)) {
					t.Fatalf("seed %d: Plan modified its input", seed)
				}
				usage, own := summed(active, pending)
				if withUsage := PlanWithUsage(nodes, maps.All(usage), own, pending); !samePlan(got, withUsage) {
					t.Fatalf("seed %d: PlanWithUsage differs from Plan\n got: %s\nwant: %s", seed, describe(withUsage), describe(got))
				}
				// A node's usage in several entries (one per shard, in a
				// swarm) adds up: here one entry per task.
				perTask := func(yield func(string, Usage) bool) {
					for _, t := range active {
						if !yield(t.GetNodeId(), Usage{}.With(t)) {
							return
						}
					}
				}
				if split := PlanWithUsage(nodes, perTask, own, pending); !samePlan(got, split) {
					t.Fatalf("seed %d: PlanWithUsage with a node's usage in several entries differs from Plan\n got: %s\nwant: %s", seed, describe(split), describe(got))
				}

				r.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
				r.Shuffle(len(active), func(i, j int) { active[i], active[j] = active[j], active[i] })
				if again := Plan(nodes, active, pending); !samePlan(got, again) {
					t.Fatalf("seed %d: Plan depends on the order of nodes or active tasks\n got: %s\nwant: %s", seed, describe(again), describe(got))
				}
			}
		})
	}
}

// summed turns active tasks into what PlanWithUsage takes: their usage
// by node, and those of the services with pending tasks.
func summed(active, pending []*swarmv1.Task) (map[string]Usage, []*swarmv1.Task) {
	placing := make(map[string]bool)
	for _, t := range pending {
		if t != nil {
			placing[t.GetServiceId()] = true
		}
	}
	usage := make(map[string]Usage)
	var own []*swarmv1.Task
	for _, t := range active {
		usage[t.GetNodeId()] = usage[t.GetNodeId()].With(t)
		if placing[t.GetServiceId()] {
			own = append(own, t)
		}
	}
	return usage, own
}

func cloneAll(nodes []*swarmv1.Node, active, pending []*swarmv1.Task) []proto.Message {
	var ms []proto.Message
	for _, n := range nodes {
		ms = append(ms, proto.Clone(n))
	}
	for _, t := range slices.Concat(active, pending) {
		if t != nil {
			ms = append(ms, proto.Clone(t))
		}
	}
	return ms
}

func protoEqualAll(a, b []proto.Message) bool {
	return slices.EqualFunc(a, b, proto.Equal)
}
