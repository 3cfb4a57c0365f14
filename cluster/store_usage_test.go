package cluster

import (
	"maps"
	"slices"
	"strings"
	"testing"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// usageFromScratch sums the active tasks of a store the slow way.
func usageFromScratch(s *Store) map[string]NodeUsage {
	out := make(map[string]NodeUsage)
	for _, t := range s.Tasks() {
		if !active(t) {
			continue
		}
		u := out[t.NodeId]
		u.Tasks++
		u.NanoCPUs += t.GetSpec().GetReservations().GetNanoCpus()
		u.MemoryBytes += t.GetSpec().GetReservations().GetMemoryBytes()
		for _, p := range t.GetPorts() {
			if p.GetMode() == swarmv1.PublishMode_PUBLISH_MODE_HOST {
				if u.HostPorts == nil {
					u.HostPorts = make(map[string]int)
				}
				u.HostPorts[portKey(p)]++
			}
		}
		out[t.NodeId] = u
	}
	return out
}

func sameUsage(a, b map[string]NodeUsage) bool {
	return maps.EqualFunc(a, b, func(x, y NodeUsage) bool {
		return x.Tasks == y.Tasks && x.NanoCPUs == y.NanoCPUs && x.MemoryBytes == y.MemoryBytes && maps.Equal(x.HostPorts, y.HostPorts)
	})
}

// TestStoreUsage follows tasks through their life — created with and
// without a node, assigned, running, told to stop, failed, deleted — and
// after each step checks the per-node usage and the counts by state the
// store keeps against sums over every task, and after a snapshot round
// trip.
func TestStoreUsage(t *testing.T) {
	s := NewStore()
	svc := &swarmv1.Service{Id: "svc1", Spec: &swarmv1.ServiceSpec{Name: "web", Task: &swarmv1.TaskSpec{}}}
	mustApply(t, s, &swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}})
	spec := &swarmv1.TaskSpec{Reservations: &swarmv1.Resources{NanoCpus: 5e8, MemoryBytes: 1 << 20}}
	hostPort := []*swarmv1.PortConfig{{PublishedPort: 8080, TargetPort: 80, Mode: swarmv1.PublishMode_PUBLISH_MODE_HOST}, {PublishedPort: 81}}
	batch := func(b *swarmv1.TaskBatch) {
		t.Helper()
		mustApply(t, s, &swarmv1.Command{NowUnixNano: 10, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: b}})
		if got, want := s.Usage(), usageFromScratch(s); !sameUsage(got, want) {
			t.Fatalf("usage %v, want %v", got, want)
		}
		each := make(map[string]NodeUsage)
		s.EachUsage(func(id string, u *NodeUsage) { each[id] = *u })
		if got, want := each, usageFromScratch(s); !sameUsage(got, want) {
			t.Fatalf("usage by EachUsage %v, want %v", got, want)
		}
		states := make(map[swarmv1.TaskState]int)
		starting := 0
		for _, tk := range s.Tasks() {
			st := tk.GetStatus().GetState()
			states[st]++
			if st >= swarmv1.TaskState_TASK_STATE_ASSIGNED && st < swarmv1.TaskState_TASK_STATE_RUNNING {
				starting++
			}
		}
		if got := s.TaskStates(); !maps.Equal(got, states) {
			t.Fatalf("task states %v, want %v", got, states)
		}
		if got := s.StartingTasks(); got != starting {
			t.Fatalf("%d tasks starting, want %d", got, starting)
		}
	}
	running := func(id string, st swarmv1.TaskState) *swarmv1.TaskStatusUpdate {
		return &swarmv1.TaskStatusUpdate{TaskId: id, Status: &swarmv1.TaskStatus{State: st}}
	}
	batch(&swarmv1.TaskBatch{Create: []*swarmv1.Task{
		{Id: "t1", ServiceId: "svc1", NodeId: "n1", Spec: spec, Ports: hostPort, DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING},
		{Id: "t2", ServiceId: "svc1", NodeId: "n1", Spec: spec, DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING},
		{Id: "t3", ServiceId: "svc1", Spec: spec, DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING},
	}})
	if u := s.Usage()["n1"]; u.Tasks != 2 || u.NanoCPUs != 1e9 || u.HostPorts["8080/tcp"] != 1 || len(u.HostPorts) != 1 {
		t.Fatalf("n1 after create: %+v", u)
	}
	batch(&swarmv1.TaskBatch{Assign: []*swarmv1.TaskAssignment{{TaskId: "t3", NodeId: "n2"}}})
	batch(&swarmv1.TaskBatch{Status: []*swarmv1.TaskStatusUpdate{running("t1", swarmv1.TaskState_TASK_STATE_RUNNING), running("t3", swarmv1.TaskState_TASK_STATE_RUNNING)}})
	batch(&swarmv1.TaskBatch{Desire: []*swarmv1.TaskDesire{{TaskId: "t1", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}})
	if u := s.Usage()["n1"]; u.Tasks != 1 || len(u.HostPorts) != 0 {
		t.Fatalf("n1 after t1 told to stop: %+v", u)
	}
	batch(&swarmv1.TaskBatch{Status: []*swarmv1.TaskStatusUpdate{running("t1", swarmv1.TaskState_TASK_STATE_SHUTDOWN), running("t3", swarmv1.TaskState_TASK_STATE_FAILED)}})
	if _, ok := s.Usage()["n2"]; ok {
		t.Fatalf("n2 kept usage after its only task failed: %v", s.Usage())
	}
	batch(&swarmv1.TaskBatch{Delete: []string{"t1", "t2", "t3"}})
	if len(s.Usage()) != 0 {
		t.Fatalf("usage after every task is deleted: %v", s.Usage())
	}
	batch(&swarmv1.TaskBatch{Create: []*swarmv1.Task{{Id: "t4", ServiceId: "svc1", NodeId: "n3", Spec: spec, Ports: hostPort}}})
	r := NewStore()
	if err := r.Restore(s.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if !sameUsage(r.Usage(), s.Usage()) {
		t.Fatalf("usage after restore %v, want %v", r.Usage(), s.Usage())
	}
	// Usage returns copies.
	u := s.Usage()
	u["n3"].HostPorts["8080/tcp"] = 99
	if s.Usage()["n3"].HostPorts["8080/tcp"] != 1 {
		t.Fatal("Usage shares its maps with the store")
	}
}

// TestStoreSharedNodes: the shared list and map follow every change, and
// Managers copies.
func TestStoreSharedNodes(t *testing.T) {
	s := storeAfter(t, storeFixture()...)
	first := s.SharedNodes()
	if len(first) != len(s.Nodes()) {
		t.Fatalf("shared %d nodes, store has %d", len(first), len(s.Nodes()))
	}
	if again := s.SharedNodes(); &again[0] != &first[0] {
		t.Error("SharedNodes recomputed without a change")
	}
	byID := s.SharedNodesByID()
	if len(byID) != len(first) {
		t.Fatalf("SharedNodesByID has %d nodes, SharedNodes %d", len(byID), len(first))
	}
	for _, n := range first {
		if byID[n.Id] != n {
			t.Errorf("SharedNodesByID[%s] is not SharedNodes' node", n.Id)
		}
	}
	byID["marker"] = nil
	if _, ok := s.SharedNodesByID()["marker"]; !ok {
		t.Error("SharedNodesByID recomputed without a change")
	}
	mustApply(t, s, cmdAddNode(9000, storeWorker("zz-new", "late")))
	if got := s.SharedNodes(); len(got) != len(first)+1 || got[len(got)-1].Id != "zz-new" {
		t.Fatalf("SharedNodes after AddNode: %d nodes", len(got))
	}
	if got := s.SharedNodesByID(); len(got) != len(first)+1 || got["zz-new"] == nil {
		t.Fatalf("SharedNodesByID after AddNode: %d nodes, zz-new %v", len(got), got["zz-new"])
	}
	ms := s.Managers()
	if len(ms) == 0 {
		t.Fatal("no managers in the fixture")
	}
	ms[0].Addr = "changed"
	if s.Managers()[0].GetAddr() == "changed" {
		t.Error("Managers shares its nodes with the store")
	}
}

// TestTasksOfServiceCached: unchanged tasks come from the cache, changed
// and new ones are fresh copies, deleted ones are gone.
func TestTasksOfServiceCached(t *testing.T) {
	s := NewStore()
	svc := &swarmv1.Service{Id: "svc1", Spec: &swarmv1.ServiceSpec{Name: "web", Task: &swarmv1.TaskSpec{}}}
	mustApply(t, s, &swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}})
	batch := func(b *swarmv1.TaskBatch) {
		mustApply(t, s, &swarmv1.Command{NowUnixNano: 10, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: b}})
	}
	batch(&swarmv1.TaskBatch{Create: []*swarmv1.Task{{Id: "a", ServiceId: "svc1", Spec: &swarmv1.TaskSpec{}}, {Id: "b", ServiceId: "svc1", Spec: &swarmv1.TaskSpec{}}, {Id: "c", ServiceId: "svc1", Spec: &swarmv1.TaskSpec{}}}})
	cache := make(map[string]*swarmv1.Task)
	for _, tk := range s.TasksOfServiceCached("svc1", nil) {
		cache[tk.Id] = tk
	}
	batch(&swarmv1.TaskBatch{
		Create: []*swarmv1.Task{{Id: "d", ServiceId: "svc1", Spec: &swarmv1.TaskSpec{}}},
		Assign: []*swarmv1.TaskAssignment{{TaskId: "b", NodeId: "n1"}},
		Delete: []string{"c"},
	})
	got := s.TasksOfServiceCached("svc1", cache)
	var ids []string
	for _, tk := range got {
		ids = append(ids, tk.Id)
	}
	if strings.Join(ids, ",") != "a,b,d" {
		t.Fatalf("tasks %v, want a,b,d", ids)
	}
	if got[0] != cache["a"] {
		t.Error("unchanged task a was copied again")
	}
	if got[1] == cache["b"] || got[1].NodeId != "n1" {
		t.Errorf("changed task b: %v, from the cache: %v", got[1], got[1] == cache["b"])
	}
}

