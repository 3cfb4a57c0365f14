package cluster

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func cmdCreateNetwork(id string, spec *swarmv1.NetworkSpec) *swarmv1.Command {
	return &swarmv1.Command{NowUnixNano: 5000, Cmd: &swarmv1.Command_CreateNetwork{CreateNetwork: &swarmv1.CreateNetwork{
		Network: &swarmv1.Network{Id: id, Spec: spec},
	}}}
}

func cmdRemoveNetwork(id string) *swarmv1.Command {
	return &swarmv1.Command{NowUnixNano: 6000, Cmd: &swarmv1.Command_RemoveNetwork{RemoveNetwork: &swarmv1.RemoveNetwork{NetworkId: id}}}
}

func cmdReserve(id, name string, networks ...string) *swarmv1.Command {
	return &swarmv1.Command{Cmd: &swarmv1.Command_ReserveService{ReserveService: &swarmv1.ReserveService{ServiceId: id, Name: name, Networks: networks}}}
}

// TestStoreNetworks covers IPAM and VNIs: default subnets from the pool
// in order, subnets asked for, what is refused and why, reuse after rm.
func TestStoreNetworks(t *testing.T) {
	s := storeAfter(t, storeFixture()...)
	a := mustApply(t, s, cmdCreateNetwork("neta", &swarmv1.NetworkSpec{Name: "skynet", Driver: "overlay"})).Network
	if a.Subnet != "10.0.0.0/24" || a.Gateway != "10.0.0.1" || a.Vni != FirstVNI || a.Version != 1 || a.CreatedUnixNano != 5000 {
		t.Errorf("first network: %v", a)
	}
	b := mustApply(t, s, cmdCreateNetwork("netb", &swarmv1.NetworkSpec{Name: "other"})).Network
	if b.Subnet != "10.0.1.0/24" || b.Vni != FirstVNI+1 || b.Spec.Driver != DriverOverlay {
		t.Errorf("second network: %v", b)
	}
	c := mustApply(t, s, cmdCreateNetwork("netc", &swarmv1.NetworkSpec{Name: "mine", Subnet: "192.168.50.0/26", Gateway: "192.168.50.62"})).Network
	if c.Subnet != "192.168.50.0/26" || c.Gateway != "192.168.50.62" {
		t.Errorf("asked subnet: %v", c)
	}
	// The pool skips what is taken, whoever took it.
	mustApply(t, s, cmdCreateNetwork("netd", &swarmv1.NetworkSpec{Name: "big", Subnet: "10.0.2.0/23"}))
	if e := mustApply(t, s, cmdCreateNetwork("nete", &swarmv1.NetworkSpec{Name: "next"})).Network; e.Subnet != "10.0.4.0/24" {
		t.Errorf("pool after a /23 at 10.0.2.0: got %s", e.Subnet)
	}

	before := proto.Clone(s.Snapshot())
	for _, tc := range []struct {
		name string
		spec *swarmv1.NetworkSpec
		want error
	}{
		{"duplicate name", &swarmv1.NetworkSpec{Name: "skynet"}, ErrExists},
		{"bad name", &swarmv1.NetworkSpec{Name: "-x"}, ErrInvalid},
		{"empty name", &swarmv1.NetworkSpec{}, ErrInvalid},
		{"bridge driver", &swarmv1.NetworkSpec{Name: "x", Driver: "bridge"}, ErrInvalid},
		{"overlapping subnet", &swarmv1.NetworkSpec{Name: "x", Subnet: "10.0.0.128/25"}, ErrConflict},
		{"enclosing subnet", &swarmv1.NetworkSpec{Name: "x", Subnet: "10.0.0.0/16"}, ErrConflict},
		{"host bits", &swarmv1.NetworkSpec{Name: "x", Subnet: "172.16.0.1/24"}, ErrInvalid},
		{"too small", &swarmv1.NetworkSpec{Name: "x", Subnet: "172.16.0.0/30"}, ErrInvalid},
		{"ipv6", &swarmv1.NetworkSpec{Name: "x", Subnet: "fd00::/64"}, ErrInvalid},
		{"garbage subnet", &swarmv1.NetworkSpec{Name: "x", Subnet: "ten"}, ErrInvalid},
		{"gateway outside", &swarmv1.NetworkSpec{Name: "x", Subnet: "172.16.0.0/24", Gateway: "172.16.1.1"}, ErrInvalid},
		{"gateway is the broadcast", &swarmv1.NetworkSpec{Name: "x", Subnet: "172.16.0.0/24", Gateway: "172.16.0.255"}, ErrInvalid},
		{"gateway garbage", &swarmv1.NetworkSpec{Name: "x", Gateway: "gw"}, ErrInvalid},
	} {
		if _, err := s.Apply(cmdCreateNetwork("bad", tc.spec)); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := s.Apply(cmdCreateNetwork("neta", &swarmv1.NetworkSpec{Name: "again"})); !errors.Is(err, ErrExists) {
		t.Errorf("same ID twice: %v", err)
	}
	if !proto.Equal(before, s.Snapshot()) {
		t.Errorf("refused creates changed the state")
	}

	// In use: the reservation holds the network's ID, found by name or ID.
	res := mustApply(t, s, cmdReserve("svc1", "web", "skynet", "netb", "skynet"))
	if len(res.NetworkIds) != 2 || res.NetworkIds[0] != "neta" || res.NetworkIds[1] != "netb" {
		t.Errorf("reservation networks: %v", res.NetworkIds)
	}
	if _, err := s.Apply(cmdReserve("svc2", "db", "nope")); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown network: %v", err)
	}
	if _, err := s.Apply(cmdRemoveNetwork("neta")); !errors.Is(err, ErrConflict) || err.Error() != "network skynet is in use by service web: conflict" {
		t.Errorf("remove in use: %v", err)
	}
	mustApply(t, s, &swarmv1.Command{Cmd: &swarmv1.Command_ReleaseService{ReleaseService: &swarmv1.ReleaseService{ServiceId: "svc1"}}})
	mustApply(t, s, cmdRemoveNetwork("neta"))
	if _, err := s.Apply(cmdRemoveNetwork("neta")); !errors.Is(err, ErrNotFound) {
		t.Errorf("remove twice: %v", err)
	}
	// Its subnet and VNI are free again.
	f := mustApply(t, s, cmdCreateNetwork("netf", &swarmv1.NetworkSpec{Name: "again"})).Network
	if f.Subnet != "10.0.0.0/24" || f.Vni != FirstVNI {
		t.Errorf("after rm: %v", f)
	}

	// Snapshots keep networks; bad ones are refused.
	snap := s.Snapshot()
	r := NewStore()
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(snap, r.Snapshot()) {
		t.Errorf("networks do not survive a snapshot")
	}
	bad := proto.Clone(snap).(*swarmv1.Snapshot)
	bad.Networks = append(bad.Networks, proto.Clone(bad.Networks[0]).(*swarmv1.Network))
	if err := NewStore().Restore(bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("a network twice: %v", err)
	}
	bad.Networks = bad.Networks[:len(bad.Networks)-1]
	bad.Networks[0].Subnet = "nonsense"
	if err := NewStore().Restore(bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("a bad subnet: %v", err)
	}
}

