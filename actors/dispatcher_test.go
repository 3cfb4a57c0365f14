package actors

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/cluster"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// proposer is the part of DispatchControl the group commit uses: it
// records the entries and holds each until released.
type proposer struct {
	DispatchControl
	mu      sync.Mutex
	entries []*swarmv1.TaskBatch
	release chan error
}

func (p *proposer) Propose(_ context.Context, _ uint64, cmd *swarmv1.Command) error {
	p.mu.Lock()
	p.entries = append(p.entries, cmd.GetTaskBatch())
	p.mu.Unlock()
	return <-p.release
}

func (p *proposer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.entries)
}

func reports(svc string, ids ...string) *swarmv1.TaskBatch {
	b := &swarmv1.TaskBatch{ServiceIds: []string{svc}}
	for _, id := range ids {
		b.Status = append(b.Status, &swarmv1.TaskStatusUpdate{TaskId: id, Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_RUNNING}})
	}
	return b
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommit: the first sync's reports go at once; those that arrive
// while it commits share the next entry, and every sync learns the
// outcome of the entry that carried its reports.
func TestGroupCommit(t *testing.T) {
	p := &proposer{release: make(chan error)}
	g := newGroupCommit(p)
	first := g.add(2, reports("a", "t1"))
	waitFor(t, "the first entry", func() bool { return p.count() == 1 })
	second := g.add(2, reports("a", "t2", "t3"))
	third := g.add(2, reports("b", "t4"))
	other := g.add(3, reports("c", "t5"))
	waitFor(t, "shard 3's entry, not held up by shard 2", func() bool { return p.count() == 2 })
	p.release <- nil // the first entry of shard 2 or shard 3
	p.release <- nil // the other
	if err := <-first; err != nil {
		t.Fatalf("first: %v", err)
	}
	if err := <-other; err != nil {
		t.Fatalf("other shard: %v", err)
	}
	waitFor(t, "the merged entry", func() bool { return p.count() == 3 })
	boom := errors.New("no quorum")
	p.release <- boom
	for _, c := range []<-chan error{second, third} {
		if err := <-c; !errors.Is(err, boom) {
			t.Fatalf("a sync of the merged entry got %v, want %v", err, boom)
		}
	}
	merged := p.entries[2]
	if len(merged.Status) != 3 || len(merged.ServiceIds) != 2 {
		t.Fatalf("merged entry: %d reports of services %v, want 3 of [a b]", len(merged.Status), merged.ServiceIds)
	}
	// Idle again: the next report goes at once.
	next := g.add(2, reports("a", "t6"))
	waitFor(t, "an entry after the idle", func() bool { return p.count() == 4 })
	p.release <- nil
	if err := <-next; err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitSplits: reports beyond maxGroupReports wait for an entry
// of their own.
func TestGroupCommitSplits(t *testing.T) {
	hold := make(chan error)
	p := &proposer{release: hold}
	g := newGroupCommit(p)
	g.add(2, reports("a", "first"))
	waitFor(t, "the first entry", func() bool { return p.count() == 1 })
	big := make([]string, maxGroupReports-1)
	for i := range big {
		big[i] = fmt.Sprint("t", i)
	}
	a := g.add(2, reports("a", big...))
	b := g.add(2, reports("a", "x1", "x2"))
	for range 3 {
		hold <- nil
	}
	for _, c := range []<-chan error{a, b} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	if p.count() != 3 || len(p.entries[1].Status) != maxGroupReports-1 || len(p.entries[2].Status) != 2 {
		t.Fatalf("entries: %d, want the big batch and the next apart", p.count())
	}
}

// storeCtl serves a dispatcher's task lists from a store; it commits
// nothing (the syncs below report nothing).
type storeCtl struct {
	DispatchControl
	// s is shard 1, more shards 2, 3 and on.
	s        *cluster.Store
	more     []*cluster.Store
	barriers int
	// reads counts the shards TasksOfNode read.
	reads int
	mu    sync.Mutex
	// portErrChecks counts the calls of SetPortErrors.
	portErrChecks int
	// lagging holds entries the leader committed that this replica has
	// not applied yet.
	lagging []*swarmv1.Command
}

func (c *storeCtl) stores() []*cluster.Store { return append([]*cluster.Store{c.s}, c.more...) }

func (c *storeCtl) TasksOfNode(id string, known map[string]uint64, since map[uint64]uint64, withIDs bool) ([]ShardTasks, error) {
	var out []ShardTasks
	for i, s := range c.stores() {
		shard := uint64(i + 1)
		st := ShardTasks{Shard: shard, NodeTasks: s.ReadNodeTasks(id, known, since[shard], withIDs)}
		if !st.Unchanged {
			c.reads++
		}
		out = append(out, st)
	}
	return out, nil
}
func (c *storeCtl) SetPortErrors(context.Context, string, map[string]string) error {
	c.portErrChecks++
	return nil
}
func (c *storeCtl) Attach(context.Context, []*swarmv1.Task) error { return nil }
func (c *storeCtl) AttachNode(context.Context, string) ([]*swarmv1.Attachment, error) {
	return nil, nil
}
func (c *storeCtl) Mesh() *swarmv1.Mesh { return nil }
func (c *storeCtl) ServiceShards() []uint64 {
	var shards []uint64
	for i := range c.stores() {
		shards = append(shards, uint64(i+1))
	}
	return shards
}

// Barrier counts the barriers and, when c.lagging holds entries, applies
// them to shard 1: the replica catches up with its leader. The
// dispatcher waits for the shards' barriers at once.
func (c *storeCtl) Barrier(context.Context, uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.barriers++
	for _, cmd := range c.lagging {
		if _, err := c.s.Apply(cmd); err != nil {
			return err
		}
	}
	c.lagging = nil
	return nil
}

// TestDeltaSync follows a node's delta syncs while its tasks change: a
// delta answer holds the tasks that are new or changed in a way the node
// acts on (not its own reports), names in gone those the node knows that
// it must no longer run (deleted, or ended and not meant to run when
// listed), and nothing else; a full sync lists every task. A delta
// request of a node that does not know node versions gets a whole list.
func TestDeltaSync(t *testing.T) {
	s := cluster.NewStore()
	apply := func(c *swarmv1.Command) {
		t.Helper()
		if _, err := s.Apply(c); err != nil {
			t.Fatal(err)
		}
	}
	svc := &swarmv1.Service{Id: "svc", Spec: &swarmv1.ServiceSpec{Name: "web", Task: &swarmv1.TaskSpec{Image: "img"}}}
	apply(&swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}})
	batch := func(b *swarmv1.TaskBatch) {
		t.Helper()
		apply(&swarmv1.Command{NowUnixNano: 1, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: b}})
	}
	var create []*swarmv1.Task
	for i, id := range []string{"t1", "t2", "t3"} {
		create = append(create, &swarmv1.Task{Id: id, ServiceId: "svc", Slot: uint64(i + 1), NodeId: "n1", SpecVersion: 1, Spec: svc.Spec.Task,
			DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING, Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ASSIGNED}})
	}
	create = append(create, &swarmv1.Task{Id: "other", ServiceId: "svc", Slot: 4, NodeId: "n2", SpecVersion: 1, Spec: svc.Spec.Task,
		DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING, Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ASSIGNED}})
	batch(&swarmv1.TaskBatch{Create: create})

	d := NewDispatcher(&storeCtl{s: s})
	seen := map[string]uint64{}
	sync := func(delta bool) (ids, gone []string) {
		t.Helper()
		resp := d.Sync(&swarmv1.TaskSyncRequest{NodeId: "n1", Delta: delta, Known: maps.Clone(seen), KnownNodeVersions: true})
		if resp.GetError() != "" {
			t.Fatal(resp.GetError())
		}
		if resp.GetDelta() != delta {
			t.Fatalf("answer delta=%v to a request delta=%v", resp.GetDelta(), delta)
		}
		if !delta {
			clear(seen)
		}
		for _, tk := range resp.GetTasks() {
			ids = append(ids, tk.Id)
			seen[tk.Id] = tk.NodeVersion
		}
		for _, id := range resp.GetGone() {
			delete(seen, id)
		}
		return ids, resp.GetGone()
	}
	expect := func(what string, delta bool, wantIDs, wantGone []string) {
		t.Helper()
		ids, gone := sync(delta)
		if !slices.Equal(ids, wantIDs) || !slices.Equal(gone, wantGone) {
			t.Errorf("%s: tasks %v gone %v, want tasks %v gone %v", what, ids, gone, wantIDs, wantGone)
		}
	}
	running := func(ids ...string) *swarmv1.TaskBatch {
		b := &swarmv1.TaskBatch{}
		for _, id := range ids {
			b.Status = append(b.Status, &swarmv1.TaskStatusUpdate{TaskId: id, Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_RUNNING}})
		}
		return b
	}

	expect("first sync", true, []string{"t1", "t2", "t3"}, nil)
	expect("nothing changed", true, nil, nil)
	batch(running("t1"))
	expect("t1 reported running", true, nil, nil)
	batch(&swarmv1.TaskBatch{Desire: []*swarmv1.TaskDesire{{TaskId: "t2", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}})
	expect("t2 told to stop", true, []string{"t2"}, nil)
	batch(&swarmv1.TaskBatch{Status: []*swarmv1.TaskStatusUpdate{{TaskId: "t2", Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}}})
	expect("t2 reported ended", true, nil, nil)
	batch(&swarmv1.TaskBatch{Desire: []*swarmv1.TaskDesire{{TaskId: "t1", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN}},
		Status: []*swarmv1.TaskStatusUpdate{{TaskId: "t1", Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ORPHANED}}}})
	expect("t1 told to stop and orphaned", true, nil, []string{"t1"})
	batch(&swarmv1.TaskBatch{Delete: []string{"t3"}})
	expect("t3 deleted", true, nil, []string{"t3"})
	batch(&swarmv1.TaskBatch{Create: []*swarmv1.Task{{Id: "t4", ServiceId: "svc", Slot: 5, NodeId: "n1", SpecVersion: 1, Spec: svc.Spec.Task,
		DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING, Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ASSIGNED}}}})
	seen["t4"] = cluster.CreatedNodeVersion // as from a poke that brought it
	batch(running("t4"))
	expect("t4 brought by a poke, reported running", true, nil, nil)
	// A node older than node versions sends versions: it is answered the
	// whole list (t2 ended and is not meant to run: not listed).
	resp := d.Sync(&swarmv1.TaskSyncRequest{NodeId: "n1", Delta: true, Known: map[string]uint64{"t2": 5, "t4": 2}})
	var ids []string
	for _, tk := range resp.GetTasks() {
		ids = append(ids, tk.Id)
	}
	if resp.GetDelta() || !slices.Equal(ids, []string{"t4"}) || len(resp.GetGone()) != 0 {
		t.Errorf("a delta request by versions: answer delta=%v, tasks %v, gone %v; want the whole list [t4]", resp.GetDelta(), ids, resp.GetGone())
	}
	expect("full sync", false, []string{"t4"}, nil)
	if want := map[string]uint64{"t4": seen["t4"]}; !maps.Equal(seen, want) || len(seen) != 1 {
		t.Errorf("the node's tasks end as %v, want only t4", seen)
	}
}

