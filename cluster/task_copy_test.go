package cluster

import (
	"errors"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// fillTask sets every field of a task to something that is not its zero
// value, so that a copy that forgets a field shows.
func fillTask() *swarmv1.Task {
	t := &swarmv1.Task{}
	m := t.ProtoReflect()
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		f := fields.Get(i)
		switch {
		case f.IsList():
			l := m.Mutable(f).List()
			l.Append(protoreflect.ValueOfMessage(l.NewElement().Message()))
		case f.Kind() == protoreflect.MessageKind:
			m.Mutable(f)
		case f.Kind() == protoreflect.StringKind:
			m.Set(f, protoreflect.ValueOfString(string(f.Name())))
		case f.Kind() == protoreflect.Uint64Kind:
			m.Set(f, protoreflect.ValueOfUint64(uint64(f.Number())))
		case f.Kind() == protoreflect.Int64Kind:
			m.Set(f, protoreflect.ValueOfInt64(int64(f.Number())))
		case f.Kind() == protoreflect.EnumKind:
			m.Set(f, protoreflect.ValueOfEnum(1))
		default:
			panic("fillTask: no value for field " + string(f.Name()) + " of kind " + f.Kind().String())
		}
	}
	t.Spec.Image = "img"
	t.Status.Message = "msg"
	t.Ports[0].PublishedPort = 80
	return t
}

// TestCopyTask: a copy holds every field of the task (a field added to
// Task and forgotten in CopyTask fails it) and shares only what the store
// never changes in place.
func TestCopyTask(t *testing.T) {
	orig := fillTask()
	c := CopyTask(orig)
	if !proto.Equal(c, orig) {
		t.Fatalf("CopyTask lost fields:\n got %v\nwant %v", c, orig)
	}
	if c.Spec != orig.Spec || c.Status != orig.Status || c.Ports[0] != orig.Ports[0] {
		t.Error("CopyTask copied the spec, status or ports it is meant to share")
	}
	c.Ports = append(c.Ports, &swarmv1.PortConfig{PublishedPort: 81})
	c.Attachments[0] = &swarmv1.Attachment{NetworkId: "other"}
	c.NodeId = "elsewhere"
	if len(orig.Ports) != 1 || orig.Attachments[0].GetNetworkId() == "other" || orig.NodeId == "elsewhere" {
		t.Error("changing the copy's own fields changed the task")
	}
}

// TestStoredTasksShareTheirSpec: tasks created with their service's
// current spec hold that one spec, also after a snapshot round trip; a
// task with another spec, or of an older spec version, keeps its own; and
// what a reader changes in its copy, or what the creator changes in its
// command's spec afterwards, does not reach the store (its status is
// kept: see Store.Apply).
func TestStoredTasksShareTheirSpec(t *testing.T) {
	s := NewStore()
	spec := &swarmv1.TaskSpec{Image: "web:1", Env: []string{"A=1"}}
	svc := &swarmv1.Service{Id: "svc1", Spec: &swarmv1.ServiceSpec{Name: "web", Task: spec}}
	mustApply(t, s, &swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}})
	task := func(id string, version uint64, spec *swarmv1.TaskSpec) *swarmv1.Task {
		return &swarmv1.Task{Id: id, ServiceId: "svc1", Slot: 1, SpecVersion: version, Spec: proto.Clone(spec).(*swarmv1.TaskSpec),
			Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_PENDING}}
	}
	other := &swarmv1.TaskSpec{Image: "web:2"}
	cmd := &swarmv1.TaskBatch{Create: []*swarmv1.Task{task("t1", 1, spec), task("t2", 1, spec), task("t3", 1, other), task("t4", 0, spec)}}
	mustApply(t, s, &swarmv1.Command{NowUnixNano: 10, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: cmd}})
	cmd.Create[0].Spec.Image = "changed by the creator"

	check := func(s *Store) {
		t.Helper()
		cur := s.services["svc1"].Spec.Task
		for id, shared := range map[string]bool{"t1": true, "t2": true, "t3": false, "t4": false} {
			if got := s.tasks[id].Spec == cur; got != shared {
				t.Errorf("task %s shares the service's spec: %v, want %v", id, got, shared)
			}
		}
		if got := s.tasks["t1"]; got.Spec.Image != "web:1" {
			t.Errorf("task t1 = %v: the creator's command reached the store", got)
		}
		if got := s.tasks["t3"].Spec.Image; got != "web:2" {
			t.Errorf("task t3 runs %s, want web:2", got)
		}
	}
	check(s)

	r := NewStore()
	if err := r.Restore(s.Snapshot()); err != nil {
		t.Fatal(err)
	}
	check(r)

	// After an update, tasks of the new spec version share the new spec,
	// not the one compared last.
	spec2 := &swarmv1.TaskSpec{Image: "web:2", Env: []string{"A=2"}}
	mustApply(t, s, &swarmv1.Command{Cmd: &swarmv1.Command_UpdateService{UpdateService: &swarmv1.UpdateService{
		ServiceId: "svc1", ExpectedVersion: s.services["svc1"].Version, Spec: &swarmv1.ServiceSpec{Name: "web", Task: spec2}}}})
	cmd = &swarmv1.TaskBatch{Create: []*swarmv1.Task{task("t5", 2, spec2), task("t6", 2, spec)}}
	mustApply(t, s, &swarmv1.Command{NowUnixNano: 20, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: cmd}})
	if cur := s.services["svc1"].Spec.Task; s.tasks["t5"].Spec != cur || s.tasks["t6"].Spec == cur {
		t.Errorf("after the update: t5 shares the new spec %v (want true), t6 with the old spec %v (want false)",
			s.tasks["t5"].Spec == cur, s.tasks["t6"].Spec == cur)
	}

	// A copy is read-only in what it shares, but its own fields are its own.
	c, _ := s.Task("t1")
	c.DesiredState = swarmv1.TaskState_TASK_STATE_SHUTDOWN
	if s.tasks["t1"].DesiredState == swarmv1.TaskState_TASK_STATE_SHUTDOWN {
		t.Error("a reader's change to its copy reached the store")
	}
}

