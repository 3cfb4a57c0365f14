package daemon

import (
	"io"
	"log/slog"
	"testing"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// TestAckDemotesAfterGrace: an ack of this node's deployment that says
// this manager is a worker does not stop its replicas at once (the leader
// may still need their vote to remove them), only once acks have said so
// for demoteAckGrace; an ack that says manager meanwhile starts the wait
// again. An ack of another deployment stops them at once.
func TestAckDemotesAfterGrace(t *testing.T) {
	d := &Daemon{
		paths: paths{dir: t.TempDir()},
		log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		id:    &identity{NodeID: "n2", Manager: true, ReplicaID: 2, DeploymentID: 7},
	}
	fresh := func() bool { return false }
	worker := &swarmv1.HeartbeatAck{Role: swarmv1.NodeRole_NODE_ROLE_WORKER, DeploymentId: 7}
	manager := &swarmv1.HeartbeatAck{Role: swarmv1.NodeRole_NODE_ROLE_MANAGER, DeploymentId: 7}

	d.OnHeartbeatAck(worker, fresh)
	if !d.id.Manager {
		t.Fatal("the first ack saying worker stopped the replicas")
	}
	first := d.toldWorker
	d.OnHeartbeatAck(worker, fresh)
	if !d.id.Manager || d.toldWorker != first {
		t.Fatalf("a second ack within the grace: manager %v, told at %v (first %v)", d.id.Manager, d.toldWorker, first)
	}
	d.OnHeartbeatAck(manager, fresh)
	if !d.toldWorker.IsZero() {
		t.Fatal("an ack saying manager did not start the wait again")
	}

	d.OnHeartbeatAck(worker, fresh)
	d.toldWorker = d.toldWorker.Add(-demoteAckGrace)
	d.OnHeartbeatAck(worker, fresh)
	if d.id.Manager || d.id.ReplicaID != 0 {
		t.Fatalf("acks said worker for the grace: manager %v, replica %d; want a worker", d.id.Manager, d.id.ReplicaID)
	}
	if !d.toldWorker.IsZero() {
		t.Error("the wait was not reset once a worker")
	}
	// A stale ack says nothing.
	d.id.Manager, d.id.ReplicaID = true, 3
	d.OnHeartbeatAck(worker, func() bool { return true })
	if !d.toldWorker.IsZero() {
		t.Error("a stale ack started the wait")
	}
	// Another deployment's: at once.
	d.OnHeartbeatAck(&swarmv1.HeartbeatAck{Role: swarmv1.NodeRole_NODE_ROLE_WORKER, DeploymentId: 8}, fresh)
	if d.id.Manager {
		t.Error("an ack of another deployment saying worker did not stop the replicas at once")
	}
}