// TestDeltaSyncRevisions follows a node with tasks in two shards whose
// delta syncs send back the revisions of the last answer: a shard where
// none of its tasks changed is not read, and every answer is the one a
// sync without revisions gets (tasks, gone and revisions), also when a
// task goes in one shard while the other is not read, and when the node
// sends revisions that are stale or wrong.
func TestDeltaSyncRevisions(t *testing.T) {
	ctl := &storeCtl{s: cluster.NewStore(), more: []*cluster.Store{cluster.NewStore()}}
	index := map[*cluster.Store]uint64{}
	apply := func(s *cluster.Store, b *swarmv1.TaskBatch) {
		t.Helper()
		index[s]++
		if _, err := s.ApplyAt(index[s], &swarmv1.Command{NowUnixNano: 1, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: b}}); err != nil {
			t.Fatal(err)
		}
	}
	spec := &swarmv1.TaskSpec{Image: "img"}
	for i, s := range ctl.stores() {
		svc := &swarmv1.Service{Id: fmt.Sprint("svc", i), Spec: &swarmv1.ServiceSpec{Name: fmt.Sprint("web", i), Task: spec}}
		index[s]++
		if _, err := s.ApplyAt(index[s], &swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}}); err != nil {
			t.Fatal(err)
		}
		var create []*swarmv1.Task
		for j, node := range []string{"n1", "n1", "n2"} {
			create = append(create, &swarmv1.Task{Id: fmt.Sprintf("s%d-%d", i+1, j), ServiceId: svc.Id, Slot: uint64(j + 1), NodeId: node, SpecVersion: 1, Spec: spec,
				DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING, Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ASSIGNED}})
		}
		apply(s, &swarmv1.TaskBatch{Create: create})
	}
	s1, s2 := ctl.s, ctl.more[0]
	d := NewDispatcher(ctl)
	seen := map[string]uint64{}
	var revs []*swarmv1.ShardRevision
	// sync syncs as the node does, checks the answer against a sync
	// without revisions, and returns the shards read.
	sync := func(what string, delta bool, wantIDs, wantGone []string) int {
		t.Helper()
		ref := d.Sync(&swarmv1.TaskSyncRequest{NodeId: "n1", Delta: delta, Known: maps.Clone(seen), KnownNodeVersions: true})
		reads := ctl.reads
		resp := d.Sync(&swarmv1.TaskSyncRequest{NodeId: "n1", Delta: delta, Known: maps.Clone(seen), Revisions: revs, KnownNodeVersions: true})
		reads = ctl.reads - reads
		if resp.GetError() != "" || ref.GetError() != "" {
			t.Fatal(resp.GetError(), ref.GetError())
		}
		ids := func(r *swarmv1.TaskSyncResponse) (ids []string) {
			for _, tk := range r.GetTasks() {
				ids = append(ids, fmt.Sprint(tk.Id, "@", tk.NodeVersion))
			}
			slices.Sort(ids)
			return ids
		}
		if got, want := ids(resp), ids(ref); !slices.Equal(got, want) || !slices.Equal(resp.GetGone(), ref.GetGone()) {
			t.Errorf("%s: tasks %v gone %v, a sync without revisions gets %v gone %v", what, got, resp.GetGone(), want, ref.GetGone())
		}
		for i, r := range resp.GetRevisions() {
			if i >= len(ref.GetRevisions()) || !proto.Equal(r, ref.GetRevisions()[i]) {
				t.Errorf("%s: revisions %v, a sync without revisions gets %v", what, resp.GetRevisions(), ref.GetRevisions())
				break
			}
		}
		var got []string
		for _, tk := range resp.GetTasks() {
			got = append(got, tk.Id)
		}
		slices.Sort(got)
		if !slices.Equal(got, wantIDs) || !slices.Equal(resp.GetGone(), wantGone) {
			t.Errorf("%s: tasks %v gone %v, want %v gone %v", what, got, resp.GetGone(), wantIDs, wantGone)
		}
		if !delta {
			clear(seen)
		}
		for _, tk := range resp.GetTasks() {
			seen[tk.Id] = tk.NodeVersion
		}
		for _, id := range resp.GetGone() {
			delete(seen, id)
		}
		revs = resp.GetRevisions()
		return reads
	}
	running := func(id string) *swarmv1.TaskBatch {
		return &swarmv1.TaskBatch{Status: []*swarmv1.TaskStatusUpdate{{TaskId: id, Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_RUNNING}}}}
	}
	expectReads := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %d shards read, want %d", what, got, want)
		}
	}

	expectReads("whole list", sync("whole list", false, []string{"s1-0", "s1-1", "s2-0", "s2-1"}, nil), 2)
	if len(revs) != 2 || revs[0].GetTasks() != 2 || revs[1].GetTasks() != 2 || revs[0].GetRevision() != index[s1] || revs[1].GetRevision() != index[s2] {
		t.Fatalf("revisions %v, want 2 tasks at %d in shard 1 and at %d in shard 2", revs, index[s1], index[s2])
	}
	expectReads("nothing changed", sync("nothing changed", true, nil, nil), 0)
	apply(s1, running("s1-0"))
	expectReads("a task reported running in shard 1", sync("a task reported running in shard 1", true, nil, nil), 0)
	apply(s1, &swarmv1.TaskBatch{Desire: []*swarmv1.TaskDesire{{TaskId: "s1-0", DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING}}})
	expectReads("a desired state that is the same", sync("a desired state that is the same", true, nil, nil), 0)
	apply(s1, &swarmv1.TaskBatch{Create: []*swarmv1.Task{{Id: "s1-3", ServiceId: "svc0", Slot: 4, NodeId: "n1", SpecVersion: 1, Spec: spec,
		DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING, Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ASSIGNED}}}})
	expectReads("a task created in shard 1", sync("a task created in shard 1", true, []string{"s1-3"}, nil), 1)
	apply(s1, &swarmv1.TaskBatch{Desire: []*swarmv1.TaskDesire{{TaskId: "s1-2", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}})
	expectReads("another node's task changed", sync("another node's task changed", true, nil, nil), 0)
	apply(s2, &swarmv1.TaskBatch{Delete: []string{"s2-1"}})
	// Shard 2, then both with IDs to name what went; all again behind a
	// barrier (a task may not have gone but be new to this replica).
	expectReads("a task deleted in shard 2", sync("a task deleted in shard 2", true, nil, []string{"s2-1"}), 6)
	apply(s1, &swarmv1.TaskBatch{Desire: []*swarmv1.TaskDesire{{TaskId: "s1-1", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}})
	apply(s1, &swarmv1.TaskBatch{Status: []*swarmv1.TaskStatusUpdate{{TaskId: "s1-1", Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}}})
	expectReads("a task ended in shard 1", sync("a task ended in shard 1", true, nil, []string{"s1-1"}), 6)
	expectReads("nothing changed again", sync("nothing changed again", true, nil, nil), 0)

	// Revisions the node did not get from its last answer: a stale one is
	// read again; a wrong count makes the dispatcher read every shard
	// with IDs, and it still answers right.
	stale := proto.Clone(revs[0]).(*swarmv1.ShardRevision)
	stale.Revision--
	revs = []*swarmv1.ShardRevision{stale, revs[1]}
	expectReads("a stale revision", sync("a stale revision", true, nil, nil), 1)
	wrong := proto.Clone(revs[1]).(*swarmv1.ShardRevision)
	wrong.Tasks += 3
	revs = []*swarmv1.ShardRevision{revs[0], wrong}
	expectReads("a wrong count", sync("a wrong count", true, nil, nil), 2)
	if want := map[string]uint64{"s1-0": seen["s1-0"], "s1-3": seen["s1-3"], "s2-0": seen["s2-0"]}; !maps.Equal(seen, want) {
		t.Errorf("the node's tasks end as %v, want s1-0, s1-3 and s2-0", seen)
	}
}

// barrierCtl counts read barriers and holds each until released.
type barrierCtl struct {
	DispatchControl
	calls   atomic.Int32
	release chan error
}

func (c *barrierCtl) Barrier(context.Context, uint64) error {
	c.calls.Add(1)
	return <-c.release
}

// TestBarrierGroup: syncs that ask for a barrier while one runs share the
// next one, and none returns on a barrier that started before it asked.
func TestBarrierGroup(t *testing.T) {
	c := &barrierCtl{release: make(chan error)}
	g := newBarrierGroup(c)
	done := func() chan error {
		ch := make(chan error, 1)
		go func() { ch <- g.wait(context.Background(), 7) }()
		return ch
	}
	a := done()
	waitFor(t, "the first barrier", func() bool { return c.calls.Load() == 1 })
	b, cc := done(), done()
	time.Sleep(20 * time.Millisecond) // b and cc now wait behind the running barrier
	c.release <- nil
	if err := <-a; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second barrier", func() bool { return c.calls.Load() == 2 })
	select {
	case <-b:
		t.Fatal("a sync that asked while a barrier ran returned with that barrier")
	case <-cc:
		t.Fatal("a sync that asked while a barrier ran returned with that barrier")
	case <-time.After(20 * time.Millisecond):
	}
	failed := errors.New("no quorum")
	c.release <- failed
	for _, ch := range []chan error{b, cc} {
		if err := <-ch; !errors.Is(err, failed) {
			t.Errorf("second round: %v, want %v", err, failed)
		}
	}
	if n := c.calls.Load(); n != 2 {
		t.Errorf("%d barriers for three syncs, want 2", n)
	}
}

// TestDeltaSyncLaggingReplica: a task the node knows (from another
// manager) that this replica has not applied yet is not declared gone:
// the dispatcher reads behind a barrier first; a task that did go is.
func TestDeltaSyncLaggingReplica(t *testing.T) {
	s := cluster.NewStore()
	svc := &swarmv1.Service{Id: "svc", Spec: &swarmv1.ServiceSpec{Name: "web", Task: &swarmv1.TaskSpec{Image: "img"}}}
	if _, err := s.Apply(&swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}}); err != nil {
		t.Fatal(err)
	}
	create := func(id string) *swarmv1.Command {
		return &swarmv1.Command{NowUnixNano: 1, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: &swarmv1.TaskBatch{Create: []*swarmv1.Task{{
			Id: id, ServiceId: "svc", Slot: 1, NodeId: "n1", SpecVersion: 1, Spec: svc.Spec.Task,
			DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING, Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ASSIGNED},
		}}}}}
	}
	if _, err := s.Apply(create("t1")); err != nil {
		t.Fatal(err)
	}
	ctl := &storeCtl{s: s, lagging: []*swarmv1.Command{create("t2")}}
	d := NewDispatcher(ctl)
	// The node has t2 (node version 1, from the leader) and t9, which was
	// deleted; it never heard of t1.
	resp := d.Sync(&swarmv1.TaskSyncRequest{NodeId: "n1", Delta: true, Known: map[string]uint64{"t2": 1, "t9": 3}, KnownNodeVersions: true})
	if resp.GetError() != "" {
		t.Fatal(resp.GetError())
	}
	if got := resp.GetGone(); !slices.Equal(got, []string{"t9"}) {
		t.Errorf("gone %v, want [t9]: a task this replica had not applied yet was dropped", got)
	}
	var ids []string
	for _, tk := range resp.GetTasks() {
		ids = append(ids, tk.Id)
	}
	if !slices.Equal(ids, []string{"t1"}) {
		t.Errorf("tasks %v, want [t1]", ids)
	}
	if ctl.barriers != 1 {
		t.Errorf("%d barriers, want 1 (one shard)", ctl.barriers)
	}
	// Nothing gone: no barrier.
	d.Sync(&swarmv1.TaskSyncRequest{NodeId: "n1", Delta: true, Known: map[string]uint64{"t1": 1, "t2": 1}, KnownNodeVersions: true})
	if ctl.barriers != 1 {
		t.Errorf("%d barriers after a sync with nothing gone, want still 1", ctl.barriers)
	}
	// A whole list (the node stops what it does not name) is read behind
	// a barrier too.
	ctl.lagging = []*swarmv1.Command{create("t3")}
	resp = d.Sync(&swarmv1.TaskSyncRequest{NodeId: "n1"})
	ids = nil
	for _, tk := range resp.GetTasks() {
		ids = append(ids, tk.Id)
	}
	if !slices.Equal(ids, []string{"t1", "t2", "t3"}) {
		t.Errorf("a whole list of %v, want [t1 t2 t3]", ids)
	}
}

// TestSyncComparesPortErrorsWhenTheyMayDiffer: a delta sync whose node
// says its port errors are those of its last answered sync does not have
// them compared; any other sync, and every whole-list sync, does.
func TestSyncComparesPortErrorsWhenTheyMayDiffer(t *testing.T) {
	ctl := &storeCtl{s: cluster.NewStore()}
	d := NewDispatcher(ctl)
	for _, tc := range []struct {
		delta, unchanged bool
		checked          int
	}{{true, true, 0}, {true, false, 1}, {false, true, 1}, {false, false, 1}} {
		ctl.portErrChecks = 0
		resp := d.Sync(&swarmv1.TaskSyncRequest{NodeId: "n1", Delta: tc.delta, PortErrorsUnchanged: tc.unchanged,
			PortErrors: map[string]string{"80/tcp": "address in use"}})
		if resp.GetError() != "" {
			t.Fatal(resp.GetError())
		}
		if ctl.portErrChecks != tc.checked {
			t.Errorf("delta %v, unchanged %v: port errors compared %d times, want %d", tc.delta, tc.unchanged, ctl.portErrChecks, tc.checked)
		}
	}
}
