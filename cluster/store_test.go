package cluster

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// The store never reads a clock: every time in these tests is a number
// stamped into a command. storeT0 is when the fixture was built, storeLater
// when the command under test was proposed.
const (
	storeT0    int64 = 1_700_000_000_000_000_000
	storeLater       = storeT0 + 100
)

// Node IDs of the fixture. Two share the prefix "a1", two "d4"; fixW2's
// hostname is "a1" so that a hostname and an ambiguous prefix collide.
const (
	fixM1 = "a1b2" // manager, replica 1, hostname alpha
	fixM2 = "a1c3" // manager, replica 2, hostname beta
	fixW1 = "d4e5" // worker, labels zone=a disk=ssd, hostname gamma
	fixW2 = "d4f6" // worker, hostname a1
)

func storeCluster() *swarmv1.Cluster {
	return &swarmv1.Cluster{
		Id:           "c1",
		CaCertDer:    []byte("ca-cert"),
		CaKeyDer:     []byte("ca-key"),
		WorkerToken:  &swarmv1.JoinTokenSecret{Nonce: []byte("wn"), Hash: []byte("wh")},
		ManagerToken: &swarmv1.JoinTokenSecret{Nonce: []byte("mn"), Hash: []byte("mh")},
	}
}

func storeWorker(id, host string) *swarmv1.Node {
	return &swarmv1.Node{
		Id:          id,
		Role:        swarmv1.NodeRole_NODE_ROLE_WORKER,
		Description: &swarmv1.NodeDescription{Hostname: host},
		Addr:        "10.0.0.9",
		GatewayAddr: "10.0.0.9:4243",
	}
}

// storeManager returns a manager node; AddNode allocates its replica ID,
// InitCluster takes the one given.
func storeManager(id, host, raftAddr string, replica uint64) *swarmv1.Node {
	n := storeWorker(id, host)
	n.Role = swarmv1.NodeRole_NODE_ROLE_MANAGER
	n.Manager = &swarmv1.ManagerInfo{ReplicaId: replica, RaftAddr: raftAddr}
	return n
}

func cmdInitCluster(now int64, cl *swarmv1.Cluster, n *swarmv1.Node) *swarmv1.Command {
	return &swarmv1.Command{NowUnixNano: now, Cmd: &swarmv1.Command_InitCluster{InitCluster: &swarmv1.InitCluster{Cluster: cl, Node: n}}}
}

func cmdAddNode(now int64, n *swarmv1.Node) *swarmv1.Command {
	return &swarmv1.Command{NowUnixNano: now, Cmd: &swarmv1.Command_AddNode{AddNode: &swarmv1.AddNode{Node: n}}}
}

func cmdUpdateSpec(now int64, u *swarmv1.UpdateNodeSpec) *swarmv1.Command {
	return &swarmv1.Command{NowUnixNano: now, Cmd: &swarmv1.Command_UpdateNodeSpec{UpdateNodeSpec: u}}
}

func cmdSetRole(now int64, id string, role swarmv1.NodeRole, raftAddr string) *swarmv1.Command {
	return &swarmv1.Command{NowUnixNano: now, Cmd: &swarmv1.Command_SetNodeRole{SetNodeRole: &swarmv1.SetNodeRole{NodeId: id, Role: role, RaftAddr: raftAddr}}}
}

func cmdSetStates(now int64, changes ...*swarmv1.NodeStateChange) *swarmv1.Command {
	return &swarmv1.Command{NowUnixNano: now, Cmd: &swarmv1.Command_SetNodeStates{SetNodeStates: &swarmv1.SetNodeStates{Changes: changes}}}
}

func stateChange(id string, state swarmv1.NodeState, msg string) *swarmv1.NodeStateChange {
	return &swarmv1.NodeStateChange{NodeId: id, State: state, Message: msg}
}

func cmdRemoveNode(now int64, id string) *swarmv1.Command {
	return &swarmv1.Command{NowUnixNano: now, Cmd: &swarmv1.Command_RemoveNode{RemoveNode: &swarmv1.RemoveNode{NodeId: id}}}
}

func cmdRotateToken(now int64, role swarmv1.NodeRole, sec *swarmv1.JoinTokenSecret) *swarmv1.Command {
	return &swarmv1.Command{NowUnixNano: now, Cmd: &swarmv1.Command_RotateToken{RotateToken: &swarmv1.RotateToken{Role: role, Secret: sec}}}
}

func cmdSettings(now int64, set *swarmv1.ClusterSettings) *swarmv1.Command {
	return &swarmv1.Command{NowUnixNano: now, Cmd: &swarmv1.Command_UpdateClusterSettings{UpdateClusterSettings: &swarmv1.UpdateClusterSettings{Settings: set}}}
}

func cmdRestore(now int64, snap *swarmv1.Snapshot) *swarmv1.Command {
	return &swarmv1.Command{NowUnixNano: now, Cmd: &swarmv1.Command_RestoreState{RestoreState: &swarmv1.RestoreState{Snapshot: snap}}}
}

// storeFixture returns the commands that build the fixture: the cluster with
// fixM1 (replica 1), then fixM2 (replica 2), fixW1 and fixW2, one nanosecond
// apart.
func storeFixture() []*swarmv1.Command {
	w1 := storeWorker(fixW1, "gamma")
	w1.Spec = &swarmv1.NodeSpec{Labels: map[string]string{"zone": "a", "disk": "ssd"}}
	return []*swarmv1.Command{
		cmdInitCluster(storeT0, storeCluster(), storeManager(fixM1, "alpha", "10.0.0.1:4242", 1)),
		cmdAddNode(storeT0+1, storeManager(fixM2, "beta", "10.0.0.2:4242", 0)),
		cmdAddNode(storeT0+2, w1),
		cmdAddNode(storeT0+3, storeWorker(fixW2, "a1")),
	}
}

// storeAfter applies cmds to a new store and fails the test if one is
// refused.
func storeAfter(t *testing.T, cmds ...*swarmv1.Command) *Store {
	t.Helper()
	s := NewStore()
	for i, c := range cmds {
		if _, err := s.Apply(c); err != nil {
			t.Fatalf("setup command %d (%s): %v", i, prototext.Format(c), err)
		}
	}
	return s
}

func mustApply(t *testing.T, s *Store, c *swarmv1.Command) *swarmv1.Result {
	t.Helper()
	res, err := s.Apply(c)
	if err != nil {
		t.Fatalf("Apply(%s): %v", prototext.Format(c), err)
	}
	if res == nil {
		t.Fatalf("Apply(%s) returned a nil result", prototext.Format(c))
	}
	return res
}

func mustNode(t *testing.T, s *Store, id string) *swarmv1.Node {
	t.Helper()
	n, ok := s.Node(id)
	if !ok {
		t.Fatalf("node %s not in store", id)
	}
	return n
}

func TestStoreInitCluster(t *testing.T) {
	tests := []struct {
		name     string
		next     uint64 // next_replica_id in the command
		replica  uint64
		wantNext uint64
	}{
		{"next allocated after first replica", 0, 1, 2},
		{"next below first replica raised", 3, 5, 6},
		{"next above first replica kept", 9, 1, 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cl := storeCluster()
			cl.NextReplicaId = tc.next
			cl.Version, cl.CreatedUnixNano = 42, 7 // the store stamps its own
			s := NewStore()
			res := mustApply(t, s, cmdInitCluster(storeT0, cl, storeManager(fixM1, "alpha", "10.0.0.1:4242", tc.replica)))

			got := s.Cluster()
			want := storeCluster()
			want.CreatedUnixNano, want.UpdatedUnixNano, want.Version, want.NextReplicaId = storeT0, storeT0, 1, tc.wantNext
			if !proto.Equal(got, want) {
				t.Errorf("cluster = %v, want %v", got, want)
			}
			n := mustNode(t, s, fixM1)
			if n.Version != 1 || n.CreatedUnixNano != storeT0 || n.UpdatedUnixNano != storeT0 {
				t.Errorf("node version %d created %d updated %d, want 1, %d, %d", n.Version, n.CreatedUnixNano, n.UpdatedUnixNano, storeT0, storeT0)
			}
			if n.GetSpec().GetAvailability() != swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE {
				t.Errorf("availability = %v, want ACTIVE", n.GetSpec().GetAvailability())
			}
			if st := n.GetStatus(); st.GetState() != swarmv1.NodeState_NODE_STATE_READY || st.GetUpdatedUnixNano() != storeT0 {
				t.Errorf("status = %v, want READY at %d", st, storeT0)
			}
			if n.GetManager().GetReplicaId() != tc.replica {
				t.Errorf("replica ID = %d, want %d", n.GetManager().GetReplicaId(), tc.replica)
			}
			if !proto.Equal(res.Node, n) {
				t.Errorf("result node = %v, want the stored %v", res.Node, n)
			}
		})
	}
}