// TestTasksOfNodeSince follows a node's delta reads through every kind of
// change: what a reader knowing the node versions it read last gets as
// changed and as the same, also from a replica restored from a snapshot.
// A state report changes a task's version, not its node version: the
// node is not told of it again.
func TestTasksOfNodeSince(t *testing.T) {
	s := NewStore()
	svc := &swarmv1.Service{Id: "svc1", Spec: &swarmv1.ServiceSpec{Name: "web", Task: &swarmv1.TaskSpec{}}}
	mustApply(t, s, &swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}})
	batch := func(b *swarmv1.TaskBatch) {
		t.Helper()
		mustApply(t, s, &swarmv1.Command{NowUnixNano: 10, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: b}})
	}
	known := make(map[string]uint64)
	// read checks a delta read of n1 against want (changed IDs, how many
	// the same, the IDs of all), then takes what it read as known.
	read := func(s *Store, changed string, same int, all string) {
		t.Helper()
		ch, sm := s.TasksOfNodeSince("n1", known)
		var ids []string
		for _, tk := range ch {
			ids = append(ids, tk.Id)
			if want := mustTask(t, s, tk.Id).NodeVersion; tk.NodeVersion != want {
				t.Fatalf("task %s read at node version %d, stored at %d", tk.Id, tk.NodeVersion, want)
			}
		}
		if got := strings.Join(ids, ","); got != changed || sm != same {
			t.Fatalf("changed %q, %d the same; want %q, %d", got, sm, changed, same)
		}
		held := s.TaskIDsOfNode("n1")
		slices.Sort(held)
		if got := strings.Join(held, ","); got != all {
			t.Fatalf("tasks of n1 %q, want %q", got, all)
		}
		clear(known)
		for _, tk := range s.TasksOfNode("n1") {
			known[tk.Id] = tk.NodeVersion
		}
	}
	spec := &swarmv1.TaskSpec{}
	batch(&swarmv1.TaskBatch{Create: []*swarmv1.Task{
		{Id: "a", ServiceId: "svc1", Spec: spec, NodeId: "n1"},
		{Id: "b", ServiceId: "svc1", Spec: spec},
		{Id: "c", ServiceId: "svc1", Spec: spec, NodeId: "n2"},
	}})
	read(s, "a", 0, "a")
	read(s, "", 1, "a")
	batch(&swarmv1.TaskBatch{Assign: []*swarmv1.TaskAssignment{{TaskId: "b", NodeId: "n1"}}})
	read(s, "b", 1, "a,b")
	version := mustTask(t, s, "a").Version
	batch(&swarmv1.TaskBatch{Status: []*swarmv1.TaskStatusUpdate{{TaskId: "a", Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_RUNNING}}}})
	read(s, "", 2, "a,b")
	if a := mustTask(t, s, "a"); a.Version != version+1 || a.NodeVersion != CreatedNodeVersion {
		t.Fatalf("a reported running: version %d, node version %d; want %d, %d", a.Version, a.NodeVersion, version+1, CreatedNodeVersion)
	}
	batch(&swarmv1.TaskBatch{Desire: []*swarmv1.TaskDesire{{TaskId: "b", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}})
	read(s, "b", 1, "a,b")
	batch(&swarmv1.TaskBatch{Desire: []*swarmv1.TaskDesire{{TaskId: "a", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}})
	read(s, "a", 1, "a,b")
	// c changes on another node: n1 sees nothing new.
	batch(&swarmv1.TaskBatch{Status: []*swarmv1.TaskStatusUpdate{{TaskId: "c", Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_RUNNING}}}})
	read(s, "", 2, "a,b")
	batch(&swarmv1.TaskBatch{Delete: []string{"b"}})
	read(s, "", 1, "a")

	restored := NewStore()
	if err := restored.Restore(s.Snapshot()); err != nil {
		t.Fatal(err)
	}
	read(restored, "", 1, "a")
	s = restored
	batch(&swarmv1.TaskBatch{Status: []*swarmv1.TaskStatusUpdate{{TaskId: "a", Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_COMPLETE}}}})
	read(s, "", 1, "a")
	batch(&swarmv1.TaskBatch{Create: []*swarmv1.Task{{Id: "d", ServiceId: "svc1", Spec: spec, NodeId: "n1"}}})
	read(s, "d", 1, "a,d")
}

