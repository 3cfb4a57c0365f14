package scheduler

import (
	"fmt"
	"slices"
	"strings"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// defaultRuntime is the runtime of a task whose spec names none.
const defaultRuntime = "process"

// filter names one placement filter; filters run in this order and a node
// that fails is counted under the first one it fails.
type filter uint8

const (
	pass filter = iota
	filterAvailability
	filterRuntime
	filterConstraints
	filterResources
	filterMaxReplicas
	filterHostPort
	numFilters
)

// explain says why the filter turned away n nodes, in swarmkit's words.
func (f filter) explain(n int, runtime string) string {
	nodes := "1 node"
	if n != 1 {
		nodes = fmt.Sprintf("%d nodes", n)
	}
	switch f {
	case filterAvailability:
		return nodes + " not available for new tasks"
	case filterRuntime:
		return "runtime " + runtime + " not offered on " + nodes
	case filterConstraints:
		return "scheduling constraints not satisfied on " + nodes
	case filterResources:
		return "insufficient resources on " + nodes
	case filterMaxReplicas:
		return "max replicas per node limit exceed"
	case filterHostPort:
		return "host-mode port already in use on " + nodes
	}
	return ""
}

// noSuitableNode is the reason given for a task when every node failed a
// filter: fails counts the nodes under each filter. Filters that turned
// away more nodes come first; ties keep filter order.
func noSuitableNode(fails *[numFilters]int, runtime string) string {
	order := make([]filter, 0, numFilters)
	for f := filterAvailability; f < numFilters; f++ {
		if fails[f] > 0 {
			order = append(order, f)
		}
	}
	slices.SortStableFunc(order, func(a, b filter) int { return fails[b] - fails[a] })
	parts := make([]string, len(order))
	for i, f := range order {
		parts[i] = f.explain(fails[f], runtime)
	}
	return "no suitable node (" + strings.Join(parts, "; ") + ")"
}

// noNodes is the reason given for every task of a swarm without nodes.
const noNodes = "no suitable node (no nodes in the swarm)"

// available reports whether a node takes new tasks at all (filter 1).
func available(n *swarmv1.Node) bool {
	return n.GetStatus().GetState() == swarmv1.NodeState_NODE_STATE_READY &&
		n.GetSpec().GetAvailability() == swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE
}

// offers reports whether a node offers a runtime (filter 2).
func offers(n *swarmv1.Node, runtime string) bool {
	return slices.Contains(n.GetDescription().GetRuntimes(), runtime)
}

// satisfies reports whether a node satisfies every constraint (filter 3).
func satisfies(n *swarmv1.Node, cs []Constraint) bool {
	for _, c := range cs {
		if !c.Matches(n) {
			return false
		}
	}
	return true
}

// resources are CPU in nano CPUs and memory in bytes.
type resources struct {
	cpu, mem int64
}

func reservationOf(t *swarmv1.Task) resources {
	r := t.GetSpec().GetReservations()
	return resources{cpu: max(r.GetNanoCpus(), 0), mem: max(r.GetMemoryBytes(), 0)}
}

func capacityOf(n *swarmv1.Node) resources {
	d := n.GetDescription()
	return resources{cpu: d.GetNanoCpus(), mem: d.GetMemoryBytes()}
}

// fits reports whether want fits next to used on a node of capacity c; a
// zero want needs nothing and a zero (or negative) capacity is unlimited.
func (c resources) fits(used, want resources) bool {
	return (want.cpu == 0 || c.cpu <= 0 || c.cpu-used.cpu >= want.cpu) &&
		(want.mem == 0 || c.mem <= 0 || c.mem-used.mem >= want.mem)
}

func runtimeOf(s *swarmv1.TaskSpec) string {
	if r := s.GetRuntime(); r != "" {
		return r
	}
	return defaultRuntime
}

// spreadLabels returns the label names of a placement's spread preferences,
// accepting the node.labels.<label> form too.
func spreadLabels(p *swarmv1.Placement) []string {
	ls := p.GetSpreadLabels()
	if len(ls) == 0 {
		return nil
	}
	out := make([]string, len(ls))
	for i, l := range ls {
		if len(l) > len(labelPrefix) && strings.EqualFold(l[:len(labelPrefix)], labelPrefix) {
			l = l[len(labelPrefix):]
		}
		out[i] = l
	}
	return out
}

// samePlacement reports whether tasks with specs a and b are placed by the
// same rules, so that they can share filter results.
func samePlacement(a, b *swarmv1.TaskSpec) bool {
	if a == b {
		return true
	}
	pa, pb := a.GetPlacement(), b.GetPlacement()
	ra, rb := a.GetReservations(), b.GetReservations()
	return runtimeOf(a) == runtimeOf(b) &&
		max(ra.GetNanoCpus(), 0) == max(rb.GetNanoCpus(), 0) &&
		max(ra.GetMemoryBytes(), 0) == max(rb.GetMemoryBytes(), 0) &&
		pa.GetMaxReplicasPerNode() == pb.GetMaxReplicasPerNode() &&
		slices.Equal(pa.GetConstraints(), pb.GetConstraints()) &&
		slices.Equal(pa.GetSpreadLabels(), pb.GetSpreadLabels())
}

// hostPortKeys lists the ports a task publishes in host mode, as
// "80/tcp": no two live tasks on one node may share one.
func hostPortKeys(t *swarmv1.Task) []string {
	var out []string
	for _, p := range t.GetPorts() {
		if p.GetMode() != swarmv1.PublishMode_PUBLISH_MODE_HOST || p.GetPublishedPort() == 0 {
			continue
		}
		proto := "tcp"
		if p.GetProtocol() == swarmv1.Protocol_PROTOCOL_UDP {
			proto = "udp"
		}
		out = append(out, fmt.Sprintf("%d/%s", p.GetPublishedPort(), proto))
	}
	return out
}