func TestStoreAddNode(t *testing.T) {
	s := storeAfter(t, storeFixture()[0])
	steps := []struct {
		node        *swarmv1.Node
		wantReplica uint64
		wantClusVer uint64 // allocating a replica ID bumps the cluster
	}{
		{storeWorker("w1", "h1"), 0, 1},
		{storeManager("m2", "h2", "10.0.0.2:4242", 0), 2, 2},
		// A replica ID in the request is ignored: the store allocates.
		{storeManager("m3", "h3", "10.0.0.3:4242", 1), 3, 3},
		{storeWorker("w2", "h4"), 0, 3},
		{storeManager("m4", "h5", "10.0.0.4:4242", 0), 4, 4},
	}
	for i, st := range steps {
		now := storeT0 + int64(i) + 1
		res := mustApply(t, s, cmdAddNode(now, st.node))
		if res.ReplicaId != st.wantReplica {
			t.Errorf("add %s: replica ID %d, want %d", st.node.Id, res.ReplicaId, st.wantReplica)
		}
		n := mustNode(t, s, st.node.Id)
		if got := n.GetManager().GetReplicaId(); got != st.wantReplica {
			t.Errorf("add %s: stored replica ID %d, want %d", st.node.Id, got, st.wantReplica)
		}
		if n.Role != st.node.Role || n.Version != 1 || n.CreatedUnixNano != now {
			t.Errorf("add %s: role %v version %d created %d, want %v, 1, %d", st.node.Id, n.Role, n.Version, n.CreatedUnixNano, st.node.Role, now)
		}
		if !proto.Equal(res.Node, n) {
			t.Errorf("add %s: result node %v, want the stored %v", st.node.Id, res.Node, n)
		}
		if v := s.Cluster().Version; v != st.wantClusVer {
			t.Errorf("add %s: cluster version %d, want %d", st.node.Id, v, st.wantClusVer)
		}
	}
	if got := s.Cluster().NextReplicaId; got != 5 {
		t.Errorf("next replica ID = %d, want 5", got)
	}
	if h, ok := s.NodeHostname("m3"); !ok || h != "h3" {
		t.Errorf("NodeHostname(m3) = %q, %v; want h3", h, ok)
	}
	if h, ok := s.NodeHostname("nope"); ok || h != "" {
		t.Errorf("NodeHostname of an unknown node = %q, %v", h, ok)
	}
	if addr, name, ok := s.NodeAddress("w1"); !ok || addr != "10.0.0.9:4243" || name != "" {
		t.Errorf("NodeAddress(w1) = %q, %q, %v; want its gateway and the default actor", addr, name, ok)
	}
	if _, _, ok := s.NodeAddress("nope"); ok {
		t.Error("NodeAddress of an unknown node is ok")
	}
	if known, _ := s.PortErrorsEqual("nope", nil); known {
		t.Error("PortErrorsEqual knows an unknown node")
	}
	if known, equal := s.PortErrorsEqual("m3", nil); !known || !equal {
		t.Errorf("PortErrorsEqual(m3, none) = %v, %v; want a known node without errors", known, equal)
	}
	if _, equal := s.PortErrorsEqual("m3", map[string]string{"80/tcp": "in use"}); equal {
		t.Error("PortErrorsEqual says a node without errors has one")
	}

	// A worker never keeps manager information it was sent with.
	w := storeWorker("w3", "h6")
	w.Manager = &swarmv1.ManagerInfo{ReplicaId: 9, RaftAddr: "10.0.0.9:4242"}
	mustApply(t, s, cmdAddNode(storeLater, w))
	if m := mustNode(t, s, "w3").Manager; m != nil {
		t.Errorf("worker kept manager info %v", m)
	}
}

func TestStoreUpdateNodeSpec(t *testing.T) {
	tests := []struct {
		name       string
		update     *swarmv1.UpdateNodeSpec
		wantAvail  swarmv1.NodeAvailability
		wantLabels map[string]string
	}{
		{
			name:       "drain",
			update:     &swarmv1.UpdateNodeSpec{Availability: swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN},
			wantAvail:  swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN,
			wantLabels: map[string]string{"zone": "a", "disk": "ssd"},
		},
		{
			name:       "unspecified availability kept",
			update:     &swarmv1.UpdateNodeSpec{LabelAdd: map[string]string{"rack": "r1"}},
			wantAvail:  swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE,
			wantLabels: map[string]string{"zone": "a", "disk": "ssd", "rack": "r1"},
		},
		{
			name:       "add and remove labels",
			update:     &swarmv1.UpdateNodeSpec{LabelAdd: map[string]string{"rack": "r1", "zone": "b"}, LabelRm: []string{"disk"}},
			wantAvail:  swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE,
			wantLabels: map[string]string{"zone": "b", "rack": "r1"},
		},
		{
			name:       "remove and add the same key",
			update:     &swarmv1.UpdateNodeSpec{LabelAdd: map[string]string{"zone": "c"}, LabelRm: []string{"zone"}},
			wantAvail:  swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE,
			wantLabels: map[string]string{"zone": "c", "disk": "ssd"},
		},
		{
			name:       "remove a new key being added",
			update:     &swarmv1.UpdateNodeSpec{LabelAdd: map[string]string{"gpu": "1"}, LabelRm: []string{"gpu"}},
			wantAvail:  swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE,
			wantLabels: map[string]string{"zone": "a", "disk": "ssd", "gpu": "1"},
		},
		{
			name:       "remove every label",
			update:     &swarmv1.UpdateNodeSpec{LabelRm: []string{"zone", "disk"}},
			wantAvail:  swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE,
			wantLabels: nil,
		},
		{
			name:       "expected version matches",
			update:     &swarmv1.UpdateNodeSpec{ExpectedVersion: 1, Availability: swarmv1.NodeAvailability_NODE_AVAILABILITY_PAUSE},
			wantAvail:  swarmv1.NodeAvailability_NODE_AVAILABILITY_PAUSE,
			wantLabels: map[string]string{"zone": "a", "disk": "ssd"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := storeAfter(t, storeFixture()...)
			before := mustNode(t, s, fixW1)
			tc.update.NodeId = fixW1
			res := mustApply(t, s, cmdUpdateSpec(storeLater, tc.update))

			n := mustNode(t, s, fixW1)
			want := &swarmv1.NodeSpec{Availability: tc.wantAvail, Labels: tc.wantLabels}
			if !proto.Equal(n.Spec, want) {
				t.Errorf("spec = %v, want %v", n.Spec, want)
			}
			if n.Version != before.Version+1 || n.UpdatedUnixNano != storeLater || n.CreatedUnixNano != before.CreatedUnixNano {
				t.Errorf("version %d updated %d created %d, want %d, %d, %d", n.Version, n.UpdatedUnixNano, n.CreatedUnixNano, before.Version+1, storeLater, before.CreatedUnixNano)
			}
			if !proto.Equal(n.Status, before.Status) {
				t.Errorf("status changed from %v to %v", before.Status, n.Status)
			}
			if !proto.Equal(res.Node, n) {
				t.Errorf("result node %v, want the stored %v", res.Node, n)
			}
		})
	}
}

