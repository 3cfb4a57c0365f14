package actors

import (
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/cluster"
	"github.com/actorswarm/swarm/internal/clock"
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
	// TaskNames returns what names the tasks ids of shard as this replica
	// knows them, in the order of ids (the zero TaskName for an unknown
	// one).
	TaskNames(shard uint64, ids []string) []cluster.TaskName
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
	ring   []event
	next   uint64
	leader string
	stop   func()
}

// event is one event as the ring keeps it: a swarmv1.Event is made of it
// only when read, since most are dropped unread (a million task changes
// pass through a ring of ten thousand). A task's event holds the strings
// of its task as stored, so recording one allocates nothing; its node's
// hostname is looked up when it is read.
type event struct {
	id                 uint64
	at                 int64
	typ, action, actor string
	// attrs are the attributes of an event that is not a task's.
	attrs map[string]string
	// task marks a task's event: its service's name, slot (0: global, named
	// by its node), node ID, and up to two attributes of its own.
	task         bool
	service      string
	slot         uint64
	node         string
	key, value   string
	key2, value2 string
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
	e.push(event{at: at, typ: typ, action: action, actor: id, attrs: attrs})
}

// push numbers ev and appends it to the ring.
func (e *Events) push(ev event) {
	e.next++
	ev.id = e.next
	if ev.at == 0 {
		ev.at = clock.Now().UnixNano()
	}
	if len(e.ring) >= 2*keptEvents {
		// Move the kept ones down, so that the events dropped from the
		// front are not held by the array behind the slice.
		n := copy(e.ring, e.ring[len(e.ring)-keptEvents+1:])
		clear(e.ring[n:])
		e.ring = e.ring[:n]
	}
	e.ring = append(e.ring, ev)
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

// taskStates names task states as events do ("running"), made once.
var taskStates = func() map[swarmv1.TaskState]string {
	out := make(map[swarmv1.TaskState]string, len(swarmv1.TaskState_name))
	for v, name := range swarmv1.TaskState_name {
		out[swarmv1.TaskState(v)] = lower(name, "TASK_STATE_")
	}
	return out
}()

func taskStateName(s swarmv1.TaskState) string {
	if name, ok := taskStates[s]; ok {
		return name
	}
	return lower(s.String(), "TASK_STATE_")
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

// recordTasks turns the task changes of an entry into events. Only the
// last keptEvents of them can stay in the ring: the others are counted
// (their IDs are skipped) but not made, so an entry of a hundred thousand
// reports costs no more than the ring holds.
func (e *Events) recordTasks(at int64, shard uint64, b *swarmv1.TaskBatch) {
	creates, updates, desires := b.GetCreate(), b.GetStatus(), b.GetDesire()
	// Tasks created from their service alone are assigned (see
	// swarmv1.NewTasks): created with that state, after those of create.
	var made []string
	for _, g := range b.GetNewTasks() {
		for _, t := range g.GetTasks() {
			made = append(made, t.GetId())
		}
	}
	skip := len(creates) + len(made) + len(updates) + len(desires) - keptEvents
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
	made = made[cut(len(made)):]
	updates = updates[cut(len(updates)):]
	desires = desires[cut(len(desires)):]
	ids := make([]string, 0, len(creates)+len(made)+len(updates)+len(desires))
	for _, t := range creates {
		ids = append(ids, t.GetId())
	}
	ids = append(ids, made...)
	for _, u := range updates {
		ids = append(ids, u.GetTaskId())
	}
	for _, d := range desires {
		ids = append(ids, d.GetTaskId())
	}
	names := e.src.TaskNames(shard, ids)
	// A task's event, ids[i]'s, with its state and maybe one more
	// attribute.
	taskEvent := func(i int, action, key, value, key2, value2 string) event {
		ev := event{at: at, typ: "task", action: action, actor: ids[i], task: true, key: key, value: value}
		if value2 != "" {
			ev.key2, ev.value2 = key2, value2
		}
		if i < len(names) {
			ev.service, ev.slot, ev.node = names[i].Service, names[i].Slot, names[i].Node
		}
		return ev
	}
	for i, t := range creates {
		e.push(taskEvent(i, "create", "state.new", taskStateName(t.GetStatus().GetState()), "", ""))
	}
	n := len(creates)
	for i := range made {
		e.push(taskEvent(n+i, "create", "state.new", taskStateName(swarmv1.TaskState_TASK_STATE_ASSIGNED), "", ""))
	}
	n += len(made)
	for i, u := range updates {
		e.push(taskEvent(n+i, "update", "state.new", taskStateName(u.GetStatus().GetState()), "error", u.GetStatus().GetErr()))
	}
	n += len(updates)
	for i, d := range desires {
		e.push(taskEvent(n+i, "update", "desiredstate.new", taskStateName(d.GetDesiredState()), "reason", d.GetReason()))
	}
}

// events makes the events of evs, looking up their tasks' node hostnames
// in one read.
func (e *Events) events(evs []event) []*swarmv1.Event {
	var nodes []string
	for i := range evs {
		if evs[i].task && evs[i].node != "" {
			nodes = append(nodes, evs[i].node)
		}
	}
	var hosts map[string]string
	if len(nodes) > 0 {
		hosts = e.src.NodeNames(nodes)
	}
	out := make([]*swarmv1.Event, len(evs))
	for i := range evs {
		ev := &evs[i]
		attrs := ev.attrs
		if ev.task {
			attrs = make(map[string]string, 5)
			if ev.service != "" {
				name := ev.service + "." + strconv.FormatUint(ev.slot, 10)
				if ev.slot == 0 {
					name = ev.service + "." + ev.node
				}
				attrs["name"], attrs["service"] = name, ev.service
			}
			if host := hosts[ev.node]; host != "" {
				attrs["node"] = host
			}
			attrs[ev.key] = ev.value
			if ev.key2 != "" {
				attrs[ev.key2] = ev.value2
			}
		}
		out[i] = &swarmv1.Event{Id: ev.id, TimeUnixNano: ev.at, Type: ev.typ, Action: ev.action, ActorId: ev.actor, Attributes: attrs}
	}
	return out
}

// kept returns the last keptEvents events, oldest first, as the ring
// keeps them.
func (e *Events) kept() []event {
	if len(e.ring) > keptEvents {
		return e.ring[len(e.ring)-keptEvents:]
	}
	return e.ring
}

func (e *Events) onRequest(ctx actor.Context, req *swarmv1.EventsRequest) {
	var evs []event
	for _, ev := range e.kept() {
		if ev.at < req.GetSinceUnixNano() || ev.id <= req.GetAfterId() {
			continue
		}
		evs = append(evs, ev)
	}
	if ctx.Sender() != nil {
		ctx.Respond(&swarmv1.EventsResponse{Events: e.events(evs)})
	}
}