func mustTask(t *testing.T, s *Store, id string) *swarmv1.Task {
	t.Helper()
	tk, ok := s.tasks[id]
	if !ok {
		t.Fatalf("no task %s", id)
	}
	return tk
}

// TestTaskStatusNotDatedAfterItsEntry: a node whose clock runs ahead dates
// its reports in the future; the store dates them no later than the entry
// that commits them (the restart delay counts from that date).
func TestTaskStatusNotDatedAfterItsEntry(t *testing.T) {
	s := NewStore()
	svc := &swarmv1.Service{Id: "svc1", Spec: &swarmv1.ServiceSpec{Name: "web", Task: &swarmv1.TaskSpec{}}}
	mustApply(t, s, &swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}})
	const now = int64(1_000_000_000_000)
	report := func(id string, st swarmv1.TaskState, at int64) {
		t.Helper()
		mustApply(t, s, &swarmv1.Command{NowUnixNano: now, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: &swarmv1.TaskBatch{
			Status: []*swarmv1.TaskStatusUpdate{{TaskId: id, Status: &swarmv1.TaskStatus{State: st, TimestampUnixNano: at}}},
		}}})
	}
	mustApply(t, s, &swarmv1.Command{NowUnixNano: now, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: &swarmv1.TaskBatch{Create: []*swarmv1.Task{
		{Id: "a", ServiceId: "svc1", NodeId: "n1", Spec: &swarmv1.TaskSpec{}},
		{Id: "b", ServiceId: "svc1", NodeId: "n1", Spec: &swarmv1.TaskSpec{}},
	}}}})
	report("a", swarmv1.TaskState_TASK_STATE_FAILED, now+3600e9)
	report("b", swarmv1.TaskState_TASK_STATE_FAILED, now-5e9)
	if got := mustTask(t, s, "a").Status.TimestampUnixNano; got != now {
		t.Errorf("a report dated an hour ahead is stored at %d, want the entry's %d", got, now)
	}
	if got := mustTask(t, s, "b").Status.TimestampUnixNano; got != now-5e9 {
		t.Errorf("a report dated before its entry is stored at %d, want its own %d", got, now-5e9)
	}
}