func TestStoreSetNodeRole(t *testing.T) {
	s := storeAfter(t, storeFixture()...)
	seen := map[uint64]string{1: fixM1, 2: fixM2}
	steps := []struct {
		name        string
		cmd         *swarmv1.Command
		id          string
		wantRole    swarmv1.NodeRole
		wantReplica uint64 // in the result; the stored one for managers
		noop        bool   // the state must not change
	}{
		{"promote w1", cmdSetRole(storeLater, fixW1, swarmv1.NodeRole_NODE_ROLE_MANAGER, "10.0.0.5:4242"), fixW1, swarmv1.NodeRole_NODE_ROLE_MANAGER, 3, false},
		{"promote w1 again", cmdSetRole(storeLater+1, fixW1, swarmv1.NodeRole_NODE_ROLE_MANAGER, "10.0.0.6:4242"), fixW1, swarmv1.NodeRole_NODE_ROLE_MANAGER, 3, true},
		{"demote w1", cmdSetRole(storeLater+2, fixW1, swarmv1.NodeRole_NODE_ROLE_WORKER, ""), fixW1, swarmv1.NodeRole_NODE_ROLE_WORKER, 3, false},
		{"demote w1 again", cmdSetRole(storeLater+3, fixW1, swarmv1.NodeRole_NODE_ROLE_WORKER, ""), fixW1, swarmv1.NodeRole_NODE_ROLE_WORKER, 0, true},
		{"promote w1 after demote", cmdSetRole(storeLater+4, fixW1, swarmv1.NodeRole_NODE_ROLE_MANAGER, "10.0.0.5:4242"), fixW1, swarmv1.NodeRole_NODE_ROLE_MANAGER, 4, false},
		{"demote m2", cmdSetRole(storeLater+5, fixM2, swarmv1.NodeRole_NODE_ROLE_WORKER, ""), fixM2, swarmv1.NodeRole_NODE_ROLE_WORKER, 2, false},
		{"promote m2", cmdSetRole(storeLater+6, fixM2, swarmv1.NodeRole_NODE_ROLE_MANAGER, "10.0.0.2:4242"), fixM2, swarmv1.NodeRole_NODE_ROLE_MANAGER, 5, false},
		{"promote manager m1", cmdSetRole(storeLater+7, fixM1, swarmv1.NodeRole_NODE_ROLE_MANAGER, "10.0.0.1:4242"), fixM1, swarmv1.NodeRole_NODE_ROLE_MANAGER, 1, true},
		{"demote worker w2", cmdSetRole(storeLater+8, fixW2, swarmv1.NodeRole_NODE_ROLE_WORKER, ""), fixW2, swarmv1.NodeRole_NODE_ROLE_WORKER, 0, true},
	}
	for _, st := range steps {
		before, prev := s.Snapshot(), mustNode(t, s, st.id)
		res := mustApply(t, s, st.cmd)
		n := mustNode(t, s, st.id)
		if res.ReplicaId != st.wantReplica {
			t.Errorf("%s: result replica ID %d, want %d", st.name, res.ReplicaId, st.wantReplica)
		}
		if n.Role != st.wantRole {
			t.Errorf("%s: role %v, want %v", st.name, n.Role, st.wantRole)
		}
		if !proto.Equal(res.Node, n) {
			t.Errorf("%s: result node %v, want the stored %v", st.name, res.Node, n)
		}
		if st.noop {
			if after := s.Snapshot(); !proto.Equal(before, after) {
				t.Errorf("%s: state changed:\n%v\nto\n%v", st.name, before, after)
			}
			continue
		}
		if n.Version != prev.Version+1 || n.UpdatedUnixNano != st.cmd.NowUnixNano {
			t.Errorf("%s: version %d updated %d, want %d, %d", st.name, n.Version, n.UpdatedUnixNano, prev.Version+1, st.cmd.NowUnixNano)
		}
		switch st.wantRole {
		case swarmv1.NodeRole_NODE_ROLE_MANAGER:
			want := &swarmv1.ManagerInfo{ReplicaId: st.wantReplica, RaftAddr: st.cmd.GetSetNodeRole().RaftAddr}
			if !proto.Equal(n.Manager, want) {
				t.Errorf("%s: manager info %v, want %v", st.name, n.Manager, want)
			}
			if other, dup := seen[st.wantReplica]; dup {
				t.Errorf("%s: replica ID %d reused (was %s's)", st.name, st.wantReplica, other)
			}
			seen[st.wantReplica] = st.id
			if next := s.Cluster().NextReplicaId; next != st.wantReplica+1 {
				t.Errorf("%s: next replica ID %d, want %d", st.name, next, st.wantReplica+1)
			}
		case swarmv1.NodeRole_NODE_ROLE_WORKER:
			if n.Manager != nil {
				t.Errorf("%s: demoted node kept manager info %v", st.name, n.Manager)
			}
		}
	}

	// Demoting managers stops at the last one.
	mustApply(t, s, cmdSetRole(storeLater+10, fixW1, swarmv1.NodeRole_NODE_ROLE_WORKER, ""))
	mustApply(t, s, cmdSetRole(storeLater+11, fixM2, swarmv1.NodeRole_NODE_ROLE_WORKER, ""))
	if _, err := s.Apply(cmdSetRole(storeLater+12, fixM1, swarmv1.NodeRole_NODE_ROLE_WORKER, "")); !errors.Is(err, ErrConflict) {
		t.Errorf("demote last manager: error %v, want ErrConflict", err)
	}
	if ms := s.Managers(); len(ms) != 1 || ms[0].Id != fixM1 {
		t.Errorf("managers = %v, want only %s", ms, fixM1)
	}
}

func TestStoreSetNodeStates(t *testing.T) {
	type want struct {
		state   swarmv1.NodeState
		msg     string
		version uint64
	}
	tests := []struct {
		name    string
		changes []*swarmv1.NodeStateChange
		want    map[string]want // nodes not listed are unchanged
	}{
		{
			name:    "down with a message",
			changes: []*swarmv1.NodeStateChange{stateChange(fixW1, swarmv1.NodeState_NODE_STATE_DOWN, "heartbeat failure")},
			want:    map[string]want{fixW1: {swarmv1.NodeState_NODE_STATE_DOWN, "heartbeat failure", 2}},
		},
		{
			name: "several nodes in one entry",
			changes: []*swarmv1.NodeStateChange{
				stateChange(fixW1, swarmv1.NodeState_NODE_STATE_DOWN, "heartbeat failure"),
				stateChange(fixM2, swarmv1.NodeState_NODE_STATE_DOWN, "unreachable"),
			},
			want: map[string]want{
				fixW1: {swarmv1.NodeState_NODE_STATE_DOWN, "heartbeat failure", 2},
				fixM2: {swarmv1.NodeState_NODE_STATE_DOWN, "unreachable", 2},
			},
		},
		{
			name: "verdict for an unknown node ignored",
			changes: []*swarmv1.NodeStateChange{
				stateChange("gone", swarmv1.NodeState_NODE_STATE_DOWN, "heartbeat failure"),
				stateChange(fixW2, swarmv1.NodeState_NODE_STATE_DOWN, "heartbeat failure"),
			},
			want: map[string]want{fixW2: {swarmv1.NodeState_NODE_STATE_DOWN, "heartbeat failure", 2}},
		},
		{
			name:    "only an unknown node",
			changes: []*swarmv1.NodeStateChange{stateChange("gone", swarmv1.NodeState_NODE_STATE_READY, "")},
		},
		{
			name:    "same verdict again changes nothing",
			changes: []*swarmv1.NodeStateChange{stateChange(fixW1, swarmv1.NodeState_NODE_STATE_READY, "")},
		},
		{
			name:    "new message same state",
			changes: []*swarmv1.NodeStateChange{stateChange(fixW1, swarmv1.NodeState_NODE_STATE_READY, "recovered")},
			want:    map[string]want{fixW1: {swarmv1.NodeState_NODE_STATE_READY, "recovered", 2}},
		},
		{
			name: "last verdict for a node wins",
			changes: []*swarmv1.NodeStateChange{
				stateChange(fixW1, swarmv1.NodeState_NODE_STATE_DOWN, "heartbeat failure"),
				stateChange(fixW1, swarmv1.NodeState_NODE_STATE_READY, ""),
			},
			want: map[string]want{fixW1: {swarmv1.NodeState_NODE_STATE_READY, "", 3}},
		},
		{
			name: "no changes",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := storeAfter(t, storeFixture()...)
			before := s.Snapshot()
			mustApply(t, s, cmdSetStates(storeLater, tc.changes...))
			after := s.Snapshot()
			if _, ok := s.Node("gone"); ok {
				t.Error("a verdict created an unknown node")
			}
			if len(after.Nodes) != len(before.Nodes) {
				t.Fatalf("%d nodes, want %d", len(after.Nodes), len(before.Nodes))
			}
			if !proto.Equal(after.Cluster, before.Cluster) {
				t.Errorf("cluster changed from %v to %v", before.Cluster, after.Cluster)
			}
			for i, n := range after.Nodes {
				w, changed := tc.want[n.Id]
				if !changed {
					if !proto.Equal(n, before.Nodes[i]) {
						t.Errorf("node %s changed from %v to %v", n.Id, before.Nodes[i], n)
					}
					continue
				}
				st := n.GetStatus()
				if st.GetState() != w.state || st.GetMessage() != w.msg || st.GetUpdatedUnixNano() != storeLater {
					t.Errorf("node %s status %v, want %v %q at %d", n.Id, st, w.state, w.msg, storeLater)
				}
				if n.Version != w.version || n.UpdatedUnixNano != storeLater {
					t.Errorf("node %s version %d updated %d, want %d, %d", n.Id, n.Version, n.UpdatedUnixNano, w.version, storeLater)
				}
			}
		})
	}
}