// BenchmarkCreateBatch applies batches of 2,000 created tasks, each with a
// copy of its service's spec as decoded from a Raft entry: a supervisor's
// entry when a big service starts.
func BenchmarkCreateBatch(b *testing.B) {
	s := NewStore()
	spec := &swarmv1.TaskSpec{Image: "registry.local/web:1.27", Args: []string{"-g", "daemon off;"}, Env: []string{"A=1", "B=2"},
		Runtime: "process", Restart: &swarmv1.RestartPolicy{MaxAttempts: 3}}
	svc := &swarmv1.Service{Id: "svc1", Spec: &swarmv1.ServiceSpec{Name: "web", Task: spec}}
	if _, err := s.Apply(&swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}}); err != nil {
		b.Fatal(err)
	}
	n := 0
	for b.Loop() {
		batch := &swarmv1.TaskBatch{}
		for range 2000 {
			n++
			batch.Create = append(batch.Create, &swarmv1.Task{Id: fmt.Sprintf("t%09d", n), ServiceId: "svc1", Slot: uint64(n), SpecVersion: 1,
				Spec: proto.Clone(spec).(*swarmv1.TaskSpec), Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_PENDING}})
		}
		if _, err := s.Apply(&swarmv1.Command{NowUnixNano: int64(n), Cmd: &swarmv1.Command_TaskBatch{TaskBatch: batch}}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCreatedTaskStatusKept: a created task's dated status is kept as the
// command has it (not copied: a million tasks created); one without a
// date is dated on a copy, the command's own left as it was.
func TestCreatedTaskStatusKept(t *testing.T) {
	s := NewStore()
	svc := &swarmv1.Service{Id: "svc1", Spec: &swarmv1.ServiceSpec{Name: "web", Task: &swarmv1.TaskSpec{}}}
	mustApply(t, s, &swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}})
	dated := &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ASSIGNED, TimestampUnixNano: 5}
	undated := &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_PENDING}
	mustApply(t, s, &swarmv1.Command{NowUnixNano: 10, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: &swarmv1.TaskBatch{Create: []*swarmv1.Task{
		{Id: "a", ServiceId: "svc1", NodeId: "n1", Spec: &swarmv1.TaskSpec{}, Status: dated},
		{Id: "b", ServiceId: "svc1", Spec: &swarmv1.TaskSpec{}, Status: undated},
		{Id: "c", ServiceId: "svc1", Spec: &swarmv1.TaskSpec{}},
	}}}})
	if got := mustTask(t, s, "a").Status; got != dated || got.TimestampUnixNano != 5 {
		t.Errorf("a's status %v (the command's: %v), want the command's, dated 5", got, got == dated)
	}
	if got := mustTask(t, s, "b").Status; got == undated || got.TimestampUnixNano != 10 || got.State != undated.State || undated.TimestampUnixNano != 0 {
		t.Errorf("b's status %v, the command's %v; want a copy dated 10, the command's undated", got, undated)
	}
	if got := mustTask(t, s, "c").Status; got.GetState() != swarmv1.TaskState_TASK_STATE_NEW || got.TimestampUnixNano != 10 {
		t.Errorf("c's status %v, want new, dated 10", got)
	}
}

