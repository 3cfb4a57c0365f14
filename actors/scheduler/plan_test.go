package scheduler

import (
	"maps"
	"testing"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func TestPlan(t *testing.T) {
	three := []*swarmv1.Node{node("n1"), node("n2"), node("n3")}
	zones := []*swarmv1.Node{
		node("a1", labels("zone", "a")), node("a2", labels("zone", "a")), node("a3", labels("zone", "a")),
		node("b1", labels("zone", "b")),
	}
	for _, tc := range []struct {
		name     string
		nodes    []*swarmv1.Node
		active   []*swarmv1.Task
		pending  []*swarmv1.Task
		want     string            // task=node, in pending order
		unplaced map[string]string // task → reason
	}{
		// Spread.
		{
			name:    "spread over nodes",
			nodes:   three,
			pending: tasks("t", "s", 7),
			want:    "t1=n1 t2=n2 t3=n3 t4=n1 t5=n2 t6=n3 t7=n1",
		},
		{
			name:    "node ID order, not input order, breaks ties",
			nodes:   []*swarmv1.Node{node("n3"), node("n1"), node("n2")},
			pending: tasks("t", "s", 2),
			want:    "t1=n1 t2=n2",
		},
		{
			name:    "tasks of the service already running count",
			nodes:   three,
			active:  []*swarmv1.Task{task("a1", "s", on("n1")), task("a2", "s", on("n1")), task("a3", "s", on("n2"))},
			pending: tasks("t", "s", 3),
			want:    "t1=n3 t2=n2 t3=n3",
		},
		{
			name:    "fewest tasks overall breaks ties between nodes",
			nodes:   three,
			active:  []*swarmv1.Task{task("x1", "other", on("n1")), task("x2", "other", on("n1")), task("x3", "other", on("n2"))},
			pending: tasks("t", "s", 4),
			want:    "t1=n3 t2=n2 t3=n1 t4=n3",
		},
		{
			name:    "same service counts before overall load",
			nodes:   []*swarmv1.Node{node("n1"), node("n2")},
			active:  []*swarmv1.Task{task("x1", "other", on("n1")), task("x2", "other", on("n1")), task("s1", "s", on("n2"))},
			pending: tasks("t", "s", 1),
			want:    "t1=n1",
		},
		{
			name:    "tasks on unknown nodes are ignored",
			nodes:   three,
			active:  []*swarmv1.Task{task("a1", "s", on("gone")), task("a2", "s", on("n1"))},
			pending: tasks("t", "s", 2),
			want:    "t1=n2 t2=n3",
		},
		{
			name:    "a pending task with a node is held, not placed",
			nodes:   three,
			pending: []*swarmv1.Task{task("t1", "s", on("n1")), task("t2", "s"), task("t3", "s")},
			want:    "t2=n2 t3=n3",
		},
		{
			name:  "groups are placed in order of their first task",
			nodes: []*swarmv1.Node{node("n1"), node("n2")},
			// a1 and a2 go first; then b1 finds one task on each node; b2
			// (another spec) comes last.
			pending: []*swarmv1.Task{task("a1", "a"), task("b1", "b", reserve(0.1, 0)), task("a2", "a"), task("b2", "b")},
			want:    "a1=n1 b1=n1 a2=n2 b2=n2",
		},

		// Availability.
		{
			name:    "down, drained, paused and unspecified nodes take no tasks",
			nodes:   []*swarmv1.Node{node("n1", down), node("n2", drained), node("n3", paused), node("n4", availability(swarmv1.NodeAvailability_NODE_AVAILABILITY_UNSPECIFIED)), node("n5")},
			pending: tasks("t", "s", 2),
			want:    "t1=n5 t2=n5",
		},
		{
			name:     "no available node",
			nodes:    []*swarmv1.Node{node("n1", down), node("n2", drained), node("n3", paused)},
			pending:  tasks("t", "s", 2),
			unplaced: map[string]string{"t1": "no suitable node (3 nodes not available for new tasks)", "t2": "no suitable node (3 nodes not available for new tasks)"},
		},
		{
			name:     "one node, down",
			nodes:    []*swarmv1.Node{node("n1", down)},
			pending:  tasks("t", "s", 1),
			unplaced: map[string]string{"t1": "no suitable node (1 node not available for new tasks)"},
		},
		{
			name:     "no nodes",
			pending:  tasks("t", "s", 1),
			unplaced: map[string]string{"t1": "no suitable node (no nodes in the swarm)"},
		},

		// Runtime.
		{
			name:    "runtime offered",
			nodes:   []*swarmv1.Node{node("n1"), node("n2", runtimes("process", "docker")), node("n3", runtimes("sim"))},
			pending: concat(tasks("d", "web", 2, uses("docker")), tasks("p", "job", 2), tasks("s", "sim", 1, uses("sim"))),
			want:    "d1=n2 d2=n2 p1=n1 p2=n2 s1=n3",
		},
		{
			name:     "runtime not offered",
			nodes:    three,
			pending:  tasks("t", "s", 1, uses("docker")),
			unplaced: map[string]string{"t1": "no suitable node (runtime docker not offered on 3 nodes)"},
		},
		{
			name:     "empty runtime is process",
			nodes:    []*swarmv1.Node{node("n1", runtimes("docker"))},
			pending:  tasks("t", "s", 1),
			unplaced: map[string]string{"t1": "no suitable node (runtime process not offered on 1 node)"},
		},

		// Constraints.
		{
			name:    "node.id",
			nodes:   three,
			pending: concat(tasks("eq", "a", 2, constraints("node.id==n2")), tasks("ne", "b", 2, constraints("node.id!=n1"))),
			want:    "eq1=n2 eq2=n2 ne1=n3 ne2=n2",
		},
		{
			name:    "node.hostname",
			nodes:   []*swarmv1.Node{node("n1", hostname("web")), node("n2", hostname("db")), node("n3", hostname("cache"))},
			pending: concat(tasks("eq", "a", 1, constraints("node.hostname==db")), tasks("ne", "b", 2, constraints("node.hostname!=web"))),
			want:    "eq1=n2 ne1=n3 ne2=n2",
		},
		{
			name:    "node.role",
			nodes:   []*swarmv1.Node{node("m1", manager), node("w1"), node("w2")},
			pending: concat(tasks("m", "a", 2, constraints("node.role==manager")), tasks("w", "b", 3, constraints("node.role==worker")), tasks("x", "c", 1, constraints("node.role!=worker"))),
			want:    "m1=m1 m2=m1 w1=w1 w2=w2 w3=w1 x1=m1",
		},
		{
			name:    "node.labels",
			nodes:   []*swarmv1.Node{node("n1", labels("disk", "ssd")), node("n2", labels("disk", "hdd")), node("n3")},
			pending: concat(tasks("eq", "a", 2, constraints("node.labels.disk==ssd")), tasks("ne", "b", 2, constraints("node.labels.disk!=ssd"))),
			want:    "eq1=n1 eq2=n1 ne1=n2 ne2=n3",
		},
		{
			name:    "node.platform",
			nodes:   []*swarmv1.Node{node("n1", platform("linux", "amd64")), node("n2", platform("linux", "arm64")), node("n3", platform("windows", "amd64"))},
			pending: concat(tasks("x", "a", 2, constraints("node.platform.arch==x86_64")), tasks("l", "b", 1, constraints("node.platform.os==linux", "node.platform.arch!=amd64"))),
			want:    "x1=n1 x2=n3 l1=n2",
		},
		{
			name:     "constraints not satisfied",
			nodes:    three,
			pending:  tasks("t", "s", 1, constraints("node.labels.zone==a")),
			unplaced: map[string]string{"t1": "no suitable node (scheduling constraints not satisfied on 3 nodes)"},
		},
		{
			name:     "invalid constraint",
			nodes:    three,
			pending:  tasks("t", "s", 1, constraints("node.role==worker", "zone=a")),
			unplaced: map[string]string{"t1": `invalid constraint "zone=a": want KEY==VALUE or KEY!=VALUE`},
		},

		// Resources.
		{
			name:    "reservations fill nodes",
			nodes:   []*swarmv1.Node{node("n1", capacity(2, 4*gib)), node("n2", capacity(1, 4*gib))},
			pending: tasks("t", "s", 4, reserve(1, gib)),
			want:    "t1=n1 t2=n2 t3=n1",
			unplaced: map[string]string{
				"t4": "no suitable node (insufficient resources on 2 nodes)",
			},
		},
		{
			name:    "memory fills a node",
			nodes:   []*swarmv1.Node{node("n1", capacity(8, 2*gib))},
			pending: tasks("t", "s", 3, reserve(0, gib)),
			want:    "t1=n1 t2=n1",
			unplaced: map[string]string{
				"t3": "no suitable node (insufficient resources on 1 node)",
			},
		},
		{
			name:     "active reservations are taken",
			nodes:    []*swarmv1.Node{node("n1", capacity(4, 4*gib))},
			active:   []*swarmv1.Task{task("a1", "other", on("n1"), reserve(1, 3*gib))},
			pending:  tasks("t", "s", 1, reserve(1, 2*gib)),
			unplaced: map[string]string{"t1": "no suitable node (insufficient resources on 1 node)"},
		},
		{
			name:    "zero reservation fits a full node",
			nodes:   []*swarmv1.Node{node("n1", capacity(1, gib))},
			active:  []*swarmv1.Task{task("a1", "other", on("n1"), reserve(1, gib))},
			pending: tasks("t", "s", 2),
			want:    "t1=n1 t2=n1",
		},
		{
			name:    "zero capacity is unlimited",
			nodes:   []*swarmv1.Node{node("n1")},
			pending: tasks("t", "s", 3, reserve(64, 64*gib)),
			want:    "t1=n1 t2=n1 t3=n1",
		},
		{
			name:    "capacity of one kind only",
			nodes:   []*swarmv1.Node{node("n1", capacity(0, gib))},
			pending: tasks("t", "s", 2, reserve(64, gib)),
			want:    "t1=n1",
			unplaced: map[string]string{
				"t2": "no suitable node (insufficient resources on 1 node)",
			},
		},

		// Max replicas per node.
		{
			name:    "max replicas per node",
			nodes:   []*swarmv1.Node{node("n1"), node("n2")},
			pending: tasks("t", "s", 5, maxPerNode(2)),
			want:    "t1=n1 t2=n2 t3=n1 t4=n2",
			unplaced: map[string]string{
				"t5": "no suitable node (max replicas per node limit exceed)",
			},
		},
		{
			name:    "max replicas per node counts active tasks",
			nodes:   []*swarmv1.Node{node("n1"), node("n2")},
			active:  []*swarmv1.Task{task("a1", "s", on("n1"))},
			pending: tasks("t", "s", 2, maxPerNode(1)),
			want:    "t1=n2",
			unplaced: map[string]string{
				"t2": "no suitable node (max replicas per node limit exceed)",
			},
		},

		// Host-mode published ports.
		{
			name:    "one task per node per host-mode port",
			nodes:   []*swarmv1.Node{node("n1"), node("n2")},
			pending: tasks("t", "s", 3, hostPort(8080, swarmv1.Protocol_PROTOCOL_TCP)),
			want:    "t1=n1 t2=n2",
			unplaced: map[string]string{
				"t3": "no suitable node (host-mode port already in use on 2 nodes)",
			},
		},
		{
			name:    "host-mode port held by another service's task",
			nodes:   []*swarmv1.Node{node("n1"), node("n2")},
			active:  []*swarmv1.Task{task("a1", "other", on("n1"), hostPort(8080, swarmv1.Protocol_PROTOCOL_TCP))},
			pending: tasks("t", "s", 2, hostPort(8080, swarmv1.Protocol_PROTOCOL_TCP)),
			want:    "t1=n2",
			unplaced: map[string]string{
				"t2": "no suitable node (host-mode port already in use on 2 nodes)",
			},
		},
		{
			name:    "the same port number over another protocol does not clash",
			nodes:   []*swarmv1.Node{node("n1")},
			active:  []*swarmv1.Task{task("a1", "other", on("n1"), hostPort(8080, swarmv1.Protocol_PROTOCOL_UDP))},
			pending: tasks("t", "s", 1, hostPort(8080, swarmv1.Protocol_PROTOCOL_TCP)),
			want:    "t1=n1",
		},

		// Placement preferences.
		{
			name:    "spread over a label",
			nodes:   zones,
			pending: tasks("t", "s", 6, spread("zone")),
			want:    "t1=a1 t2=b1 t3=a2 t4=b1 t5=a3 t6=b1",
		},
		{
			name:    "spread accepts node.labels.<label>",
			nodes:   zones,
			pending: tasks("t", "s", 2, spread("node.labels.zone")),
			want:    "t1=a1 t2=b1",
		},
		{
			name:    "nodes without the label form a group",
			nodes:   []*swarmv1.Node{node("a1", labels("zone", "a")), node("a2", labels("zone", "a")), node("x1"), node("x2", labels("zone", ""))},
			pending: tasks("t", "s", 4, spread("zone")),
			want:    "t1=a1 t2=x1 t3=a2 t4=x2",
		},
		{
			name:    "spread counts running tasks",
			nodes:   zones,
			active:  []*swarmv1.Task{task("r1", "s", on("b1")), task("r2", "s", on("b1")), task("o1", "other", on("a1"))},
			pending: tasks("t", "s", 3, spread("zone")),
			want:    "t1=a2 t2=a3 t3=a1",
		},
		{
			name: "spread ignores tasks on nodes the service may not use",
			nodes: []*swarmv1.Node{
				node("a1", labels("zone", "a")), node("a2", labels("zone", "a"), down),
				node("b1", labels("zone", "b")),
			},
			active:  []*swarmv1.Task{task("r1", "s", on("a2")), task("r2", "s", on("a2"))},
			pending: tasks("t", "s", 2, spread("zone")),
			want:    "t1=a1 t2=b1",
		},
		{
			name: "nested spread",
			nodes: []*swarmv1.Node{
				node("a1", labels("zone", "a", "rack", "1")), node("a2", labels("zone", "a", "rack", "1")),
				node("a3", labels("zone", "a", "rack", "2")), node("b1", labels("zone", "b", "rack", "1")),
			},
			pending: tasks("t", "s", 4, spread("zone", "rack")),
			want:    "t1=a1 t2=b1 t3=a3 t4=b1",
		},
		{
			name:    "spread skips a full group",
			nodes:   []*swarmv1.Node{node("a1", labels("zone", "a"), capacity(1, 0)), node("b1", labels("zone", "b")), node("b2", labels("zone", "b"))},
			pending: tasks("t", "s", 4, spread("zone"), reserve(1, 0)),
			want:    "t1=a1 t2=b1 t3=b2 t4=b1",
		},

		// Reasons from several filters.
		{
			name: "several filters fail",
			nodes: []*swarmv1.Node{
				node("n1", labels("zone", "b")), node("n2", labels("zone", "b")),
				node("n3", labels("zone", "a"), capacity(1, 0)), node("n4", labels("zone", "a"), drained),
			},
			pending: tasks("t", "s", 2, constraints("node.labels.zone==a"), reserve(1, 0)),
			want:    "t1=n3",
			unplaced: map[string]string{
				"t2": "no suitable node (scheduling constraints not satisfied on 2 nodes; 1 node not available for new tasks; insufficient resources on 1 node)",
			},
		},
		{
			name: "ties keep filter order",
			nodes: []*swarmv1.Node{
				node("n1", down), node("n2", runtimes("docker")), node("n3", labels("zone", "b")),
				node("n4", capacity(1, 0)),
			},
			active:  []*swarmv1.Task{task("a1", "s", on("n4"))},
			pending: tasks("t", "s", 1, constraints("node.labels.zone!=b"), reserve(2, 0), maxPerNode(1)),
			unplaced: map[string]string{
				"t1": "no suitable node (1 node not available for new tasks; runtime process not offered on 1 node; scheduling constraints not satisfied on 1 node; insufficient resources on 1 node)",
			},
		},
		{
			name:    "max replicas among other reasons",
			nodes:   []*swarmv1.Node{node("n1"), node("n2", drained), node("n3", drained)},
			active:  []*swarmv1.Task{task("a1", "s", on("n1"))},
			pending: tasks("t", "s", 1, maxPerNode(1)),
			unplaced: map[string]string{
				"t1": "no suitable node (2 nodes not available for new tasks; max replicas per node limit exceed)",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(tc.nodes, tc.active, tc.pending)
			if a := assignments(got); a != tc.want {
				t.Errorf("assignments:\n got: %s\nwant: %s", a, tc.want)
			}
			if !maps.Equal(got.Unplaced, tc.unplaced) {
				t.Errorf("unplaced:\n got: %q\nwant: %q", got.Unplaced, tc.unplaced)
			}
			if ref := naivePlan(tc.nodes, tc.active, tc.pending); !samePlan(got, ref) {
				t.Errorf("the reference disagrees:\n got: %s\n ref: %s", describe(got), describe(ref))
			}
		})
	}
}

func TestPlanIsDeterministic(t *testing.T) {
	nodes, active, pending := benchSwarm(200, 2000)
	first := Plan(nodes, active, pending)
	if len(first.Assignments) == 0 {
		t.Fatal("nothing placed")
	}
	for range 3 {
		if again := Plan(nodes, active, pending); !samePlan(first, again) {
			t.Fatal("two plans of the same input differ")
		}
	}
}

func TestPlanNothingPending(t *testing.T) {
	got := Plan([]*swarmv1.Node{node("n1")}, nil, nil)
	if len(got.Assignments) != 0 || got.Unplaced != nil {
		t.Fatalf("Plan with nothing pending = %+v", got)
	}
}