func TestStoreRemoveNode(t *testing.T) {
	s := storeAfter(t, storeFixture()...)
	before := s.Snapshot()
	res := mustApply(t, s, cmdRemoveNode(storeLater, fixW1))
	if res.GetNode().GetId() != fixW1 {
		t.Errorf("result node %v, want %s", res.Node, fixW1)
	}
	if _, ok := s.Node(fixW1); ok {
		t.Errorf("node %s still in store", fixW1)
	}
	after := s.Snapshot()
	want := slices.DeleteFunc(before.Nodes, func(n *swarmv1.Node) bool { return n.Id == fixW1 })
	if len(after.Nodes) != len(want) {
		t.Fatalf("%d nodes left, want %d", len(after.Nodes), len(want))
	}
	for i := range want {
		if !proto.Equal(after.Nodes[i], want[i]) {
			t.Errorf("node %s changed from %v to %v", want[i].Id, want[i], after.Nodes[i])
		}
	}

	// A manager goes once demoted.
	if _, err := s.Apply(cmdRemoveNode(storeLater+1, fixM2)); !errors.Is(err, ErrConflict) {
		t.Fatalf("remove manager: error %v, want ErrConflict", err)
	}
	mustApply(t, s, cmdSetRole(storeLater+2, fixM2, swarmv1.NodeRole_NODE_ROLE_WORKER, ""))
	mustApply(t, s, cmdRemoveNode(storeLater+3, fixM2))
	if _, ok := s.Node(fixM2); ok {
		t.Errorf("node %s still in store", fixM2)
	}
	// Its ID can join again as a new node.
	res = mustApply(t, s, cmdAddNode(storeLater+4, storeManager(fixM2, "beta", "10.0.0.2:4242", 0)))
	if res.ReplicaId != 3 {
		t.Errorf("rejoined manager got replica ID %d, want 3", res.ReplicaId)
	}
}

func TestStoreRotateToken(t *testing.T) {
	sec := &swarmv1.JoinTokenSecret{Nonce: []byte("new-nonce"), Hash: []byte("new-hash")}
	tests := []struct {
		name        string
		role        swarmv1.NodeRole
		wantWorker  *swarmv1.JoinTokenSecret
		wantManager *swarmv1.JoinTokenSecret
	}{
		{"worker", swarmv1.NodeRole_NODE_ROLE_WORKER, sec, storeCluster().ManagerToken},
		{"manager", swarmv1.NodeRole_NODE_ROLE_MANAGER, storeCluster().WorkerToken, sec},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := storeAfter(t, storeFixture()...)
			before := s.Snapshot()
			mustApply(t, s, cmdRotateToken(storeLater, tc.role, sec))
			cl := s.Cluster()
			if !proto.Equal(cl.WorkerToken, tc.wantWorker) || !proto.Equal(cl.ManagerToken, tc.wantManager) {
				t.Errorf("tokens worker %v manager %v, want %v and %v", cl.WorkerToken, cl.ManagerToken, tc.wantWorker, tc.wantManager)
			}
			if cl.Version != before.Cluster.Version+1 || cl.UpdatedUnixNano != storeLater {
				t.Errorf("cluster version %d updated %d, want %d, %d", cl.Version, cl.UpdatedUnixNano, before.Cluster.Version+1, storeLater)
			}
			if after := s.Snapshot(); !slices.EqualFunc(after.Nodes, before.Nodes, func(a, b *swarmv1.Node) bool { return proto.Equal(a, b) }) {
				t.Error("rotating a token changed nodes")
			}
		})
	}
}

func TestStoreUpdateClusterSettings(t *testing.T) {
	tests := []struct {
		name string
		set  *swarmv1.ClusterSettings
	}{
		{"all fields", &swarmv1.ClusterSettings{HeartbeatPeriodNano: int64(5 * time.Second), RebalanceDisabled: true, TaskHistoryLimit: 3}},
		{"zero heartbeat means default", &swarmv1.ClusterSettings{TaskHistoryLimit: 5}},
		{"empty", &swarmv1.ClusterSettings{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := storeAfter(t, append(storeFixture(), cmdSettings(storeT0+10, &swarmv1.ClusterSettings{HeartbeatPeriodNano: 1, TaskHistoryLimit: 9}))...)
			before := s.Cluster()
			mustApply(t, s, cmdSettings(storeLater, tc.set))
			cl := s.Cluster()
			if !proto.Equal(cl.Settings, tc.set) {
				t.Errorf("settings = %v, want %v", cl.Settings, tc.set)
			}
			if cl.Version != before.Version+1 || cl.UpdatedUnixNano != storeLater {
				t.Errorf("cluster version %d updated %d, want %d, %d", cl.Version, cl.UpdatedUnixNano, before.Version+1, storeLater)
			}
		})
	}
}

func TestStoreRestoreState(t *testing.T) {
	src := storeAfter(t, append(storeFixture(),
		cmdSetRole(storeT0+10, fixW1, swarmv1.NodeRole_NODE_ROLE_MANAGER, "10.0.0.5:4242"),
		cmdSetStates(storeT0+11, stateChange(fixM2, swarmv1.NodeState_NODE_STATE_DOWN, "unreachable")),
	)...)
	snap := src.Snapshot()
	tests := []struct {
		name  string
		setup []*swarmv1.Command
	}{
		{"into an empty store", nil},
		{"over another swarm", []*swarmv1.Command{cmdInitCluster(storeT0, &swarmv1.Cluster{
			Id: "other", CaCertDer: []byte("x"), WorkerToken: &swarmv1.JoinTokenSecret{}, ManagerToken: &swarmv1.JoinTokenSecret{},
		}, storeManager("zz", "zeta", "10.0.1.1:4242", 7))}},
		{"over the same swarm", storeFixture()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := storeAfter(t, tc.setup...)
			mustApply(t, s, cmdRestore(storeLater, snap))
			if got := s.Snapshot(); !proto.Equal(got, snap) {
				t.Errorf("after restore:\n%v\nwant\n%v", got, snap)
			}
			// The restored store allocates where the source left off.
			res := mustApply(t, s, cmdAddNode(storeLater+1, storeManager("m9", "iota", "10.0.0.9:4242", 0)))
			if res.ReplicaId != 4 {
				t.Errorf("replica ID after restore %d, want 4", res.ReplicaId)
			}
		})
	}
	// The restored state is a copy: changing the command's snapshot later
	// does not reach the store.
	s := storeAfter(t)
	cmd := cmdRestore(storeLater, proto.Clone(snap).(*swarmv1.Snapshot))
	mustApply(t, s, cmd)
	cmd.GetRestoreState().Snapshot.Nodes[0].Id = "mutated"
	cmd.GetRestoreState().Snapshot.Cluster.Id = "mutated"
	if got := s.Snapshot(); !proto.Equal(got, snap) {
		t.Errorf("store aliases the restored snapshot:\n%v", got)
	}
}

