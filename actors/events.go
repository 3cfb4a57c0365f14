package actors

import (
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/cluster"
	"github.com/actorswarm/swarm/internal/tick"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// EventsName is the events actor's name on every manager.
const EventsName = "events"

// keptEvents is how many events a manager keeps for `swarmctl events`.
const keptEvents = 10000

// EventSource is what the events actor reads of its manager: names for
// the IDs in applied entries, and the control shard's leader.
type EventSource interface {
	// Node returns a node as this replica knows it; read only.
	Node(id string) (*swarmv1.Node, bool)
	// Tasks returns the identities (ID, service and its name, slot, node)
	// of the tasks ids of shard as this replica knows them, by ID.
	Tasks(shard uint64, ids []string) map[string]*swarmv1.Task
	// ServiceName returns a service's name.
	ServiceName(id string) string
	// LeaderNodeID returns the node leading the control shard ("" when
	// there is none).
	LeaderNodeID() string
}

type leaderTick struct{}

// Events records what happens in the swarm, from the entries this manager
// applies (node states and roles, services, task states) and from the
// leadership of the control shard, in a bounded ring that `swarmctl
// events` reads. Its state belongs to its Receive.
type Events struct {
	src    EventSource
	ring   []*swarmv1.Event
	next   uint64
	leader string
	stop   func()
}

// NewEvents returns the events actor.
func NewEvents(src EventSource) *Events { return &Events{src: src} }

// Receive implements actor.Actor.
func (e *Events) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		e.stop = tick.Every(ctx.ActorSystem().Root, ctx.Self(), 100*time.Millisecond, &leaderTick{})
	case *actor.Stopping:
		if e.stop != nil {
			e.stop()
		}
	case *leaderTick:
		e.onLeaderTick()
	case *cluster.Applied:
		e.Record(msg)
	case *swarmv1.EventsRequest:
		e.onRequest(ctx, msg)
	}
}

func (e *Events) add(at int64, typ, action, id string, attrs map[string]string) {
	e.next++
	if at == 0 {
		at = time.Now().UnixNano()
	}
	e.ring = append(e.ring, &swarmv1.Event{Id: e.next, TimeUnixNano: at, Type: typ, Action: action, ActorId: id, Attributes: attrs})
	if len(e.ring) > keptEvents {
		e.ring = e.ring[len(e.ring)-keptEvents:]
	}
}

func (e *Events) onLeaderTick() {
	l := e.src.LeaderNodeID()
	if l == e.leader || l == "" {
		return
	}
	e.leader = l
	attrs := map[string]string{}
	if n, ok := e.src.Node(l); ok {
		attrs["name"] = n.GetDescription().GetHostname()
	}
	e.add(0, "raft", "leader", l, attrs)
}

func lower(s string, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(s, prefix))
}