// TestNewTasks: tasks created from their service alone (new_tasks) are
// stored as the same tasks created whole would be, with the service's
// spec shared, dated by the entry; a batch whose new tasks are of an
// unknown service, of another spec version, without a node, or with an ID
// taken, is refused and changes nothing.
func TestNewTasks(t *testing.T) {
	s := NewStore()
	spec := &swarmv1.TaskSpec{Image: "web:1", Runtime: "sim"}
	svc := &swarmv1.Service{Id: "svc1", SpecVersion: 1, Spec: &swarmv1.ServiceSpec{Name: "web", Task: spec}}
	mustApply(t, s, &swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}})
	running := swarmv1.TaskState_TASK_STATE_RUNNING
	whole := &swarmv1.Task{Id: "a", ServiceId: "svc1", ServiceName: "web", Slot: 1, NodeId: "n1", SpecVersion: 1, Spec: spec, DesiredState: running,
		Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ASSIGNED, TimestampUnixNano: 10, Message: AssignedMessage}}
	batch := func(create []*swarmv1.Task, groups ...*swarmv1.NewTasks) *swarmv1.Command {
		return &swarmv1.Command{NowUnixNano: 10, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: &swarmv1.TaskBatch{Create: create, NewTasks: groups}}}
	}
	group := func(svc string, version uint64, tasks ...*swarmv1.NewTask) *swarmv1.NewTasks {
		return &swarmv1.NewTasks{ServiceId: svc, SpecVersion: version, Tasks: tasks}
	}
	if _, err := s.ApplyAt(5, batch([]*swarmv1.Task{whole}, group("svc1", 1, &swarmv1.NewTask{Id: "b", Slot: 2, NodeId: "n2"}))); err != nil {
		t.Fatal(err)
	}
	a, b := mustTask(t, s, "a"), mustTask(t, s, "b")
	want := CopyTask(a)
	want.Id, want.Slot, want.NodeId, want.CreatedIndex = "b", 2, "n2", a.CreatedIndex+1
	if !proto.Equal(b, want) {
		t.Errorf("new task stored as\n%v\nwant, as created whole,\n%v", b, want)
	}
	if b.Spec != s.services["svc1"].Spec.Task {
		t.Error("the new task does not share its service's spec")
	}
	if ch, _ := s.TasksOfNodeSince("n2", nil); len(ch) != 1 || ch[0].Id != "b" || s.ReadNodeTasks("n2", nil, 0, false).Revision != 5 {
		t.Errorf("n2's tasks %v, revision %d; want b, 5", ch, s.ReadNodeTasks("n2", nil, 0, false).Revision)
	}
	if u := s.Usage()["n2"]; u.Tasks != 1 {
		t.Errorf("n2 holds %d tasks, want 1", u.Tasks)
	}

	for _, tc := range []struct {
		name string
		cmd  *swarmv1.Command
		want error
	}{
		{"unknown service", batch(nil, group("nope", 1, &swarmv1.NewTask{Id: "c", NodeId: "n1"})), ErrNotFound},
		{"another spec version", batch(nil, group("svc1", 2, &swarmv1.NewTask{Id: "c", NodeId: "n1"})), ErrConflict},
		{"no node", batch(nil, group("svc1", 1, &swarmv1.NewTask{Id: "c"})), ErrInvalid},
		{"no ID", batch(nil, group("svc1", 1, &swarmv1.NewTask{NodeId: "n1"})), ErrInvalid},
		{"an ID taken", batch(nil, group("svc1", 1, &swarmv1.NewTask{Id: "c", NodeId: "n1"}, &swarmv1.NewTask{Id: "a", NodeId: "n1"})), ErrExists},
		{"an ID of the batch's create", batch([]*swarmv1.Task{{Id: "c", ServiceId: "svc1", Spec: spec}}, group("svc1", 1, &swarmv1.NewTask{Id: "c", NodeId: "n1"})), ErrExists},
		{"an ID twice", batch(nil, group("svc1", 1, &swarmv1.NewTask{Id: "c", NodeId: "n1"}), group("svc1", 1, &swarmv1.NewTask{Id: "c", NodeId: "n2"})), ErrExists},
	} {
		if _, err := s.Apply(tc.cmd); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if _, ok := s.tasks["c"]; ok || len(s.tasks) != 2 {
			t.Fatalf("%s: a refused batch created tasks: %d stored", tc.name, len(s.tasks))
		}
	}

	r := NewStore()
	if err := r.Restore(s.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if got := mustTask(t, r, "b"); !proto.Equal(got, b) || got.Spec != r.services["svc1"].Spec.Task {
		t.Errorf("restored b %v (sharing the spec: %v), want %v", got, got.Spec == r.services["svc1"].Spec.Task, b)
	}
}
