package actors

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/actorswarm/swarm/cluster"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// fakeSource names nodes and tasks for the events actor.
type fakeSource struct {
	leader string
}

func (fakeSource) NodeName(id string) (string, bool) { return "host-" + id, true }

func (fakeSource) NodeNames(ids []string) map[string]string {
	out := make(map[string]string)
	for _, id := range ids {
		out[id] = "host-" + id
	}
	return out
}

func (fakeSource) TaskNames(_ uint64, ids []string) []cluster.TaskName {
	out := make([]cluster.TaskName, len(ids))
	for i, id := range ids {
		if id != "unknown" {
			out[i] = cluster.TaskName{Service: "web", Slot: 3, Node: "n2"}
		}
	}
	return out
}

func (fakeSource) ServiceName(string) string { return "web" }
func (f *fakeSource) LeaderNodeID() string   { return f.leader }

func eventLines(e *Events) []string {
	var out []string
	for _, ev := range e.events(e.ring) {
		keys := []string{}
		for k, v := range ev.Attributes {
			keys = append(keys, k+"="+v)
		}
		out = append(out, ev.Type+" "+ev.Action+" "+ev.ActorId+" "+strings.Join(sortStrings(keys), ","))
	}
	return out
}

func sortStrings(s []string) []string {
	sort.Strings(s)
	return s
}

func TestEventsRecord(t *testing.T) {
	src := &fakeSource{}
	e := NewEvents(src)
	e.Record(&cluster.Applied{ShardID: 1, Command: &swarmv1.Command{NowUnixNano: 1, Cmd: &swarmv1.Command_SetNodeStates{SetNodeStates: &swarmv1.SetNodeStates{
		Changes: []*swarmv1.NodeStateChange{{NodeId: "n1", State: swarmv1.NodeState_NODE_STATE_DOWN, Message: "heartbeat failure"}},
	}}}, Result: &swarmv1.Result{}})
	e.Record(&cluster.Applied{ShardID: 2, Command: &swarmv1.Command{NowUnixNano: 2, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: &swarmv1.TaskBatch{
		Create:   []*swarmv1.Task{{Id: "unknown", Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_NEW}}},
		NewTasks: []*swarmv1.NewTasks{{ServiceId: "s1", SpecVersion: 1, Tasks: []*swarmv1.NewTask{{Id: "t2", Slot: 3, NodeId: "n2"}}}},
		Status:   []*swarmv1.TaskStatusUpdate{{TaskId: "t1", Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_FAILED, Err: "task: non-zero exit (1)"}}},
		Desire:   []*swarmv1.TaskDesire{{TaskId: "t1", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN, Reason: "rebalanced"}},
	}}}, Result: &swarmv1.Result{}})
	src.leader = "n3"
	e.onLeaderTick()
	e.onLeaderTick() // no change: no second event
	want := []string{
		"node update n1 message=heartbeat failure,name=host-n1,state.new=down",
		"task create unknown state.new=new",
		"task create t2 name=web.3,node=host-n2,service=web,state.new=assigned",
		"task update t1 error=task: non-zero exit (1),name=web.3,node=host-n2,service=web,state.new=failed",
		"task update t1 desiredstate.new=shutdown,name=web.3,node=host-n2,reason=rebalanced,service=web",
		"raft leader n3 name=host-n3",
	}
	got := eventLines(e)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if e.ring[0].id != 1 || e.ring[5].id != 6 {
		t.Fatalf("ids %d..%d, want 1..6", e.ring[0].id, e.ring[5].id)
	}
}

func TestEventsRingIsBounded(t *testing.T) {
	e := NewEvents(&fakeSource{})
	for i := 0; i < 3*keptEvents+10; i++ {
		e.add(int64(i+1), "node", "update", "n", nil)
	}
	kept := e.kept()
	if len(kept) != keptEvents || kept[0].id != 2*keptEvents+11 || len(e.ring) >= 2*keptEvents {
		t.Fatalf("kept %d starting at id %d, ring of %d; want %d starting at %d, ring under %d",
			len(kept), kept[0].id, len(e.ring), keptEvents, 2*keptEvents+11, 2*keptEvents)
	}
}

// TestEventsOfABigEntry: an entry with more task changes than the ring
// holds leaves the ring with its last changes, numbered as if all had
// been recorded.
func TestEventsOfABigEntry(t *testing.T) {
	e := NewEvents(&fakeSource{})
	b := &swarmv1.TaskBatch{Create: []*swarmv1.Task{{Id: "c1"}}, NewTasks: []*swarmv1.NewTasks{{Tasks: []*swarmv1.NewTask{{Id: "c2"}}}}}
	for i := range keptEvents + 3 {
		b.Status = append(b.Status, &swarmv1.TaskStatusUpdate{TaskId: fmt.Sprintf("u%d", i), Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_RUNNING}})
	}
	b.Desire = []*swarmv1.TaskDesire{{TaskId: "d1", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}
	e.recordTasks(1, 1, b)
	kept := e.kept()
	total := uint64(2 + keptEvents + 3 + 1)
	if len(kept) != keptEvents || kept[len(kept)-1].id != total || kept[0].id != total-keptEvents+1 {
		t.Fatalf("%d events, ids %d..%d; want %d, ids %d..%d", len(kept), kept[0].id, kept[len(kept)-1].id, keptEvents, total-keptEvents+1, total)
	}
	if got := kept[0].actor; got != "u4" { // c1, c2 and u0..u3 cut
		t.Errorf("the oldest kept event is of %s, want u4", got)
	}
	if got := kept[len(kept)-1].actor; got != "d1" {
		t.Errorf("the newest event is of %s, want d1", got)
	}
}

func TestResolveSelf(t *testing.T) {
	req := &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NodeInspect{NodeInspect: &swarmv1.NodeInspectRequest{Ref: "self"}}}
	got := resolveSelf(req, "me")
	if got.GetNodeInspect().GetRef() != "me" || req.GetNodeInspect().GetRef() != "self" {
		t.Fatalf("resolved %q (original now %q), want me and the original untouched", got.GetNodeInspect().GetRef(), req.GetNodeInspect().GetRef())
	}
	other := &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NodeUpdate{NodeUpdate: &swarmv1.NodeUpdateRequest{Ref: "node-2"}}}
	if got := resolveSelf(other, "me"); got.GetNodeUpdate().GetRef() != "node-2" {
		t.Fatalf("a named node was rewritten to %q", got.GetNodeUpdate().GetRef())
	}
}