func TestStoreFindNetwork(t *testing.T) {
	s := storeAfter(t, storeFixture()...)
	mustApply(t, s, cmdCreateNetwork("abc1", &swarmv1.NetworkSpec{Name: "one"}))
	mustApply(t, s, cmdCreateNetwork("abc2", &swarmv1.NetworkSpec{Name: "two"}))
	for ref, want := range map[string]string{"abc1": "one", "two": "two", "abc2": "two"} {
		n, err := s.FindNetwork(ref)
		if err != nil || n.Spec.Name != want {
			t.Errorf("FindNetwork(%q) = %v, %v; want %s", ref, n, err, want)
		}
	}
	if _, err := s.FindNetwork("abc"); !errors.Is(err, ErrConflict) {
		t.Errorf("ambiguous prefix: %v", err)
	}
	if _, err := s.FindNetwork("zzz"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	if names := s.Networks(); len(names) != 2 || names[0].Spec.Name != "one" {
		t.Errorf("Networks() = %v", names)
	}
}

func cmdAllocate(reqs ...*swarmv1.AttachmentRequest) *swarmv1.Command {
	return &swarmv1.Command{Cmd: &swarmv1.Command_AllocateAttachments{AllocateAttachments: &swarmv1.AllocateAttachments{Requests: reqs}}}
}

func attachReq(task string, nets ...string) *swarmv1.AttachmentRequest {
	return &swarmv1.AttachmentRequest{TaskId: task, ServiceId: "svc", ServiceName: "web", Slot: 1, NodeId: "n1", NetworkIds: nets}
}

func addrsOf(as []*swarmv1.Attachment) string {
	var out []string
	for _, a := range as {
		out = append(out, a.TaskId+"@"+a.NetworkId+"="+a.Address)
	}
	return strings.Join(out, " ")
}

// TestStoreAttachments covers task addresses: the lowest free host
// address, the gateway skipped, one per network, kept by a task, freed on
// release, exhaustion refused whole, dropped with their network, and
// carried by snapshots.
func TestStoreAttachments(t *testing.T) {
	s := storeAfter(t, storeFixture()...)
	mustApply(t, s, cmdCreateNetwork("a", &swarmv1.NetworkSpec{Name: "a"}))
	mustApply(t, s, cmdCreateNetwork("b", &swarmv1.NetworkSpec{Name: "b", Subnet: "192.168.9.0/29", Gateway: "192.168.9.6"}))
	res := mustApply(t, s, cmdAllocate(attachReq("t1", "a", "b"), attachReq("t2", "a")))
	if got := addrsOf(res.Attachments); got != "t1@a=10.0.0.2 t1@b=192.168.9.1 t2@a=10.0.0.3" {
		t.Errorf("allocated %s", got)
	}
	if res.Attachments[0].ServiceName != "web" || res.Attachments[0].NodeId != "n1" || res.Attachments[0].Slot != 1 {
		t.Errorf("attachment lacks its task's facts: %v", res.Attachments[0])
	}
	// A task asking again keeps its addresses.
	if got := addrsOf(mustApply(t, s, cmdAllocate(attachReq("t1", "a", "b"))).Attachments); got != "t1@a=10.0.0.2 t1@b=192.168.9.1" {
		t.Errorf("again: %s", got)
	}
	mustApply(t, s, &swarmv1.Command{Cmd: &swarmv1.Command_ReleaseAttachments{ReleaseAttachments: &swarmv1.ReleaseAttachments{TaskIds: []string{"t1", "unknown"}}}})
	if got := addrsOf(mustApply(t, s, cmdAllocate(attachReq("t3", "a", "b"))).Attachments); got != "t3@a=10.0.0.2 t3@b=192.168.9.1" {
		t.Errorf("after release: %s", got)
	}
	// b (a /29 with its gateway at .6) has .1-.5: four more fit, not five.
	mustApply(t, s, cmdAllocate(attachReq("t4", "b"), attachReq("t5", "b"), attachReq("t6", "b")))
	before := proto.Clone(s.Snapshot())
	if _, err := s.Apply(cmdAllocate(attachReq("t7", "b"), attachReq("t8", "b"))); !errors.Is(err, ErrConflict) {
		t.Errorf("exhausted network: %v", err)
	}
	if _, err := s.Apply(cmdAllocate(attachReq("t9", "nope"))); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown network: %v", err)
	}
	if _, err := s.Apply(cmdAllocate(attachReq("", "a"))); !errors.Is(err, ErrInvalid) {
		t.Errorf("no task ID: %v", err)
	}
	if !proto.Equal(before, s.Snapshot()) {
		t.Errorf("a refused allocation changed the state")
	}

	snap := s.Snapshot()
	r := NewStore()
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(snap, r.Snapshot()) || addrsOf(r.AttachmentsOf("t3")) != "t3@a=10.0.0.2 t3@b=192.168.9.1" {
		t.Errorf("attachments do not survive a snapshot")
	}
	bad := proto.Clone(snap).(*swarmv1.Snapshot)
	bad.Attachments[1].Address = bad.Attachments[0].Address
	bad.Attachments[1].NetworkId = bad.Attachments[0].NetworkId
	if err := NewStore().Restore(bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("an address held twice: %v", err)
	}

	// Removing a network takes its addresses along.
	mustApply(t, s, cmdRemoveNetwork("b"))
	if got := addrsOf(s.AttachmentsOf("t3")); got != "t3@a=10.0.0.2" {
		t.Errorf("after network rm: %s", got)
	}
	if err := NewStore().Restore(s.Snapshot()); err != nil {
		t.Errorf("snapshot after network rm: %v", err)
	}
}

