package scheduler

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

const gib = 1 << 30

type nodeOpt func(*swarmv1.Node)

// node builds a READY, ACTIVE worker named id that offers the process
// runtime, runs linux/amd64 and reports no capacity (unlimited).
func node(id string, opts ...nodeOpt) *swarmv1.Node {
	n := &swarmv1.Node{
		Id:   id,
		Role: swarmv1.NodeRole_NODE_ROLE_WORKER,
		Spec: &swarmv1.NodeSpec{Availability: swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE},
		Description: &swarmv1.NodeDescription{
			Hostname: id, Runtimes: []string{"process"}, Os: "linux", Arch: "amd64",
		},
		Status: &swarmv1.NodeStatus{State: swarmv1.NodeState_NODE_STATE_READY},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func labels(kv ...string) nodeOpt {
	return func(n *swarmv1.Node) {
		n.Spec.Labels = make(map[string]string)
		for i := 0; i+1 < len(kv); i += 2 {
			n.Spec.Labels[kv[i]] = kv[i+1]
		}
	}
}

func availability(a swarmv1.NodeAvailability) nodeOpt {
	return func(n *swarmv1.Node) { n.Spec.Availability = a }
}

var (
	drained = availability(swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN)
	paused  = availability(swarmv1.NodeAvailability_NODE_AVAILABILITY_PAUSE)
)

func down(n *swarmv1.Node)    { n.Status.State = swarmv1.NodeState_NODE_STATE_DOWN }
func manager(n *swarmv1.Node) { n.Role = swarmv1.NodeRole_NODE_ROLE_MANAGER }

func runtimes(rs ...string) nodeOpt {
	return func(n *swarmv1.Node) { n.Description.Runtimes = rs }
}

func capacity(cpus float64, mem int64) nodeOpt {
	return func(n *swarmv1.Node) {
		n.Description.NanoCpus = int64(cpus * 1e9)
		n.Description.MemoryBytes = mem
	}
}

func hostname(h string) nodeOpt {
	return func(n *swarmv1.Node) { n.Description.Hostname = h }
}

func platform(os, arch string) nodeOpt {
	return func(n *swarmv1.Node) { n.Description.Os, n.Description.Arch = os, arch }
}

type taskOpt func(*swarmv1.Task)

// task builds a task of service svc; without on() it is pending.
func task(id, svc string, opts ...taskOpt) *swarmv1.Task {
	t := &swarmv1.Task{
		Id: id, ServiceId: svc,
		Spec:         &swarmv1.TaskSpec{Placement: &swarmv1.Placement{}},
		DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING,
		Status:       &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_PENDING},
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

// tasks builds n tasks of service svc named prefix1…prefixN.
func tasks(prefix, svc string, n int, opts ...taskOpt) []*swarmv1.Task {
	ts := make([]*swarmv1.Task, n)
	for i := range ts {
		ts[i] = task(fmt.Sprintf("%s%d", prefix, i+1), svc, opts...)
	}
	return ts
}

func on(nodeID string) taskOpt {
	return func(t *swarmv1.Task) {
		t.NodeId = nodeID
		t.Status.State = swarmv1.TaskState_TASK_STATE_RUNNING
	}
}

func constraints(cs ...string) taskOpt {
	return func(t *swarmv1.Task) { t.Spec.Placement.Constraints = cs }
}

func spread(ls ...string) taskOpt {
	return func(t *swarmv1.Task) { t.Spec.Placement.SpreadLabels = ls }
}

func maxPerNode(n uint64) taskOpt {
	return func(t *swarmv1.Task) { t.Spec.Placement.MaxReplicasPerNode = n }
}

func reserve(cpus float64, mem int64) taskOpt {
	return func(t *swarmv1.Task) {
		t.Spec.Reservations = &swarmv1.Resources{NanoCpus: int64(cpus * 1e9), MemoryBytes: mem}
	}
}

func hostPort(published uint32, proto swarmv1.Protocol) taskOpt {
	return func(t *swarmv1.Task) {
		t.Ports = append(t.Ports, &swarmv1.PortConfig{
			PublishedPort: published, TargetPort: 80, Protocol: proto, Mode: swarmv1.PublishMode_PUBLISH_MODE_HOST,
		})
	}
}

func uses(runtime string) taskOpt {
	return func(t *swarmv1.Task) { t.Spec.Runtime = runtime }
}

func concat[T any](ss ...[]T) []T { return slices.Concat(ss...) }

// assignments formats a plan's assignments as "task=node …", in order.
func assignments(r Result) string {
	parts := make([]string, len(r.Assignments))
	for i, a := range r.Assignments {
		parts[i] = a.TaskID + "=" + a.NodeID
	}
	return strings.Join(parts, " ")
}

// describe formats a whole plan, for failure messages.
func describe(r Result) string {
	var b strings.Builder
	b.WriteString(assignments(r))
	for _, id := range slices.Sorted(maps.Keys(r.Unplaced)) {
		fmt.Fprintf(&b, "\n  %s: %s", id, r.Unplaced[id])
	}
	return b.String()
}
