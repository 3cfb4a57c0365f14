package node

import (
	"time"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// The cluster of the tests: three managers (leader, reachable, unreachable)
// and four workers, two of them with the same hostname.
const (
	leaderID      = "ujzde8gxd6ncf10epf91dhodz" // node-1: manager, Ready, leader
	selfID        = "doc9is0j8ht9lgmxg9edn581u" // node-2: manager, Ready, answers the CLI
	unreachableID = "33xtplpft75v2seh60kvj50ce" // node-10: manager, Down
	drainID       = "9uvw53efr4edt2sywb3wkh5dn" // node-3: worker, Ready, Drain
	downID        = "sipzz5fk2z9ri19r0wyojfljo" // node-4: worker, Down, Pause
	edgeBID       = "oa5lqsaj08xui6d39zzzzg4zd" // edge: worker, state not known yet
	edgeAID       = "men2khvdgaj8gxbenyjqwx4hh" // edge: worker, Ready
)

var joined = time.Date(2024, 2, 28, 9, 30, 15, 123456789, time.UTC)

func testNode(id, hostname, ip string, role swarmv1.NodeRole, state swarmv1.NodeState, avail swarmv1.NodeAvailability, labels map[string]string) *swarmv1.Node {
	return &swarmv1.Node{
		Id:              id,
		CreatedUnixNano: joined.UnixNano(),
		UpdatedUnixNano: joined.Add(time.Hour).UnixNano(),
		Spec:            &swarmv1.NodeSpec{Availability: avail, Labels: labels},
		Description: &swarmv1.NodeDescription{
			Hostname:      hostname,
			EngineVersion: "0.1.0",
			Runtimes:      []string{"process", "docker"},
			NanoCpus:      2_000_000_000,
			MemoryBytes:   25_200_000_000,
			Os:            "linux",
			Arch:          "x86_64",
		},
		Status:      &swarmv1.NodeStatus{State: state},
		Role:        role,
		Addr:        ip,
		GatewayAddr: ip + ":2377",
	}
}

func testNodeList() *swarmv1.NodeListResponse {
	const (
		manager = swarmv1.NodeRole_NODE_ROLE_MANAGER
		worker  = swarmv1.NodeRole_NODE_ROLE_WORKER
		ready   = swarmv1.NodeState_NODE_STATE_READY
		down    = swarmv1.NodeState_NODE_STATE_DOWN
		active  = swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE
	)
	return &swarmv1.NodeListResponse{
		Nodes: []*swarmv1.Node{
			testNode(edgeBID, "edge", "127.0.0.21", worker, swarmv1.NodeState_NODE_STATE_UNSPECIFIED, active, nil),
			testNode(unreachableID, "node-10", "127.0.0.20", manager, down, active, nil),
			testNode(downID, "node-4", "127.0.0.14", worker, down, swarmv1.NodeAvailability_NODE_AVAILABILITY_PAUSE, nil),
			testNode(selfID, "node-2", "127.0.0.12", manager, ready, active, nil),
			testNode(drainID, "node-3", "127.0.0.13", worker, ready, swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN, map[string]string{"zone": "b", "ssd": ""}),
			testNode(edgeAID, "edge", "127.0.0.22", worker, ready, active, map[string]string{"zone": "a", "gpu": "true"}),
			testNode(leaderID, "node-1", "127.0.0.11", manager, ready, active, map[string]string{"zone": "a"}),
		},
		SelfId:   selfID,
		LeaderId: leaderID,
	}
}

// nodeResponse is what the gateway answers to an inspect of n.
func nodeResponse(n *swarmv1.Node) *swarmv1.NodeResponse {
	return &swarmv1.NodeResponse{Node: n, SelfId: selfID, LeaderId: leaderID}
}

func findNode(id string) *swarmv1.Node {
	for _, n := range testNodeList().GetNodes() {
		if n.GetId() == id {
			return n
		}
	}
	panic("no test node " + id)
}