// TestStoreAttachmentsGrow: a holder asking again with one more network
// keeps its addresses and gets one on the new network.
func TestStoreAttachmentsGrow(t *testing.T) {
	s := storeAfter(t, storeFixture()...)
	mustApply(t, s, cmdCreateNetwork("a", &swarmv1.NetworkSpec{Name: "a"}))
	mustApply(t, s, cmdAllocate(attachReq("node:n1", "a")))
	mustApply(t, s, cmdCreateNetwork("b", &swarmv1.NetworkSpec{Name: "b"}))
	if got := addrsOf(mustApply(t, s, cmdAllocate(attachReq("node:n1", "a", "b"))).Attachments); got != "node:n1@a=10.0.0.2 node:n1@b=10.0.1.2" {
		t.Errorf("grown: %s", got)
	}
	if got := addrsOf(mustApply(t, s, cmdAllocate(attachReq("empty"))).Attachments); got != "" || len(s.AttachmentsOf("empty")) != 0 {
		t.Errorf("no networks: %q", got)
	}
}

func cmdPortErrors(node string, errs map[string]string) *swarmv1.Command {
	return &swarmv1.Command{NowUnixNano: 7000, Cmd: &swarmv1.Command_SetNodePortErrors{SetNodePortErrors: &swarmv1.SetNodePortErrors{NodeId: node, PortErrors: errs}}}
}