func TestStoreApplyRejects(t *testing.T) {
	fixture := storeFixture()
	initOnly := fixture[:1]
	oneManager := append(slices.Clone(initOnly), cmdAddNode(storeT0+1, storeWorker(fixW1, "gamma")))
	updated := append(slices.Clone(fixture), cmdUpdateSpec(storeT0+10, &swarmv1.UpdateNodeSpec{NodeId: fixW1, ExpectedVersion: 1}))
	badInit := func(mod func(cl *swarmv1.Cluster, n *swarmv1.Node)) *swarmv1.Command {
		cl, n := storeCluster(), storeManager(fixM1, "alpha", "10.0.0.1:4242", 1)
		mod(cl, n)
		return cmdInitCluster(storeT0, cl, n)
	}
	badNode := func(mod func(n *swarmv1.Node)) *swarmv1.Command {
		n := storeWorker("new", "delta")
		mod(n)
		return cmdAddNode(storeLater, n)
	}
	goodSnap := storeAfter(t, fixture...).Snapshot()
	badSnap := func(mod func(s *swarmv1.Snapshot)) *swarmv1.Command {
		s := proto.Clone(goodSnap).(*swarmv1.Snapshot)
		mod(s)
		return cmdRestore(storeLater, s)
	}
	sec := &swarmv1.JoinTokenSecret{Nonce: []byte("n"), Hash: []byte("h")}

	tests := []struct {
		name  string
		setup []*swarmv1.Command
		cmd   *swarmv1.Command
		want  error
	}{
		// Malformed commands.
		{"nil command", fixture, nil, ErrInvalid},
		{"command without body", fixture, &swarmv1.Command{NowUnixNano: storeLater}, ErrInvalid},

		// InitCluster.
		{"init twice", fixture, fixture[0], ErrExists},
		{"init without cluster", nil, cmdInitCluster(storeT0, nil, storeManager(fixM1, "alpha", "10.0.0.1:4242", 1)), ErrInvalid},
		{"init without cluster ID", nil, badInit(func(cl *swarmv1.Cluster, _ *swarmv1.Node) { cl.Id = "" }), ErrInvalid},
		{"init without CA", nil, badInit(func(cl *swarmv1.Cluster, _ *swarmv1.Node) { cl.CaCertDer = nil }), ErrInvalid},
		{"init without worker token", nil, badInit(func(cl *swarmv1.Cluster, _ *swarmv1.Node) { cl.WorkerToken = nil }), ErrInvalid},
		{"init without manager token", nil, badInit(func(cl *swarmv1.Cluster, _ *swarmv1.Node) { cl.ManagerToken = nil }), ErrInvalid},
		{"init without node", nil, cmdInitCluster(storeT0, storeCluster(), nil), ErrInvalid},
		{"init node without ID", nil, badInit(func(_ *swarmv1.Cluster, n *swarmv1.Node) { n.Id = "" }), ErrInvalid},
		{"init node without address", nil, badInit(func(_ *swarmv1.Cluster, n *swarmv1.Node) { n.Addr = "" }), ErrInvalid},
		{"init with a worker", nil, cmdInitCluster(storeT0, storeCluster(), storeWorker(fixM1, "alpha")), ErrInvalid},
		{"init manager without replica ID", nil, badInit(func(_ *swarmv1.Cluster, n *swarmv1.Node) { n.Manager.ReplicaId = 0 }), ErrInvalid},
		{"init manager without manager info", nil, badInit(func(_ *swarmv1.Cluster, n *swarmv1.Node) { n.Manager = nil }), ErrInvalid},

		// AddNode.
		{"add before init", nil, cmdAddNode(storeLater, storeWorker(fixW1, "gamma")), ErrNoCluster},
		{"add existing node", fixture, cmdAddNode(storeLater, storeWorker(fixW1, "other")), ErrExists},
		{"add existing node as manager", fixture, cmdAddNode(storeLater, storeManager(fixW2, "a1", "10.0.0.7:4242", 0)), ErrExists},
		{"add without node", fixture, cmdAddNode(storeLater, nil), ErrInvalid},
		{"add node without ID", fixture, badNode(func(n *swarmv1.Node) { n.Id = "" }), ErrInvalid},
		{"add node without role", fixture, badNode(func(n *swarmv1.Node) { n.Role = swarmv1.NodeRole_NODE_ROLE_UNSPECIFIED }), ErrInvalid},
		{"add node with unknown role", fixture, badNode(func(n *swarmv1.Node) { n.Role = 9 }), ErrInvalid},
		{"add node without address", fixture, badNode(func(n *swarmv1.Node) { n.Addr = "" }), ErrInvalid},
		{"add node without gateway", fixture, badNode(func(n *swarmv1.Node) { n.GatewayAddr = "" }), ErrInvalid},
		{"add manager without raft address", fixture, cmdAddNode(storeLater, storeManager("new", "delta", "", 0)), ErrInvalid},
		{"add manager without manager info", fixture, badNode(func(n *swarmv1.Node) { n.Role = swarmv1.NodeRole_NODE_ROLE_MANAGER }), ErrInvalid},

		// UpdateNodeSpec.
		{"update before init", nil, cmdUpdateSpec(storeLater, &swarmv1.UpdateNodeSpec{NodeId: fixW1}), ErrNoCluster},
		{"update unknown node", fixture, cmdUpdateSpec(storeLater, &swarmv1.UpdateNodeSpec{NodeId: "gone"}), ErrNotFound},
		{"update expected version ahead", fixture, cmdUpdateSpec(storeLater, &swarmv1.UpdateNodeSpec{NodeId: fixW1, ExpectedVersion: 7}), ErrBadVersion},
		{"update expected version stale", updated, cmdUpdateSpec(storeLater, &swarmv1.UpdateNodeSpec{NodeId: fixW1, ExpectedVersion: 1, Availability: swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN}), ErrBadVersion},
		{"update unknown availability", fixture, cmdUpdateSpec(storeLater, &swarmv1.UpdateNodeSpec{NodeId: fixW1, Availability: 9}), ErrInvalid},
		{"update empty label key", fixture, cmdUpdateSpec(storeLater, &swarmv1.UpdateNodeSpec{NodeId: fixW1, LabelAdd: map[string]string{"": "x", "ok": "y"}}), ErrInvalid},
		{"remove unknown label", fixture, cmdUpdateSpec(storeLater, &swarmv1.UpdateNodeSpec{NodeId: fixW1, LabelRm: []string{"zone", "nope"}, Availability: swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN}), ErrNotFound},
		{"remove label of a node without labels", fixture, cmdUpdateSpec(storeLater, &swarmv1.UpdateNodeSpec{NodeId: fixW2, LabelRm: []string{"zone"}}), ErrNotFound},

		// SetNodeRole.
		{"set role before init", nil, cmdSetRole(storeLater, fixW1, swarmv1.NodeRole_NODE_ROLE_MANAGER, "10.0.0.5:4242"), ErrNoCluster},
		{"set role of unknown node", fixture, cmdSetRole(storeLater, "gone", swarmv1.NodeRole_NODE_ROLE_MANAGER, "10.0.0.5:4242"), ErrNotFound},
		{"set unspecified role", fixture, cmdSetRole(storeLater, fixW1, swarmv1.NodeRole_NODE_ROLE_UNSPECIFIED, ""), ErrInvalid},
		{"set unknown role", fixture, cmdSetRole(storeLater, fixW1, 7, "10.0.0.5:4242"), ErrInvalid},
		{"promote without raft address", fixture, cmdSetRole(storeLater, fixW1, swarmv1.NodeRole_NODE_ROLE_MANAGER, ""), ErrInvalid},
		{"demote the only manager", initOnly, cmdSetRole(storeLater, fixM1, swarmv1.NodeRole_NODE_ROLE_WORKER, ""), ErrConflict},
		{"demote the last manager", oneManager, cmdSetRole(storeLater, fixM1, swarmv1.NodeRole_NODE_ROLE_WORKER, ""), ErrConflict},

		// SetNodeStates.
		{"set states before init", nil, cmdSetStates(storeLater, stateChange(fixW1, swarmv1.NodeState_NODE_STATE_DOWN, "")), ErrNoCluster},
		{"unspecified state", fixture, cmdSetStates(storeLater, stateChange(fixW1, swarmv1.NodeState_NODE_STATE_UNSPECIFIED, "")), ErrInvalid},
		// The good verdict before the bad one is not applied either.
		{"unknown state after a good one", fixture, cmdSetStates(storeLater,
			stateChange(fixW1, swarmv1.NodeState_NODE_STATE_DOWN, "heartbeat failure"),
			stateChange(fixW2, 7, "")), ErrInvalid},
		{"unknown state for an unknown node", fixture, cmdSetStates(storeLater, stateChange("gone", 7, "")), ErrInvalid},

		// RemoveNode.
		{"remove before init", nil, cmdRemoveNode(storeLater, fixW1), ErrNoCluster},
		{"remove unknown node", fixture, cmdRemoveNode(storeLater, "gone"), ErrNotFound},
		{"remove a manager", fixture, cmdRemoveNode(storeLater, fixM2), ErrConflict},
		{"remove the only manager", initOnly, cmdRemoveNode(storeLater, fixM1), ErrConflict},

		// RotateToken.
		{"rotate before init", nil, cmdRotateToken(storeLater, swarmv1.NodeRole_NODE_ROLE_WORKER, sec), ErrNoCluster},
		{"rotate without secret", fixture, cmdRotateToken(storeLater, swarmv1.NodeRole_NODE_ROLE_WORKER, nil), ErrInvalid},
		{"rotate without nonce", fixture, cmdRotateToken(storeLater, swarmv1.NodeRole_NODE_ROLE_WORKER, &swarmv1.JoinTokenSecret{Hash: []byte("h")}), ErrInvalid},
		{"rotate without hash", fixture, cmdRotateToken(storeLater, swarmv1.NodeRole_NODE_ROLE_MANAGER, &swarmv1.JoinTokenSecret{Nonce: []byte("n")}), ErrInvalid},
		{"rotate unspecified role", fixture, cmdRotateToken(storeLater, swarmv1.NodeRole_NODE_ROLE_UNSPECIFIED, sec), ErrInvalid},

		// UpdateClusterSettings.
		{"settings before init", nil, cmdSettings(storeLater, &swarmv1.ClusterSettings{}), ErrNoCluster},
		{"settings missing", fixture, cmdSettings(storeLater, nil), ErrInvalid},
		{"negative heartbeat", fixture, cmdSettings(storeLater, &swarmv1.ClusterSettings{HeartbeatPeriodNano: -1}), ErrInvalid},

		// RestoreState.
		{"restore nothing", fixture, cmdRestore(storeLater, nil), ErrInvalid},
		{"restore unversioned snapshot", fixture, badSnap(func(s *swarmv1.Snapshot) { s.Version = 0 }), ErrInvalid},
		{"restore future snapshot", fixture, badSnap(func(s *swarmv1.Snapshot) { s.Version = SnapshotVersion + 1 }), ErrInvalid},
		{"restore node without ID", fixture, badSnap(func(s *swarmv1.Snapshot) { s.Nodes[2].Id = "" }), ErrInvalid},
		{"restore node twice", nil, badSnap(func(s *swarmv1.Snapshot) { s.Nodes = append(s.Nodes, s.Nodes[1]) }), ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := storeAfter(t, tc.setup...)
			before := s.Snapshot()
			res, err := s.Apply(tc.cmd)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Apply error = %v, want %v", err, tc.want)
			}
			if got, want := Code(err), Code(tc.want); got != want {
				t.Errorf("Code(%v) = %d, want %d", err, got, want)
			}
			if res != nil {
				t.Errorf("refused command returned result %v", res)
			}
			if after := s.Snapshot(); !proto.Equal(before, after) {
				t.Errorf("state changed by a refused command:\n%v\nto\n%v", before, after)
			}
		})
	}
}