// Record turns an applied entry into events.
func (e *Events) Record(a *cluster.Applied) {
	at := a.Command.GetNowUnixNano()
	nodeAttrs := func(id string) map[string]string {
		attrs := map[string]string{}
		if n, ok := e.src.Node(id); ok {
			attrs["name"] = n.GetDescription().GetHostname()
		}
		return attrs
	}
	switch c := a.Command.Cmd.(type) {
	case *swarmv1.Command_AddNode:
		e.add(at, "node", "create", a.Result.GetNode().GetId(), nodeAttrs(a.Result.GetNode().GetId()))
	case *swarmv1.Command_RemoveNode:
		e.add(at, "node", "remove", c.RemoveNode.GetNodeId(), map[string]string{"name": a.Result.GetNode().GetDescription().GetHostname()})
	case *swarmv1.Command_SetNodeStates:
		for _, ch := range c.SetNodeStates.GetChanges() {
			attrs := nodeAttrs(ch.GetNodeId())
			attrs["state.new"] = lower(ch.GetState().String(), "NODE_STATE_")
			if ch.GetMessage() != "" {
				attrs["message"] = ch.GetMessage()
			}
			e.add(at, "node", "update", ch.GetNodeId(), attrs)
		}
	case *swarmv1.Command_SetNodeRole:
		attrs := nodeAttrs(c.SetNodeRole.GetNodeId())
		attrs["role.new"] = lower(c.SetNodeRole.GetRole().String(), "NODE_ROLE_")
		e.add(at, "node", "update", c.SetNodeRole.GetNodeId(), attrs)
	case *swarmv1.Command_UpdateNodeSpec:
		attrs := nodeAttrs(c.UpdateNodeSpec.GetNodeId())
		if av := c.UpdateNodeSpec.GetAvailability(); av != swarmv1.NodeAvailability_NODE_AVAILABILITY_UNSPECIFIED {
			attrs["availability.new"] = lower(av.String(), "NODE_AVAILABILITY_")
		}
		e.add(at, "node", "update", c.UpdateNodeSpec.GetNodeId(), attrs)
	case *swarmv1.Command_CreateService:
		svc := a.Result.GetService()
		e.add(at, "service", "create", svc.GetId(), map[string]string{"name": svc.GetSpec().GetName()})
	case *swarmv1.Command_UpdateService:
		svc := a.Result.GetService()
		attrs := map[string]string{"name": svc.GetSpec().GetName()}
		if us := c.UpdateService.GetUpdateStatus(); us != nil {
			attrs["updatestate.new"] = lower(us.GetState().String(), "UPDATE_STATE_")
		}
		e.add(at, "service", "update", svc.GetId(), attrs)
	case *swarmv1.Command_RemoveService:
		e.add(at, "service", "remove", c.RemoveService.GetServiceId(), map[string]string{"name": a.Result.GetService().GetSpec().GetName()})
	case *swarmv1.Command_TaskBatch:
		e.recordTasks(at, a.ShardID, c.TaskBatch)
	}
}

func (e *Events) taskAttrs(t *swarmv1.Task) map[string]string {
	attrs := map[string]string{}
	if t == nil {
		return attrs
	}
	name := t.ServiceName + "." + strconv.FormatUint(t.Slot, 10)
	if t.Slot == 0 {
		name = t.ServiceName + "." + t.NodeId
	}
	attrs["name"], attrs["service"] = name, t.ServiceName
	if n, ok := e.src.Node(t.NodeId); ok {
		attrs["node"] = n.GetDescription().GetHostname()
	}
	return attrs
}

func (e *Events) recordTasks(at int64, shard uint64, b *swarmv1.TaskBatch) {
	ids := make([]string, 0, len(b.GetCreate())+len(b.GetStatus())+len(b.GetDesire()))
	for _, t := range b.GetCreate() {
		ids = append(ids, t.GetId())
	}
	for _, u := range b.GetStatus() {
		ids = append(ids, u.GetTaskId())
	}
	for _, d := range b.GetDesire() {
		ids = append(ids, d.GetTaskId())
	}
	tasks := e.src.Tasks(shard, ids)
	for _, t := range b.GetCreate() {
		attrs := e.taskAttrs(tasks[t.GetId()])
		attrs["state.new"] = lower(t.GetStatus().GetState().String(), "TASK_STATE_")
		e.add(at, "task", "create", t.GetId(), attrs)
	}
	for _, u := range b.GetStatus() {
		attrs := e.taskAttrs(tasks[u.GetTaskId()])
		attrs["state.new"] = lower(u.GetStatus().GetState().String(), "TASK_STATE_")
		if err := u.GetStatus().GetErr(); err != "" {
			attrs["error"] = err
		}
		e.add(at, "task", "update", u.GetTaskId(), attrs)
	}
	for _, d := range b.GetDesire() {
		attrs := e.taskAttrs(tasks[d.GetTaskId()])
		attrs["desiredstate.new"] = lower(d.GetDesiredState().String(), "TASK_STATE_")
		if d.GetReason() != "" {
			attrs["reason"] = d.GetReason()
		}
		e.add(at, "task", "update", d.GetTaskId(), attrs)
	}
}

func (e *Events) onRequest(ctx actor.Context, req *swarmv1.EventsRequest) {
	resp := &swarmv1.EventsResponse{}
	for _, ev := range e.ring {
		if ev.TimeUnixNano < req.GetSinceUnixNano() || ev.Id <= req.GetAfterId() {
			continue
		}
		resp.Events = append(resp.Events, ev)
	}
	if ctx.Sender() != nil {
		ctx.Respond(resp)
	}
}
