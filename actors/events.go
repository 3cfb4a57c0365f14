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
	// NodeName returns a node's hostname as this replica knows it.
	NodeName(id string) (string, bool)
	// NodeNames returns the hostnames of the nodes ids, by ID, in one
	// read; unknown nodes are left out.
	NodeNames(ids []string) map[string]string
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
	if len(e.ring) >= 2*keptEvents {
		// Move the kept ones down, so that the events dropped from the
		// front are not held by the array behind the slice.
		n := copy(e.ring, e.ring[len(e.ring)-keptEvents+1:])
		clear(e.ring[n:])
		e.ring = e.ring[:n]
	}
	e.ring = append(e.ring, &swarmv1.Event{Id: e.next, TimeUnixNano: at, Type: typ, Action: action, ActorId: id, Attributes: attrs})
}

func (e *Events) onLeaderTick() {
	l := e.src.LeaderNodeID()
	if l == e.leader || l == "" {
		return
	}
	e.leader = l
	attrs := map[string]string{}
	if h, ok := e.src.NodeName(l); ok {
		attrs["name"] = h
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
		if h, ok := e.src.NodeName(id); ok {
			attrs["name"] = h
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

// taskEvents names the tasks of one entry for its events: the hostnames
// of their nodes are read once for the entry, not once per task.
type taskEvents struct {
	tasks map[string]*swarmv1.Task
	hosts map[string]string // hostnames of the tasks' nodes, by node ID
}

func (te *taskEvents) attrs(id string) map[string]string {
	t := te.tasks[id]
	attrs := make(map[string]string, 4)
	if t == nil {
		return attrs
	}
	name := t.ServiceName + "." + strconv.FormatUint(t.Slot, 10)
	if t.Slot == 0 {
		name = t.ServiceName + "." + t.NodeId
	}
	attrs["name"], attrs["service"] = name, t.ServiceName
	if host := te.hosts[t.NodeId]; host != "" {
		attrs["node"] = host
	}
	return attrs
}

// recordTasks turns the task changes of an entry into events. Only the
// last keptEvents of them can stay in the ring: the others are counted
// (their IDs are skipped) but not made, so an entry of a hundred thousand
// reports costs no more than the ring holds.
func (e *Events) recordTasks(at int64, shard uint64, b *swarmv1.TaskBatch) {
	creates, updates, desires := b.GetCreate(), b.GetStatus(), b.GetDesire()
	skip := len(creates) + len(updates) + len(desires) - keptEvents
	cut := func(n int) int {
		if skip <= 0 {
			return 0
		}
		k := min(n, skip)
		skip -= k
		e.next += uint64(k)
		return k
	}
	creates = creates[cut(len(creates)):]
	updates = updates[cut(len(updates)):]
	desires = desires[cut(len(desires)):]
	ids := make([]string, 0, len(creates)+len(updates)+len(desires))
	for _, t := range creates {
		ids = append(ids, t.GetId())
	}
	for _, u := range updates {
		ids = append(ids, u.GetTaskId())
	}
	for _, d := range desires {
		ids = append(ids, d.GetTaskId())
	}
	tasks := e.src.Tasks(shard, ids)
	var nodes []string
	for _, t := range tasks {
		nodes = append(nodes, t.NodeId)
	}
	te := &taskEvents{tasks: tasks, hosts: e.src.NodeNames(nodes)}
	for _, t := range creates {
		attrs := te.attrs(t.GetId())
		attrs["state.new"] = lower(t.GetStatus().GetState().String(), "TASK_STATE_")
		e.add(at, "task", "create", t.GetId(), attrs)
	}
	for _, u := range updates {
		attrs := te.attrs(u.GetTaskId())
		attrs["state.new"] = lower(u.GetStatus().GetState().String(), "TASK_STATE_")
		if err := u.GetStatus().GetErr(); err != "" {
			attrs["error"] = err
		}
		e.add(at, "task", "update", u.GetTaskId(), attrs)
	}
	for _, d := range desires {
		attrs := te.attrs(d.GetTaskId())
		attrs["desiredstate.new"] = lower(d.GetDesiredState().String(), "TASK_STATE_")
		if d.GetReason() != "" {
			attrs["reason"] = d.GetReason()
		}
		e.add(at, "task", "update", d.GetTaskId(), attrs)
	}
}

// kept returns the last keptEvents events, oldest first.
func (e *Events) kept() []*swarmv1.Event {
	if len(e.ring) > keptEvents {
		return e.ring[len(e.ring)-keptEvents:]
	}
	return e.ring
}

func (e *Events) onRequest(ctx actor.Context, req *swarmv1.EventsRequest) {
	resp := &swarmv1.EventsResponse{}
	for _, ev := range e.kept() {
		if ev.TimeUnixNano < req.GetSinceUnixNano() || ev.Id <= req.GetAfterId() {
			continue
		}
		resp.Events = append(resp.Events, ev)
	}
	if ctx.Sender() != nil {
		ctx.Respond(resp)
	}
}