// storeHistory is a sequence touching every command kind, for the snapshot
// tests. The commands after the fixture carry request IDs, so snapshots
// hold remembered results too.
func storeHistory() []*swarmv1.Command {
	fixture := storeFixture()
	hist := append(fixture,
		cmdUpdateSpec(storeT0+10, &swarmv1.UpdateNodeSpec{NodeId: fixW1, Availability: swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN, LabelAdd: map[string]string{"rack": "r1"}, LabelRm: []string{"disk"}}),
		cmdSetRole(storeT0+11, fixW2, swarmv1.NodeRole_NODE_ROLE_MANAGER, "10.0.0.6:4242"),
		cmdSetRole(storeT0+12, fixM2, swarmv1.NodeRole_NODE_ROLE_WORKER, ""),
		cmdSetStates(storeT0+13, stateChange(fixM2, swarmv1.NodeState_NODE_STATE_DOWN, "heartbeat failure"), stateChange("gone", swarmv1.NodeState_NODE_STATE_DOWN, "")),
		cmdAddNode(storeT0+14, storeWorker("e7g8", "delta")),
		cmdRemoveNode(storeT0+15, fixM2),
		cmdRotateToken(storeT0+16, swarmv1.NodeRole_NODE_ROLE_WORKER, &swarmv1.JoinTokenSecret{Nonce: []byte("n2"), Hash: []byte("h2")}),
		cmdSettings(storeT0+17, &swarmv1.ClusterSettings{HeartbeatPeriodNano: int64(5 * time.Second), TaskHistoryLimit: 5}),
	)
	for i, c := range hist[len(fixture):] {
		c.RequestId = fmt.Sprintf("h%d", i)
	}
	return hist
}

func TestStoreSnapshotRoundTrip(t *testing.T) {
	hist := storeHistory()
	for cut := 0; cut <= len(hist); cut++ {
		t.Run(fmt.Sprintf("after=%d", cut), func(t *testing.T) {
			s := storeAfter(t, hist[:cut]...)
			snap := s.Snapshot()
			if snap.Version != SnapshotVersion {
				t.Fatalf("snapshot version %d, want %d", snap.Version, SnapshotVersion)
			}
			data, err := proto.Marshal(snap)
			if err != nil {
				t.Fatal(err)
			}
			decoded, err := DecodeSnapshot(data)
			if err != nil {
				t.Fatalf("DecodeSnapshot: %v", err)
			}
			restored := NewStore()
			if err := restored.Restore(decoded); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if got := restored.Snapshot(); !proto.Equal(got, snap) {
				t.Fatalf("restored:\n%v\nwant\n%v", got, snap)
			}
			// Replicas that restored and replicas that replayed stay equal:
			// the rest of the history gives the same results on both.
			for _, c := range hist[cut:] {
				r1, err1 := s.Apply(c)
				r2, err2 := restored.Apply(c)
				if !proto.Equal(r1, r2) || (err1 == nil) != (err2 == nil) {
					t.Fatalf("Apply(%s): replayed %v, %v; restored %v, %v", prototext.Format(c), r1, err1, r2, err2)
				}
			}
			if a, b := s.Snapshot(), restored.Snapshot(); !proto.Equal(a, b) {
				t.Errorf("diverged:\n%v\nand\n%v", a, b)
			}
		})
	}
}

