package actors

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/actors/task"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// ackEngine is a NodeEngine that records the acks handed to it.
type ackEngine struct {
	acks chan *swarmv1.HeartbeatAck
	// hold, when set, keeps OnHeartbeatAck waiting until it is closed,
	// then the ack is recorded only if it is not stale by then.
	hold chan struct{}
}

func (e *ackEngine) NodeID() string                { return "n1" }
func (e *ackEngine) ManagerPeers() []*swarmv1.Peer { return nil }
func (e *ackEngine) NoteAck(string)                {}
func (e *ackEngine) OnHeartbeatAck(a *swarmv1.HeartbeatAck, stale func() bool) {
	if e.hold != nil {
		<-e.hold
	}
	if !stale() {
		e.acks <- a
	}
}
func (e *ackEngine) BecomeManager(context.Context, *swarmv1.BecomeManager) error { return nil }
func (e *ackEngine) BecomeWorker(context.Context, *swarmv1.BecomeWorker) error   { return nil }
func (e *ackEngine) Runtime(string) task.Runtime                                 { return nil }
func (e *ackEngine) FreePort() (uint32, error)                                   { return 0, nil }
func (e *ackEngine) Addr() string                                                { return "" }
func (e *ackEngine) LBRegistry() *LBRegistry                                     { return nil }
func (e *ackEngine) Networker() task.Networker                                   { return nil }
func (e *ackEngine) OverlayUpdate([]*swarmv1.MeshNetwork)                        {}
func (e *ackEngine) OverlayNode([]*swarmv1.Attachment)                           {}

// TestNodeIgnoresStaleRoleAcks: an ack of a heartbeat sent before the node
// was promoted must not demote it again; acks of later heartbeats count.
func TestNodeIgnoresStaleRoleAcks(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	eng := &ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4)}
	pid := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return NewNode(eng, time.Hour) }))
	system.Root.Send(pid, &heartbeatTick{}) // seq 1
	system.Root.Send(pid, &heartbeatTick{}) // seq 2
	if _, err := system.Root.RequestFuture(pid, &swarmv1.BecomeManager{}, 5*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	worker := swarmv1.NodeRole_NODE_ROLE_WORKER
	system.Root.Send(pid, &swarmv1.HeartbeatAck{Authoritative: true, Seq: 2, Role: worker})
	system.Root.Send(pid, &swarmv1.HeartbeatAck{Authoritative: true, Seq: 3, Role: swarmv1.NodeRole_NODE_ROLE_MANAGER})
	select {
	case a := <-eng.acks:
		if a.GetSeq() != 3 {
			t.Fatalf("the ack of heartbeat %d, sent before the promotion, reached the engine", a.GetSeq())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the ack of a heartbeat sent after the promotion never reached the engine")
	}
}

// TestNodeIgnoresAckThatWaitedOutAPromotion: an ack accepted before the
// promotion reached the node, but handled by the engine only after it (it
// waited for the engine's lock while the replicas started), must not demote
// the node: in CI a node was promoted and demoted itself 1 ms later.
func TestNodeIgnoresAckThatWaitedOutAPromotion(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	eng := &ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4), hold: make(chan struct{})}
	pid := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return NewNode(eng, time.Hour) }))
	system.Root.Send(pid, &heartbeatTick{}) // seq 1
	system.Root.Send(pid, &swarmv1.HeartbeatAck{Authoritative: true, Seq: 1, Role: swarmv1.NodeRole_NODE_ROLE_WORKER})
	if _, err := system.Root.RequestFuture(pid, &swarmv1.BecomeManager{}, 5*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	close(eng.hold)
	select {
	case a := <-eng.acks:
		t.Fatalf("the ack of heartbeat %d, sent before the promotion, was handled as current", a.GetSeq())
	case <-time.After(200 * time.Millisecond):
	}
}

// syncEngine is an ackEngine whose managers are one local dispatcher.
type syncEngine struct{ ackEngine }

func (e *syncEngine) ManagerPeers() []*swarmv1.Peer {
	return []*swarmv1.Peer{{NodeId: "m1", GatewayAddr: "nonhost"}}
}

// failingDispatcher answers its first sync with an error and passes on
// the syncs it gets.
type failingDispatcher struct {
	syncs chan *swarmv1.TaskSyncRequest
	n     int
}

func (d *failingDispatcher) Receive(ctx actor.Context) {
	req, ok := ctx.Message().(*swarmv1.TaskSyncRequest)
	if !ok {
		return
	}
	d.n++
	d.syncs <- req
	if d.n == 1 {
		ctx.Respond(&swarmv1.TaskSyncResponse{Error: "read barrier on shard 3: timeout"})
		return
	}
	ctx.Respond(&swarmv1.TaskSyncResponse{Delta: req.GetDelta()})
}

// TestNodeRetriesAFailedSyncAtTheNextTick: a poke's sync that fails is
// sent again at the next heartbeat tick, with the poke's shard, not only
// at the periodic sync ten ticks later.
func TestNodeRetriesAFailedSyncAtTheNextTick(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	d := &failingDispatcher{syncs: make(chan *swarmv1.TaskSyncRequest, 4)}
	if _, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return d }), DispatcherName); err != nil {
		t.Fatal(err)
	}
	eng := &syncEngine{ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4)}}
	pid := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return NewNode(eng, time.Hour) }))
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3})
	select {
	case <-d.syncs:
	case <-time.After(5 * time.Second):
		t.Fatal("no sync after the poke")
	}
	time.Sleep(100 * time.Millisecond)      // the error answer is handled
	system.Root.Send(pid, &heartbeatTick{}) // tick 1 of 10
	select {
	case req := <-d.syncs:
		if !slices.Equal(req.GetFreshShards(), []uint64{3}) {
			t.Errorf("the retry names shards %v, want [3]", req.GetFreshShards())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the failed sync was not sent again at the next tick")
	}
}
