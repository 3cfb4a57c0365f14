package actors

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/internal/clock"
	"github.com/actorswarm/swarm/internal/tick"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// HealthControl is what the failure detector needs of its manager.
type HealthControl interface {
	// IsControlLeader reports whether this manager leads the control shard:
	// only the leader proposes verdicts.
	IsControlLeader() bool
	// Nodes returns the nodes as this replica knows them.
	Nodes() []*swarmv1.Node
	// Node returns one node as this replica knows it.
	Node(id string) (*swarmv1.Node, bool)
	// Peers lists the managers.
	Peers() []*swarmv1.Peer
	// HeartbeatPeriod is the swarm's heartbeat period.
	HeartbeatPeriod() time.Duration
	// DeploymentID identifies the Raft deployment this manager is part of.
	DeploymentID() uint64
	// SelfID is this manager's node ID.
	SelfID() string
	// ProposeStates commits verdicts; it blocks.
	ProposeStates(ctx context.Context, changes []*swarmv1.NodeStateChange) error
	// MeshVersion is the version of the routing mesh this manager knows.
	MeshVersion() string
}

// Grace is how long a node may stay silent before it is Down: three
// heartbeat periods plus a margin for scheduling jitter on a loaded host.
func Grace(period time.Duration) time.Duration {
	return 3*period + 300*time.Millisecond
}

type (
	healthTick    struct{}
	verdictsDone  struct{}
	healthStopped struct{}
)

// Health is the failure detector of one manager. Every manager records the
// heartbeats it receives; the one leading the control shard turns silences
// into Down verdicts and resumed heartbeats into Ready ones, and proposes
// them in one Raft entry per tick.
type Health struct {
	ctl         HealthControl
	clock       clock.Clock
	lastSeen    map[string]time.Time
	left        map[string]bool
	leading     bool
	leaderSince time.Time
	inflight    bool
	stop        func()
}

// NewHealth returns a failure detector reading time from clk.
func NewHealth(ctl HealthControl, clk clock.Clock) *Health {
	return &Health{ctl: ctl, clock: clk, lastSeen: make(map[string]time.Time), left: make(map[string]bool)}
}

// Receive implements actor.Actor.
func (h *Health) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		h.onStarted(ctx)
	case *actor.Stopping:
		h.onStopping()
	case *swarmv1.Heartbeat:
		h.onHeartbeat(ctx, msg)
	case *swarmv1.NodeLeft:
		h.onNodeLeft(msg)
	case *healthTick:
		h.onTick(ctx)
	case *verdictsDone:
		h.inflight = false
	}
}

func (h *Health) onStarted(ctx actor.Context) {
	h.stop = tick.Every(ctx.ActorSystem().Root, ctx.Self(), h.ctl.HeartbeatPeriod()/2, &healthTick{})
}

func (h *Health) onStopping() {
	if h.stop != nil {
		h.stop()
		h.stop = nil
	}
}

func (h *Health) onHeartbeat(ctx actor.Context, hb *swarmv1.Heartbeat) {
	h.Record(hb.GetNodeId())
	ack := &swarmv1.HeartbeatAck{
		Managers:            h.ctl.Peers(),
		DeploymentId:        h.ctl.DeploymentID(),
		HeartbeatPeriodNano: int64(h.ctl.HeartbeatPeriod()),
		Authoritative:       h.ctl.IsControlLeader(),
		ManagerId:           h.ctl.SelfID(),
		Seq:                 hb.GetSeq(),
	}
	if ack.Authoritative {
		ack.MeshVersion = h.ctl.MeshVersion()
	}
	if n, ok := h.ctl.Node(hb.GetNodeId()); ok {
		ack.Role = n.Role
	} else {
		ack.UnknownNode = true
	}
	if ctx.Sender() != nil {
		ctx.Respond(ack)
	}
}

// Record notes a heartbeat from node id now.
func (h *Health) Record(id string) {
	h.lastSeen[id] = h.clock.Now()
	delete(h.left, id)
}

func (h *Health) onNodeLeft(msg *swarmv1.NodeLeft) {
	delete(h.lastSeen, msg.GetNodeId())
	h.left[msg.GetNodeId()] = true
}

func (h *Health) onTick(ctx actor.Context) {
	changes := h.Verdicts()
	if len(changes) == 0 {
		return
	}
	h.inflight = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func() {
		c, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = h.ctl.ProposeStates(c, changes)
		root.Send(self, &verdictsDone{})
	}()
}

// Verdicts returns the state changes to propose now, or nil when this
// manager does not lead, a proposal is still in flight, or nothing changed.
// A manager that just became leader gives every node a full grace period
// from that moment, since it may have missed heartbeats before, and a node
// it never heard from two.
func (h *Health) Verdicts() []*swarmv1.NodeStateChange {
	now := h.clock.Now()
	if !h.ctl.IsControlLeader() {
		h.leading = false
		return nil
	}
	if !h.leading {
		h.leading, h.leaderSince = true, now
	}
	if h.inflight {
		return nil
	}
	grace := Grace(h.ctl.HeartbeatPeriod())
	var out []*swarmv1.NodeStateChange
	const leftMsg = "node left the swarm"
	for _, n := range h.ctl.Nodes() {
		last, heard := h.lastSeen[n.Id]
		recent := heard && now.Sub(last) <= grace
		// A node gets a full grace period from when this manager started
		// leading and from its last state change (e.g. it just joined).
		// A change stamped after now is ignored: the manager that made it
		// had a clock ahead of this one's, or this one's went back, and
		// the node would be spared for as long as they disagree.
		since := h.leaderSince
		if changed := time.Unix(0, n.GetStatus().GetUpdatedUnixNano()); changed.After(since) && !changed.After(now) {
			since = changed
		}
		starting := now.Sub(since) <= grace
		// A node this manager never heard from gets twice that from when
		// it started leading (Docker Swarm does the same for nodes of
		// unknown state): after a restart of the whole swarm, a worker's
		// daemon may come up a while after the manager's, and it would
		// lose its tasks for nothing.
		if !heard && now.Sub(h.leaderSince) <= 2*grace {
			starting = true
		}
		state := n.GetStatus().GetState()
		switch {
		case h.left[n.Id]:
			if state != swarmv1.NodeState_NODE_STATE_DOWN || n.GetStatus().GetMessage() != leftMsg {
				out = append(out, &swarmv1.NodeStateChange{NodeId: n.Id, State: swarmv1.NodeState_NODE_STATE_DOWN, Message: leftMsg})
			}
		case state != swarmv1.NodeState_NODE_STATE_DOWN && !recent && !starting:
			out = append(out, &swarmv1.NodeStateChange{NodeId: n.Id, State: swarmv1.NodeState_NODE_STATE_DOWN, Message: "heartbeat failure"})
		case state != swarmv1.NodeState_NODE_STATE_READY && recent:
			out = append(out, &swarmv1.NodeStateChange{NodeId: n.Id, State: swarmv1.NodeState_NODE_STATE_READY})
		}
	}
	return out
}