func TestStoreRestoreRejects(t *testing.T) {
	s := storeAfter(t, storeHistory()...)
	before := s.Snapshot()
	for _, snap := range []*swarmv1.Snapshot{
		nil,
		{},
		{Version: SnapshotVersion + 1, Cluster: storeCluster()},
		{Version: SnapshotVersion, Nodes: []*swarmv1.Node{{Id: "a"}, {Id: "a"}}},
		{Version: SnapshotVersion, Nodes: []*swarmv1.Node{{Id: "a"}, {}}},
		{Version: SnapshotVersion, Recent: []*swarmv1.RecentResult{{Result: &swarmv1.Result{}}}},
		{Version: SnapshotVersion, Recent: []*swarmv1.RecentResult{{RequestId: "r1"}}},
	} {
		if err := s.Restore(snap); !errors.Is(err, ErrInvalid) {
			t.Errorf("Restore(%v) error = %v, want ErrInvalid", snap, err)
		}
	}
	if after := s.Snapshot(); !proto.Equal(before, after) {
		t.Errorf("failed Restore changed the state:\n%v\nto\n%v", before, after)
	}
}

func withRequestID(id string, c *swarmv1.Command) *swarmv1.Command {
	c.RequestId = id
	return c
}

// withoutRecent returns snap without its deduplication memory.
func withoutRecent(snap *swarmv1.Snapshot) *swarmv1.Snapshot {
	snap = proto.Clone(snap).(*swarmv1.Snapshot)
	snap.Recent = nil
	return snap
}

func TestStoreRequestDedup(t *testing.T) {
	s := storeAfter(t, storeFixture()...)

	// A retried proposal is answered with the first result and changes
	// nothing: the manager is not given a second replica ID.
	add := withRequestID("r1", cmdAddNode(storeLater, storeManager("e7g8", "delta", "10.0.0.7:4242", 0)))
	first := mustApply(t, s, add)
	after := s.Snapshot()
	if len(after.Recent) != 1 || after.Recent[0].RequestId != "r1" || !proto.Equal(after.Recent[0].Result, first) {
		t.Errorf("remembered %v, want r1 with %v", after.Recent, first)
	}
	retry := proto.Clone(add).(*swarmv1.Command)
	retry.NowUnixNano = storeLater + 1
	if again := mustApply(t, s, retry); !proto.Equal(again, first) {
		t.Errorf("retry result %v, want the first %v", again, first)
	}
	if got := s.Snapshot(); !proto.Equal(got, after) {
		t.Errorf("retry changed the state:\n%v\nto\n%v", after, got)
	}

	// The same body under a new request ID is a new command.
	if _, err := s.Apply(withRequestID("r2", proto.Clone(add).(*swarmv1.Command))); !errors.Is(err, ErrExists) {
		t.Errorf("same AddNode under a new request ID: error %v, want ErrExists", err)
	}

	// A refusal is remembered too: only the memory changes, and a retry
	// gets the same refusal even once the command would succeed.
	before := s.Snapshot()
	rm := withRequestID("r3", cmdRemoveNode(storeLater+2, "ghost"))
	if _, err := s.Apply(rm); !errors.Is(err, ErrNotFound) {
		t.Fatalf("remove ghost: error %v, want ErrNotFound", err)
	}
	got := s.Snapshot()
	if !proto.Equal(withoutRecent(got), withoutRecent(before)) || len(got.Recent) != len(before.Recent)+1 {
		t.Errorf("refused command changed more than the memory:\n%v\nto\n%v", before, got)
	}
	mustApply(t, s, cmdAddNode(storeLater+3, storeWorker("ghost", "phantom")))
	if res, err := s.Apply(rm); !errors.Is(err, ErrNotFound) || res != nil {
		t.Errorf("retried refusal = %v, %v, want ErrNotFound again", res, err)
	}
	if _, ok := s.Node("ghost"); !ok {
		t.Error("a retried refusal removed the node")
	}

	// Replicas that restore from a snapshot deduplicate alike.
	data, err := proto.Marshal(s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	snap, err := DecodeSnapshot(data)
	if err != nil {
		t.Fatal(err)
	}
	restored := NewStore()
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if again := mustApply(t, restored, retry); !proto.Equal(again, first) {
		t.Errorf("retry on a restored replica: %v, want the first %v", again, first)
	}
	if a, b := s.Snapshot(), restored.Snapshot(); !proto.Equal(a, b) {
		t.Errorf("restored replica diverged:\n%v\nand\n%v", a, b)
	}

	// The memory is bounded: after recentLimit newer requests the first is
	// forgotten and a retry is applied anew.
	for i := range recentLimit {
		state := swarmv1.NodeState_NODE_STATE_DOWN
		if i%2 == 1 {
			state = swarmv1.NodeState_NODE_STATE_READY
		}
		mustApply(t, s, withRequestID(fmt.Sprintf("f%d", i), cmdSetStates(storeLater+10+int64(i), stateChange(fixW1, state, ""))))
	}
	if n := len(s.Snapshot().Recent); n != recentLimit {
		t.Errorf("remembers %d results, want %d", n, recentLimit)
	}
	if _, err := s.Apply(retry); !errors.Is(err, ErrExists) {
		t.Errorf("retry of a forgotten request: error %v, want ErrExists", err)
	}
}

// decodeNoPanic reports a panic in DecodeSnapshot as a test failure naming
// the input.
func decodeNoPanic(t *testing.T, what string, data []byte) (snap *swarmv1.Snapshot, err error) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("DecodeSnapshot(%s %x) panicked: %v", what, data, p)
		}
	}()
	return DecodeSnapshot(data)
}

func TestDecodeSnapshotTruncated(t *testing.T) {
	data, err := proto.Marshal(storeAfter(t, storeHistory()...).Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	broken := 0
	for i := 0; i < len(data); i++ {
		prefix := data[:i]
		snap, err := decodeNoPanic(t, fmt.Sprintf("prefix %d/%d", i, len(data)), prefix)
		if proto.Unmarshal(prefix, &swarmv1.Snapshot{}) != nil {
			broken++
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("DecodeSnapshot(prefix %d/%d) error = %v, want ErrInvalid", i, len(data), err)
			}
			continue
		}
		// A prefix cut at a field boundary parses: it is an older,
		// smaller snapshot or, without its version, an error.
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("DecodeSnapshot(prefix %d/%d) error = %v, want nil or ErrInvalid", i, len(data), err)
		}
		if err == nil && snap.Version != SnapshotVersion {
			t.Errorf("DecodeSnapshot(prefix %d/%d) accepted version %d", i, len(data), snap.Version)
		}
	}
	if broken == 0 {
		t.Fatal("no prefix failed to parse; the test checks nothing")
	}
	t.Logf("%d of %d prefixes fail to parse", broken, len(data))
}

func TestDecodeSnapshotRejects(t *testing.T) {
	future, err := proto.Marshal(&swarmv1.Snapshot{Version: SnapshotVersion + 1, Cluster: storeCluster()})
	if err != nil {
		t.Fatal(err)
	}
	node, err := proto.Marshal(storeWorker(fixW1, "gamma"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"wrong version", future},
		{"another message", node},
		{"all ones", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"text", []byte("not a snapshot at all")},
		{"huge length", []byte{0x1a, 0xff, 0xff, 0xff, 0xff, 0x0f}},
		{"group end", []byte{0x0c}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeNoPanic(t, tc.name, tc.data); !errors.Is(err, ErrInvalid) {
				t.Errorf("DecodeSnapshot error = %v, want ErrInvalid", err)
			}
		})
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("garbage seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	for i := 0; i < 2000; i++ {
		b := make([]byte, rng.IntN(64))
		for j := range b {
			b[j] = byte(rng.UintN(256))
		}
		snap, err := decodeNoPanic(t, "garbage", b)
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("DecodeSnapshot(%x) error = %v, want ErrInvalid", b, err)
		}
		if err == nil && snap.Version != SnapshotVersion {
			t.Errorf("DecodeSnapshot(%x) accepted version %d", b, snap.Version)
		}
	}
}