// TestTaskCreatedIndex: the store numbers the tasks it creates in order,
// whatever the dates of the commands (a manager's clock may run ahead of
// the next one's), and goes on from the highest after a snapshot restore.
func TestTaskCreatedIndex(t *testing.T) {
	s := NewStore()
	svc := &swarmv1.Service{Id: "svc1", Spec: &swarmv1.ServiceSpec{Name: "web", Task: &swarmv1.TaskSpec{}}}
	mustApply(t, s, &swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}})
	create := func(s *Store, now int64, ids ...string) {
		t.Helper()
		b := &swarmv1.TaskBatch{}
		for _, id := range ids {
			b.Create = append(b.Create, &swarmv1.Task{Id: id, ServiceId: "svc1", Slot: 1, Spec: &swarmv1.TaskSpec{}})
		}
		mustApply(t, s, &swarmv1.Command{NowUnixNano: now, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: b}})
	}
	create(s, 3_600e9, "a", "b") // a leader an hour ahead
	create(s, 10, "c")           // the next one, right
	for id, want := range map[string]uint64{"a": 1, "b": 2, "c": 3} {
		if got := mustTask(t, s, id).GetCreatedIndex(); got != want {
			t.Errorf("task %s created index %d, want %d", id, got, want)
		}
	}
	restored := NewStore()
	if err := restored.Restore(s.Snapshot()); err != nil {
		t.Fatal(err)
	}
	create(restored, 20, "d")
	if got := mustTask(t, restored, "d").GetCreatedIndex(); got != 4 {
		t.Errorf("after a restore, the next task's created index is %d, want 4", got)
	}
}