// TestStoreNodePortErrors: a node's unbindable ports are recorded, cut to
// a bounded size, cleared, and bad reports change nothing.
func TestStoreNodePortErrors(t *testing.T) {
	s := storeAfter(t, storeFixture()...)
	long := strings.Repeat("x", 1000)
	n := mustApply(t, s, cmdPortErrors(fixW1, map[string]string{"80/tcp": "address already in use", "53/udp": long})).Node
	if n.Status.PortErrors["80/tcp"] != "address already in use" || len(n.Status.PortErrors["53/udp"]) != maxPortErrorLen {
		t.Errorf("recorded %v", n.Status.PortErrors)
	}
	before := proto.Clone(s.Snapshot())
	tooMany := map[string]string{}
	for i := range maxPortErrors + 1 {
		tooMany[fmt.Sprintf("%d/tcp", i)] = "e"
	}
	for name, c := range map[string]*swarmv1.Command{
		"unknown node": cmdPortErrors("nope", map[string]string{"80/tcp": "e"}),
		"empty port":   cmdPortErrors(fixW1, map[string]string{"": "e"}),
		"long port":    cmdPortErrors(fixW1, map[string]string{strings.Repeat("9", 20): "e"}),
		"too many":     cmdPortErrors(fixW1, tooMany),
	} {
		if _, err := s.Apply(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if !proto.Equal(before, s.Snapshot()) {
		t.Errorf("refused reports changed the state")
	}
	if n := mustApply(t, s, cmdPortErrors(fixW1, nil)).Node; len(n.Status.PortErrors) != 0 {
		t.Errorf("not cleared: %v", n.Status.PortErrors)
	}
}