func TestStoreFindNode(t *testing.T) {
	s := storeAfter(t, append(storeFixture(),
		cmdAddNode(storeLater, storeWorker("e7g8", fixW1)),  // hostname is another node's ID
		cmdAddNode(storeLater, storeWorker("e7h9", "beta")), // same hostname as fixM2
	)...)
	tests := []struct {
		name string
		ref  string
		want string
		err  error
	}{
		{"exact ID", fixM2, fixM2, nil},
		{"ID before hostname", fixW1, fixW1, nil},
		{"hostname", "alpha", fixM1, nil},
		{"hostname before prefix", "a1", fixW2, nil},
		{"unique prefix", "a1c", fixM2, nil},
		{"unique prefix of a worker", "d4e", fixW1, nil},
		{"ambiguous prefix", "d4", "", ErrConflict},
		{"ambiguous prefix of many", "e7", "", ErrConflict},
		{"ambiguous hostname", "beta", "", ErrConflict},
		{"unknown", "zz", "", ErrNotFound},
		{"unknown hostname", "delta", "", ErrNotFound},
		{"longer than an ID", fixW1 + "x", "", ErrNotFound},
		{"empty", "", "", ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := s.FindNode(tc.ref)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || n != nil {
					t.Fatalf("FindNode(%q) = %v, %v, want error %v", tc.ref, n, err, tc.err)
				}
				return
			}
			if err != nil || n.GetId() != tc.want {
				t.Fatalf("FindNode(%q) = %v, %v, want %s", tc.ref, n.GetId(), err, tc.want)
			}
		})
	}
}

func TestStoreReturnsCopies(t *testing.T) {
	cmds := storeFixture()
	s := storeAfter(t, cmds...)
	before := s.Snapshot()

	// Neither the commands applied nor the values returned alias the state.
	cmds[0].GetInitCluster().Cluster.Id = "mutated"
	cmds[0].GetInitCluster().Node.Manager.ReplicaId = 99
	cmds[2].GetAddNode().Node.Spec.Labels["zone"] = "mutated"

	n, _ := s.Node(fixW1)
	n.Spec.Labels["zone"] = "mutated"
	found, err := s.FindNode("gamma")
	if err != nil {
		t.Fatal(err)
	}
	found.Id = "mutated"
	s.Cluster().WorkerToken.Hash[0] = 'X'
	s.Nodes()[0].Status.State = swarmv1.NodeState_NODE_STATE_DOWN
	s.Managers()[0].Manager.ReplicaId = 99
	s.Snapshot().Nodes[1].Version = 99
	res := mustApply(t, s, cmdUpdateSpec(storeLater, &swarmv1.UpdateNodeSpec{NodeId: fixW2}))
	res.Node.Addr = "mutated"

	want := proto.Clone(before).(*swarmv1.Snapshot)
	w2 := want.Nodes[3]
	w2.Version, w2.UpdatedUnixNano = 2, storeLater
	if after := s.Snapshot(); !proto.Equal(after, want) {
		t.Errorf("a caller changed the store through a returned value:\n%v\nwant\n%v", after, want)
	}
	if ms := s.Managers(); len(ms) != 2 || ms[0].Id != fixM1 || ms[1].Id != fixM2 {
		t.Errorf("Managers() = %v, want %s and %s", ms, fixM1, fixM2)
	}
	if ps := s.ManagerPeers(); len(ps) == 2 {
		ps[0], ps[1] = ps[1], ps[0] // a caller ranks them its own way
	}
	if got, want := s.ManagerPeers(), PeersOf(s.Managers()); !peersEqual(got, want) {
		t.Errorf("ManagerPeers() = %v, want %v (a caller reordered the kept peers?)", got, want)
	}

	for _, c := range []*swarmv1.Command{
		cmdAddNode(storeLater+1, storeManager("e7g8", "delta", "10.0.0.7:4242", 0)),
		cmdSetRole(storeLater+2, fixW1, swarmv1.NodeRole_NODE_ROLE_MANAGER, "10.0.0.5:4242"),
		cmdSetRole(storeLater+3, fixW1, swarmv1.NodeRole_NODE_ROLE_MANAGER, "10.0.0.5:4242"),
	} {
		res := mustApply(t, s, c)
		stored := mustNode(t, s, res.Node.Id)
		res.Node.Addr = "mutated"
		res.Node.Manager.RaftAddr = "mutated"
		if again := mustNode(t, s, stored.Id); !proto.Equal(again, stored) {
			t.Errorf("changing the result of %s changed the store:\n%v\nwant\n%v", prototext.Format(c), again, stored)
		}
	}
	// The kept peers follow the new manager and the promotion.
	if got, want := s.ManagerPeers(), PeersOf(s.Managers()); !peersEqual(got, want) || len(got) != 4 {
		t.Errorf("ManagerPeers() after a join and a promotion = %v, want %v (4 managers)", got, want)
	}
}

func TestStoreEmpty(t *testing.T) {
	s := NewStore()
	if cl := s.Cluster(); cl != nil {
		t.Errorf("Cluster() = %v before init, want nil", cl)
	}
	if ns := s.Nodes(); len(ns) != 0 {
		t.Errorf("Nodes() = %v before init, want none", ns)
	}
	want := &swarmv1.Snapshot{Version: SnapshotVersion}
	if snap := s.Snapshot(); !proto.Equal(snap, want) {
		t.Errorf("Snapshot() = %v, want %v", snap, want)
	}
	if _, err := s.FindNode(fixM1); !errors.Is(err, ErrNotFound) {
		t.Errorf("FindNode before init error = %v, want ErrNotFound", err)
	}
}

func TestCodeRoundTrip(t *testing.T) {
	sentinels := []error{ErrInvalid, ErrNotFound, ErrExists, ErrConflict, ErrNoCluster, ErrBadVersion}
	used := map[int32]error{}
	for _, s := range sentinels {
		t.Run(s.Error(), func(t *testing.T) {
			err := fmt.Errorf("node x: %w", s)
			code := Code(err)
			if code <= 0 {
				t.Fatalf("Code(%v) = %d, want a positive code", err, code)
			}
			if other, dup := used[code]; dup {
				t.Fatalf("code %d used by %v and %v", code, other, s)
			}
			used[code] = s
			if Code(s) != code {
				t.Errorf("Code(sentinel) = %d, Code(wrapped) = %d", Code(s), code)
			}
			back := CodeError(code, err.Error())
			if back.Error() != err.Error() {
				t.Errorf("CodeError text %q, want %q", back.Error(), err.Error())
			}
			for _, o := range sentinels {
				if got := errors.Is(back, o); got != (o == s) {
					t.Errorf("errors.Is(CodeError(%d), %v) = %v", code, o, got)
				}
			}
			if Code(back) != code {
				t.Errorf("Code(CodeError(%d)) = %d", code, Code(back))
			}
			// Wrapped again on the receiving side it still classifies.
			if again := fmt.Errorf("propose: %w", back); !errors.Is(again, s) {
				t.Errorf("wrapped CodeError lost %v", s)
			}
		})
	}

	for _, err := range []error{nil, errors.New("boom"), ErrNoQuorum} {
		if c := Code(err); c != 0 {
			t.Errorf("Code(%v) = %d, want 0", err, c)
		}
	}
	for _, code := range []int32{0, -1, int32(len(sentinels) + 1), 1 << 30} {
		err := CodeError(code, "boom")
		if err == nil || err.Error() != "boom" {
			t.Errorf("CodeError(%d, boom) = %v, want an error saying boom", code, err)
			continue
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				t.Errorf("CodeError(%d) matches %v", code, s)
			}
		}
	}
}

func peersEqual(a, b []*swarmv1.Peer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestStoreOffersRuntime: a runtime is offered when any node names it.
func TestStoreOffersRuntime(t *testing.T) {
	w1 := storeWorker(fixW1, "gamma")
	w1.Description.Runtimes = []string{"process", "docker"}
	w2 := storeWorker(fixW2, "a1")
	w2.Description.Runtimes = []string{"sim"}
	s := storeAfter(t, storeFixture()[0], cmdAddNode(storeT0+1, w1), cmdAddNode(storeT0+2, w2))
	for rt, want := range map[string]bool{"process": true, "docker": true, "sim": true, "qemu": false, "": false} {
		if got := s.OffersRuntime(rt); got != want {
			t.Errorf("OffersRuntime(%q) = %v, want %v", rt, got, want)
		}
	}
}