// Usage is a copy of what EachUsage gives, by node ID.
func (s *Store) Usage() map[string]NodeUsage {
	out := make(map[string]NodeUsage)
	s.EachUsage(func(id string, u *NodeUsage) {
		c := *u
		c.HostPorts = maps.Clone(u.HostPorts)
		out[id] = c
	})
	return out
}

// TestNodeRevision: a node's revision is the index of the last entry that
// changed its tasks in a way the node acts on (created, assigned, told to
// stop, deleted; not a state reported), stays while only other nodes'
// tasks change, and is 0 (unknown) when applied without an index, once
// the node has no task left, and after a restore.
func TestNodeRevision(t *testing.T) {
	s := NewStore()
	svc := &swarmv1.Service{Id: "svc1", Spec: &swarmv1.ServiceSpec{Name: "web", Task: &swarmv1.TaskSpec{}}}
	mustApply(t, s, &swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}})
	index := uint64(10)
	batch := func(b *swarmv1.TaskBatch) {
		t.Helper()
		index++
		if _, err := s.ApplyAt(index, &swarmv1.Command{NowUnixNano: 10, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: b}}); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(what string, n1, n2 uint64) {
		t.Helper()
		if got1, got2 := s.ReadNodeTasks("n1", nil, 0, false).Revision, s.ReadNodeTasks("n2", nil, 0, false).Revision; got1 != n1 || got2 != n2 {
			t.Errorf("%s: revisions n1 %d n2 %d, want %d %d", what, got1, got2, n1, n2)
		}
	}
	spec := &swarmv1.TaskSpec{}
	running := swarmv1.TaskState_TASK_STATE_RUNNING
	expect("no tasks", 0, 0)
	batch(&swarmv1.TaskBatch{Create: []*swarmv1.Task{
		{Id: "a", ServiceId: "svc1", Spec: spec, NodeId: "n1"},
		{Id: "b", ServiceId: "svc1", Spec: spec},
		{Id: "c", ServiceId: "svc1", Spec: spec, NodeId: "n2"},
	}})
	expect("created", 11, 11)
	batch(&swarmv1.TaskBatch{Assign: []*swarmv1.TaskAssignment{{TaskId: "b", NodeId: "n1"}}})
	expect("b assigned to n1", 12, 11)
	batch(&swarmv1.TaskBatch{Status: []*swarmv1.TaskStatusUpdate{{TaskId: "c", Status: &swarmv1.TaskStatus{State: running}}}})
	expect("c reported running on n2", 12, 11)
	batch(&swarmv1.TaskBatch{Desire: []*swarmv1.TaskDesire{{TaskId: "a", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}})
	expect("a told to stop", 14, 11)
	batch(&swarmv1.TaskBatch{Desire: []*swarmv1.TaskDesire{{TaskId: "c", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}})
	expect("c told to stop", 14, 15)
	batch(&swarmv1.TaskBatch{Delete: []string{"a"}})
	expect("a deleted", 16, 15)
	mustApply(t, s, &swarmv1.Command{NowUnixNano: 10, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: &swarmv1.TaskBatch{
		Desire: []*swarmv1.TaskDesire{{TaskId: "b", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}}}})
	expect("b told to stop, applied without an index", 0, 15)

	restored := NewStore()
	if err := restored.Restore(s.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if r1, r2 := restored.ReadNodeTasks("n1", nil, 0, false).Revision, restored.ReadNodeTasks("n2", nil, 0, false).Revision; r1 != 0 || r2 != 0 {
		t.Errorf("restored revisions %d %d, want 0 0 (unknown)", r1, r2)
	}
	batch(&swarmv1.TaskBatch{Delete: []string{"b", "c"}})
	expect("every task deleted", 0, 0)
}
