package actors

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/actors/task"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// NodeEngine is what the node actor needs of its swarmd.
type NodeEngine interface {
	// NodeID is this node's ID ("" while unjoined: no heartbeats then).
	NodeID() string
	// ManagerPeers lists the managers to heartbeat to.
	ManagerPeers() []*swarmv1.Peer
	// NoteAck records that a manager answered; it must not block.
	NoteAck(managerID string)
	// OnHeartbeatAck takes a manager's view of the swarm and of this node;
	// it may block (a demotion stops Raft). stale reports whether a role
	// change reached this node after the acknowledged heartbeat left: the
	// engine asks it once it holds what serializes role changes, since an
	// ack may wait there while a promotion runs.
	OnHeartbeatAck(ack *swarmv1.HeartbeatAck, stale func() bool)
	// BecomeManager starts this node's Raft replicas; it blocks.
	BecomeManager(ctx context.Context, msg *swarmv1.BecomeManager) error
	// BecomeWorker stops them; it blocks.
	BecomeWorker(ctx context.Context, msg *swarmv1.BecomeWorker) error
	// Runtime returns the runtime of that name, nil when this node does not
	// offer it.
	Runtime(name string) task.Runtime
	// FreePort returns a free host port for a task's $PORT.
	FreePort() (uint32, error)
	// Addr is this node's IP, where its published ports listen; empty for
	// a simulated node, which serves no published port and no overlay.
	Addr() string
	// LBRegistry is where this node's lb actors list their counters for
	// /metrics; nil when nothing reads them.
	LBRegistry() *LBRegistry
	// Networker plumbs tasks attached to overlay networks; nil when this
	// node cannot.
	Networker() task.Networker
	// OverlayUpdate gives the overlay networks of the mesh, with their
	// endpoints, to this host's forwarder and name servers.
	OverlayUpdate(nets []*swarmv1.MeshNetwork)
	// OverlayNode gives this node its own addresses on overlay networks:
	// the networks are set up here for its load balancers; it may block.
	OverlayNode(as []*swarmv1.Attachment)
}

// heartbeatTick makes the node actor send its heartbeats. Local only.
type heartbeatTick struct{}

// Node is this host's actor: it heartbeats to every manager and carries out
// role changes the managers order. The ticker goroutine only sends ticks;
// acks that may block are handled in goroutines, one at a time.
type Node struct {
	eng    NodeEngine
	period atomic.Int64
	seq    uint64
	// roleSeq is the seq of the first heartbeat sent after the last role
	// change this node was told of; ack goroutines read it.
	roleSeq atomic.Uint64
	stop    chan struct{}
	acking  atomic.Bool
	tasks   nodeTasks
	ended   []string
	// runnerProps spawns every runner of the node, handing over spawning
	// (see spawnRunner).
	runnerProps *actor.Props
	spawning    actor.Actor
}

var _ actor.SupervisorStrategy = (*Node)(nil)

// NewNode returns a node actor heartbeating every period.
func NewNode(eng NodeEngine, period time.Duration) *Node {
	n := &Node{eng: eng, tasks: newNodeTasks()}
	n.period.Store(int64(period))
	return n
}

// Receive implements actor.Actor.
func (n *Node) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		n.onStarted(ctx)
	case *actor.Stopping:
		n.onStopping()
	case *heartbeatTick:
		n.onTick(ctx)
	case *swarmv1.HeartbeatAck:
		n.onAck(ctx, msg)
	case *swarmv1.BecomeManager:
		n.onBecomeManager(ctx, msg)
	case *swarmv1.BecomeWorker:
		n.onBecomeWorker(ctx, msg)
	case *swarmv1.TasksChanged:
		n.onTasksChanged(ctx, msg)
	case *drained:
		n.onDrained(ctx, msg)
	case *lbStatus:
		n.onLBStatus(ctx, msg)
	case *task.Report:
		n.onReport(ctx, msg)
	case *syncReports:
		n.onSyncReports(ctx)
	case *swarmv1.TaskLogsRequest:
		n.onLogs(ctx, msg)
	}
}

func (n *Node) onStarted(ctx actor.Context) {
	n.stop = make(chan struct{})
	self, root, stop := ctx.Self(), ctx.ActorSystem().Root, n.stop
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(n.period.Load())):
				root.Send(self, &heartbeatTick{})
			}
		}
	}()
}

func (n *Node) onStopping() {
	if n.stop != nil {
		close(n.stop)
		n.stop = nil
	}
}

func (n *Node) onTick(ctx actor.Context) {
	id := n.eng.NodeID()
	if id == "" {
		return
	}
	n.seq++
	hb := &swarmv1.Heartbeat{NodeId: id, Seq: n.seq}
	for _, p := range n.eng.ManagerPeers() {
		ctx.Request(actor.NewPID(p.GatewayAddr, HealthName), hb)
	}
	n.onTaskTick(ctx)
}

func (n *Node) onAck(ctx actor.Context, ack *swarmv1.HeartbeatAck) {
	if p := ack.GetHeartbeatPeriodNano(); p > 0 {
		n.period.Store(p)
	}
	n.eng.NoteAck(ack.GetManagerId())
	if !ack.GetAuthoritative() {
		return
	}
	if n.staleAck(ack) {
		// It answers a heartbeat sent before the last role change: what
		// it says of this node's role is out of date.
		return
	}
	// The routing mesh moved: fetch it now rather than at the next
	// periodic sync, so that no lb keeps a stopped task for long.
	if v := ack.GetMeshVersion(); v != "" && v != n.tasks.mesh.GetVersion() {
		n.sync(ctx)
	}
	// Acks come from every manager every period; one in flight is enough.
	if !n.acking.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer n.acking.Store(false)
		n.eng.OnHeartbeatAck(ack, func() bool { return n.staleAck(ack) })
	}()
}

func (n *Node) staleAck(ack *swarmv1.HeartbeatAck) bool {
	s := ack.GetSeq()
	return s != 0 && s < n.roleSeq.Load()
}

func (n *Node) onBecomeManager(ctx actor.Context, msg *swarmv1.BecomeManager) {
	n.roleSeq.Store(n.seq + 1)
	sender, root := ctx.Sender(), ctx.ActorSystem().Root
	go func() {
		c, cancel := context.WithTimeout(context.Background(), RequestTimeout/2)
		defer cancel()
		root.Send(sender, roleChanged(n.eng.BecomeManager(c, msg)))
	}()
}

func (n *Node) onBecomeWorker(ctx actor.Context, msg *swarmv1.BecomeWorker) {
	n.roleSeq.Store(n.seq + 1)
	sender, root := ctx.Sender(), ctx.ActorSystem().Root
	go func() {
		c, cancel := context.WithTimeout(context.Background(), RequestTimeout/2)
		defer cancel()
		root.Send(sender, roleChanged(n.eng.BecomeWorker(c, msg)))
	}()
}

func roleChanged(err error) *swarmv1.RoleChanged {
	if err != nil {
		return &swarmv1.RoleChanged{Error: err.Error()}
	}
	return &swarmv1.RoleChanged{}
}
