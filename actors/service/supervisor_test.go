package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/actors/scheduler"
	"github.com/actorswarm/swarm/cluster"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// storeEnv is a supervisor's manager backed by a real store: proposals
// are applied to it at once (deduplicated by request ID, as in Raft).
// lose makes the next n proposals report no quorum and apply 500 ms
// later, as a proposal that committed after its caller gave up; barrierErr fails the
// read barriers while set.
type storeEnv struct {
	mu      sync.Mutex
	store   *cluster.Store
	nodes   []*swarmv1.Node
	ids     atomic.Int64
	entries []*swarmv1.TaskBatch
	// views counts reconciles; pokes holds, for each Poke, the nodes told
	// and how many entries had committed then.
	views      int
	pokes      []poke
	lose       int
	barrierErr error
	barriers   int
	// commitButFail makes the next n proposals commit and report an
	// error, as one whose outcome its proposer never learnt.
	commitButFail int
	// notLeading makes Leads false; logs collects what is logged.
	notLeading atomic.Bool
	logs       lockedBuffer
	// extraStarting adds to the tasks Starting counts.
	extraStarting atomic.Int64
	// ahead moves Now forward.
	ahead atomic.Int64
}

type poke struct {
	nodes   []string
	created map[string][]*swarmv1.Task
	entries int
}

// lockedBuffer is a bytes.Buffer safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newStoreEnv(t *testing.T, replicas uint64, nodes int, opts ...func(*swarmv1.ServiceSpec)) *storeEnv {
	t.Helper()
	e := &storeEnv{store: cluster.NewStore()}
	for i := range nodes {
		e.nodes = append(e.nodes, &swarmv1.Node{
			Id: fmt.Sprintf("node%d", i), Role: swarmv1.NodeRole_NODE_ROLE_WORKER,
			Description: &swarmv1.NodeDescription{Hostname: fmt.Sprintf("n%d", i), Runtimes: []string{"sim"}},
			Spec:        &swarmv1.NodeSpec{Availability: swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE},
			Status:      &swarmv1.NodeStatus{State: swarmv1.NodeState_NODE_STATE_READY},
		})
	}
	svc := &swarmv1.Service{Id: "svc", Spec: &swarmv1.ServiceSpec{
		Name: "web", Mode: swarmv1.ServiceMode_SERVICE_MODE_REPLICATED, Replicas: replicas,
		Task: &swarmv1.TaskSpec{Image: "sim", Runtime: "sim"},
	}}
	for _, o := range opts {
		o(svc.Spec)
	}
	if _, err := e.store.Apply(&swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *storeEnv) Leads(uint64) bool          { return !e.notLeading.Load() }
func (e *storeEnv) ServiceShards() []uint64    { return []uint64{2} }
func (e *storeEnv) ServicesIn(uint64) []string { return []string{"svc"} }
func (e *storeEnv) NodesByID() map[string]*swarmv1.Node {
	byID := make(map[string]*swarmv1.Node, len(e.nodes))
	for _, n := range e.nodes {
		byID[n.Id] = n
	}
	return byID
}
func (e *storeEnv) Rebalance() bool { return false }

// Starting counts the store's starting tasks, and those of other services
// that extraStarting makes up.
func (e *storeEnv) Starting() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.store.StartingTasks() + int(e.extraStarting.Load())
}
func (e *storeEnv) Poke(_ uint64, nodes []string, created map[string][]*swarmv1.Task) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pokes = append(e.pokes, poke{nodes: nodes, created: created, entries: len(e.entries)})
}
func (e *storeEnv) NewID() string        { return fmt.Sprintf("t%06d", e.ids.Add(1)) }
func (e *storeEnv) Now() time.Time       { return time.Now().Add(time.Duration(e.ahead.Load())) }
func (e *storeEnv) Logger() *slog.Logger { return slog.New(slog.NewTextHandler(&e.logs, nil)) }

func (e *storeEnv) View(id string, cache map[string]*swarmv1.Task) (*swarmv1.Service, []*swarmv1.Task, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.views++
	svc, ok := e.store.Service(id)
	if !ok {
		return nil, nil, false
	}
	return svc, e.store.TasksOfServiceCached(id, cache), true
}

func (e *storeEnv) Usage() iter.Seq2[string, scheduler.Usage] {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]scheduler.Usage)
	e.store.EachUsage(func(id string, u *cluster.NodeUsage) {
		out[id] = scheduler.Usage{Tasks: u.Tasks}
	})
	return maps.All(out)
}

func (e *storeEnv) Propose(_ context.Context, _ uint64, cmd *swarmv1.Command) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lose > 0 {
		// Committed, but applied only after the caller gave up.
		e.lose--
		time.AfterFunc(500*time.Millisecond, func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			_, _ = e.store.Apply(cmd)
		})
		return cluster.ErrNoQuorum
	}
	if _, err := e.store.Apply(cmd); err != nil {
		return err
	}
	e.entries = append(e.entries, cmd.GetTaskBatch())
	if e.commitButFail > 0 {
		e.commitButFail--
		return errors.New("timed out")
	}
	return nil
}

func (e *storeEnv) Barrier(context.Context, uint64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.barriers++
	return e.barrierErr
}

// slots returns how many live tasks each slot has.
func (e *storeEnv) slots() map[uint64]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[uint64]int)
	for _, t := range e.store.TasksOfService("svc") {
		if t.DesiredState <= swarmv1.TaskState_TASK_STATE_RUNNING && !cluster.Terminal(t.GetStatus().GetState()) {
			out[t.Slot]++
		}
	}
	return out
}

func (e *storeEnv) counts() (entries, barriers int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.entries), e.barriers
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func spawnSupervisor(t *testing.T, e *storeEnv) (*actor.ActorSystem, *actor.PID) {
	t.Helper()
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	return system, system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return NewSupervisor("svc", 2, e, nil) }))
}

// TestSupervisorCreatesInEntriesOfEntryCreates: a big service starts in
// entries of at most entryCreates tasks, several from one reconcile, the
// nodes of each entry's tasks told once it commits; one task per slot in
// the end.
func TestSupervisorCreatesInEntriesOfEntryCreates(t *testing.T) {
	const replicas = 2*entryCreates + 500
	e := newStoreEnv(t, replicas, 50)
	spawnSupervisor(t, e)
	waitUntil(t, "every slot filled", func() bool { return len(e.slots()) == replicas })
	for slot, n := range e.slots() {
		if n != 1 {
			t.Fatalf("slot %d has %d live tasks", slot, n)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.entries) < 3 {
		t.Fatalf("%d tasks created in %d entries, want at least 3", replicas, len(e.entries))
	}
	if e.views >= len(e.entries) {
		t.Errorf("%d reconciles for %d entries, want fewer: one reconcile makes several entries", e.views, len(e.entries))
	}
	for i, b := range e.entries {
		if n := len(creations(b)); n > entryCreates {
			t.Errorf("entry %d creates %d tasks, more than %d", i, n, entryCreates)
		}
		told := make(map[string]bool)
		for _, p := range e.pokes {
			if p.entries == i+1 {
				for _, n := range p.nodes {
					told[n] = true
				}
				for n, tasks := range p.created {
					for _, c := range tasks {
						if c.GetNodeId() != n {
							t.Fatalf("entry %d: task %s of node %s given to node %s", i, c.GetId(), c.GetNodeId(), n)
						}
						told[c.GetId()] = true
					}
				}
			}
		}
		for _, c := range creations(b) {
			if !told[c.node] && !told[c.id] {
				t.Fatalf("entry %d: node %s of task %s not told right after the entry committed", i, c.node, c.id)
			}
		}
	}
}

// creation is a task an entry creates: its ID and node.
type creation struct{ id, node string }

// creations returns the tasks an entry creates, those of create then
// those of new_tasks.
func creations(b *swarmv1.TaskBatch) []creation {
	var out []creation
	for _, t := range b.GetCreate() {
		out = append(out, creation{t.GetId(), t.GetNodeId()})
	}
	for _, g := range b.GetNewTasks() {
		for _, t := range g.GetTasks() {
			out = append(out, creation{t.GetId(), t.GetNodeId()})
		}
	}
	return out
}

// TestSupervisorGivesNodesTheirNewTasks: a node whose only change in an
// entry is new tasks gets them with the poke, as they were committed; a
// node with another change in the entry (a task of its told to stop) is
// told to sync, and so is every node when the tasks wait for network
// attachments.
func TestSupervisorGivesNodesTheirNewTasks(t *testing.T) {
	// pokesOf returns, for the entry that created task id, the nodes told
	// to sync and the tasks given.
	pokesOf := func(e *storeEnv, id string) (nodes []string, given map[string][]*swarmv1.Task) {
		t.Helper()
		e.mu.Lock()
		defer e.mu.Unlock()
		for i, b := range e.entries {
			for _, c := range creations(b) {
				if c.id != id {
					continue
				}
				given = make(map[string][]*swarmv1.Task)
				for _, p := range e.pokes {
					if p.entries == i+1 {
						nodes = append(nodes, p.nodes...)
						for n, ts := range p.created {
							given[n] = append(given[n], ts...)
						}
					}
				}
				return nodes, given
			}
		}
		t.Fatalf("no entry created %s", id)
		return nil, nil
	}
	// started runs a supervisor of e until its replicas are placed, and
	// returns the tasks stored.
	started := func(t *testing.T, e *storeEnv, replicas int) []*swarmv1.Task {
		t.Helper()
		spawnSupervisor(t, e)
		waitUntil(t, "every slot filled", func() bool { return len(e.slots()) == replicas })
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.store.TasksOfService("svc")
	}
	t.Run("new tasks only", func(t *testing.T) {
		e := newStoreEnv(t, 6, 3)
		stored := started(t, e, 6)
		e.mu.Lock()
		for i, b := range e.entries {
			if len(b.GetCreate()) != 0 || len(creations(b)) == 0 {
				t.Errorf("entry %d creates %d tasks whole, %d from the service; want all from the service", i, len(b.GetCreate()), len(creations(b)))
			}
		}
		e.mu.Unlock()
		for _, st := range stored {
			nodes, given := pokesOf(e, st.Id)
			if len(nodes) != 0 {
				t.Fatalf("nodes %v told to sync for an entry of new tasks only", nodes)
			}
			found := 0
			for n, ts := range given {
				for _, g := range ts {
					if g.GetNodeId() != n {
						t.Fatalf("task %s of node %s given to %s", g.GetId(), g.GetNodeId(), n)
					}
					if g.GetId() == st.Id {
						found++
						if g.GetSlot() != st.Slot || g.GetNodeId() != st.NodeId || g.GetSpec().GetImage() != "sim" ||
							g.GetStatus().GetState() != swarmv1.TaskState_TASK_STATE_ASSIGNED || g.GetDesiredState() != swarmv1.TaskState_TASK_STATE_RUNNING {
							t.Fatalf("task given %v, committed %v", g, st)
						}
					}
				}
			}
			if found != 1 {
				t.Fatalf("task %s given %d times, want once", st.Id, found)
			}
		}
	})
	t.Run("a node with another change syncs", func(t *testing.T) {
		e := newStoreEnv(t, 1, 1)
		system, pid := spawnSupervisor(t, e)
		waitUntil(t, "the slot filled", func() bool { return len(e.slots()) == 1 })
		e.mu.Lock()
		first := e.store.TasksOfService("svc")[0]
		_, err := e.store.Apply(&swarmv1.Command{Cmd: &swarmv1.Command_TaskBatch{TaskBatch: &swarmv1.TaskBatch{ServiceIds: []string{"svc"},
			Status: []*swarmv1.TaskStatusUpdate{{TaskId: first.Id, Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_FAILED}}}}}})
		e.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		system.Root.Send(pid, &Changed{})
		var next string
		waitUntil(t, "the failed task replaced", func() bool {
			e.mu.Lock()
			defer e.mu.Unlock()
			for _, x := range e.store.TasksOfService("svc") {
				if x.Id != first.Id {
					next = x.Id
				}
			}
			return next != ""
		})
		nodes, given := pokesOf(e, next)
		if len(given) != 0 || !slices.Contains(nodes, "node0") {
			t.Fatalf("node0 stops %s and gets %s in one entry: told to sync %v, given %v; want a sync", first.Id, next, nodes, given)
		}
	})
	t.Run("tasks on networks", func(t *testing.T) {
		e := newStoreEnv(t, 4, 2, func(s *swarmv1.ServiceSpec) { s.Networks = []string{"net1"} })
		for _, st := range started(t, e, 4) {
			nodes, given := pokesOf(e, st.Id)
			if len(given) != 0 || !slices.Contains(nodes, st.NodeId) {
				t.Fatalf("task %s on a network: told to sync %v, given %v; want %s told to sync", st.Id, nodes, given, st.NodeId)
			}
		}
	})
}

// TestSupervisorCreatesWithinTheStartingBudget: with startingBudget tasks
// starting in the swarm a supervisor creates none, and does not reconcile
// for its wake-ups; it creates as many as there is room for, and the rest
// once the others started.
func TestSupervisorCreatesWithinTheStartingBudget(t *testing.T) {
	e := newStoreEnv(t, 10, 5)
	e.extraStarting.Store(startingBudget)
	spawnSupervisor(t, e)
	waitUntil(t, "a first reconcile", func() bool { e.mu.Lock(); defer e.mu.Unlock(); return e.views > 0 })
	// Nothing to wait for: several wake-ups pass, none creates.
	time.Sleep(3 * throttleRetry)
	e.mu.Lock()
	views := e.views
	e.mu.Unlock()
	if n := len(e.slots()); n != 0 || views != 1 {
		t.Fatalf("without room: %d tasks created, %d reconciles; want none created, 1 reconcile", n, views)
	}
	e.extraStarting.Store(startingBudget - 4)
	waitUntil(t, "4 tasks created in the room for 4", func() bool { return len(e.slots()) == 4 })
	time.Sleep(2 * throttleRetry)
	if n := len(e.slots()); n != 4 {
		t.Fatalf("%d tasks created with room for 4", n)
	}
	e.extraStarting.Store(0)
	waitUntil(t, "the other 6 once there is room", func() bool { return len(e.slots()) == 10 })
}

// TestSupervisorQuietSkipsSafetyTicks: once its service is quiet, a
// supervisor's safety ticks reconcile only every quietPeriod; being told
// of a change reconciles at once; a task waiting for a node keeps every
// tick reconciling.
func TestSupervisorQuietSkipsSafetyTicks(t *testing.T) {
	views := func(e *storeEnv) int { e.mu.Lock(); defer e.mu.Unlock(); return e.views }
	// settled waits until no reconcile ran for a while, and returns how
	// many ran.
	settled := func(e *storeEnv) int {
		t.Helper()
		n := views(e)
		for range 50 {
			time.Sleep(40 * time.Millisecond)
			if m := views(e); m == n {
				return n
			} else {
				n = m
			}
		}
		t.Fatal("the supervisor never settled")
		return 0
	}
	ticks := func(system *actor.ActorSystem, pid *actor.PID, n int) {
		for range n {
			system.Root.Send(pid, &safetyTick{})
		}
	}
	// expect waits for the reconciles that want more of (a loaded
	// machine may run one later than settled's window), then checks that
	// no more ran.
	expect := func(e *storeEnv, what string, want int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); views(e) < want && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		if got := settled(e); got != want {
			t.Fatalf("%s: %d reconciles, want %d", what, got, want)
		}
	}

	e := newStoreEnv(t, 3, 3)
	system, pid := spawnSupervisor(t, e)
	waitUntil(t, "every slot filled", func() bool { return len(e.slots()) == 3 })
	n := settled(e)
	// The reconcile that created the tasks proposed: not quiet.
	ticks(system, pid, 1)
	expect(e, "the first tick", n+1)
	ticks(system, pid, 3)
	expect(e, "three ticks of a quiet service", n+1)
	system.Root.Send(pid, &Changed{})
	expect(e, "told of a change", n+2)
	ticks(system, pid, 2)
	expect(e, "quiet again", n+2)
	e.ahead.Store(int64(quietPeriod))
	ticks(system, pid, 1)
	expect(e, "a tick once quietPeriod passed", n+3)

	// Reports of tasks getting further in starting, with nothing waiting
	// for them, are not looked at.
	for range 3 {
		system.Root.Send(pid, &Changed{Progress: true})
	}
	time.Sleep(progressGap + 100*time.Millisecond)
	expect(e, "progress with nothing waiting for it", n+3)
	// Nor are ticks while the swarm has no room for the tasks this
	// supervisor holds back: its wake-ups look for room.
	e.mu.Lock()
	e.store.Apply(&swarmv1.Command{Cmd: &swarmv1.Command_UpdateService{UpdateService: &swarmv1.UpdateService{ServiceId: "svc", ExpectedVersion: 1,
		Spec: &swarmv1.ServiceSpec{Name: "web", Mode: swarmv1.ServiceMode_SERVICE_MODE_REPLICATED, Replicas: 6, Task: &swarmv1.TaskSpec{Image: "sim", Runtime: "sim"}}}}})
	e.mu.Unlock()
	e.extraStarting.Store(startingBudget)
	system.Root.Send(pid, &Changed{})
	expect(e, "scaled up without room", n+4)
	time.Sleep(2 * throttleRetry) // wake-ups without room: no reconcile
	ticks(system, pid, 3)
	expect(e, "ticks without room", n+4)
	e.extraStarting.Store(0)
	waitUntil(t, "the 3 new tasks once there is room", func() bool { return len(e.slots()) == 6 })

	// No node to place tasks on: each tick looks again.
	w := newStoreEnv(t, 2, 0)
	system, pid = spawnSupervisor(t, w)
	waitUntil(t, "the tasks created", func() bool { w.mu.Lock(); defer w.mu.Unlock(); return len(w.entries) > 0 })
	n = settled(w)
	ticks(system, pid, 1)
	expect(w, "a tick with tasks waiting for a node", n+1)
}

// TestSupervisorRoomGoneWhileWaitingForItsTurn: a throttled supervisor
// woken by room in the swarm does not look at its service if, once its
// turn for a reconcile comes, the room is gone; it creates once there is
// room at its turn.
func TestSupervisorRoomGoneWhileWaitingForItsTurn(t *testing.T) {
	e := newStoreEnv(t, 10, 5)
	e.extraStarting.Store(startingBudget)
	slots := make(chan struct{}, 1)
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		s := NewSupervisor("svc", 2, e, nil)
		s.slots = slots
		return s
	}))
	views := func() int { e.mu.Lock(); defer e.mu.Unlock(); return e.views }
	waitUntil(t, "a first reconcile", func() bool { return views() == 1 })
	slots <- struct{}{} // another supervisor's turn
	e.extraStarting.Store(startingBudget - 4)
	time.Sleep(3 * throttleRetry) // woken with room, waiting for its turn
	e.extraStarting.Store(startingBudget)
	<-slots
	time.Sleep(3 * throttleRetry)
	if n, v := len(e.slots()), views(); n != 0 || v != 1 {
		t.Fatalf("%d tasks created, %d reconciles; want none created, still 1 reconcile", n, v)
	}
	e.extraStarting.Store(0)
	waitUntil(t, "the 10 tasks once there is room", func() bool { return len(e.slots()) == 10 })
}

// TestSupervisorWaitsForBarrier: nothing is decided before the replica
// was made current; a failed barrier is tried again.
func TestSupervisorWaitsForBarrier(t *testing.T) {
	e := newStoreEnv(t, 3, 2)
	e.barrierErr = errors.New("no quorum yet")
	spawnSupervisor(t, e)
	waitUntil(t, "a second barrier after the first failed", func() bool { _, b := e.counts(); return b >= 2 })
	if n, _ := e.counts(); n != 0 {
		t.Fatalf("%d entries proposed before any barrier succeeded", n)
	}
	e.mu.Lock()
	e.barrierErr = nil
	e.mu.Unlock()
	waitUntil(t, "3 slots filled once the barrier passed", func() bool { return len(e.slots()) == 3 })
}

// TestSupervisorRetellsNodesOnTakingOver: a supervisor taking a service
// over pokes, before anything else, the nodes of the tasks not yet where
// they are meant to be (its predecessor's last entry may have committed
// without its pokes): a task assigned and not running, and a running one
// told to stop; not the node whose task runs as meant.
func TestSupervisorRetellsNodesOnTakingOver(t *testing.T) {
	e := newStoreEnv(t, 3, 4)
	spec := &swarmv1.TaskSpec{Image: "sim", Runtime: "sim"}
	task := func(id string, slot uint64, node string) *swarmv1.Task {
		return &swarmv1.Task{Id: id, ServiceId: "svc", Slot: slot, NodeId: node, Spec: spec, DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING,
			Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ASSIGNED}}
	}
	running := &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_RUNNING}
	for _, b := range []*swarmv1.TaskBatch{
		{Create: []*swarmv1.Task{task("assigned", 1, "node0"), task("running", 2, "node1"), task("stopping", 3, "node2"), task("other", 3, "node3")}},
		{Status: []*swarmv1.TaskStatusUpdate{{TaskId: "running", Status: running}, {TaskId: "stopping", Status: running}, {TaskId: "other", Status: running}}},
		{Desire: []*swarmv1.TaskDesire{{TaskId: "stopping", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}},
	} {
		if _, err := e.store.Apply(&swarmv1.Command{Cmd: &swarmv1.Command_TaskBatch{TaskBatch: b}}); err != nil {
			t.Fatal(err)
		}
	}
	spawnSupervisor(t, e)
	waitUntil(t, "a poke", func() bool { e.mu.Lock(); defer e.mu.Unlock(); return len(e.pokes) > 0 })
	e.mu.Lock()
	defer e.mu.Unlock()
	first := e.pokes[0]
	slices.Sort(first.nodes)
	if first.entries != 0 || !slices.Equal(first.nodes, []string{"node0", "node2"}) || len(first.created) != 0 {
		t.Fatalf("first poke: nodes %v, tasks %v after %d entries; want node0 and node2 told before any entry", first.nodes, first.created, first.entries)
	}
}

// TestSupervisorRetellsNodesAfterAFailedProposal: a proposal that
// committed though its proposer was told it failed left its nodes
// untold; the next reconcile tells them.
func TestSupervisorRetellsNodesAfterAFailedProposal(t *testing.T) {
	e := newStoreEnv(t, 3, 3)
	e.commitButFail = 1
	spawnSupervisor(t, e)
	waitUntil(t, "3 slots filled", func() bool { return len(e.slots()) == 3 })
	told := func() []string {
		e.mu.Lock()
		defer e.mu.Unlock()
		var nodes []string
		for _, p := range e.pokes {
			nodes = append(nodes, p.nodes...)
			nodes = slices.AppendSeq(nodes, maps.Keys(p.created))
		}
		slices.Sort(nodes)
		return slices.Compact(nodes)
	}
	waitUntil(t, "the 3 nodes told", func() bool { return len(told()) == 3 })
	if n, _ := e.counts(); n != 1 {
		t.Fatalf("%d entries, want the one that failed and committed", n)
	}
}

// TestSupervisorResendsUncertainProposals: a proposal that committed but
// reported no quorum is sent again with the same request ID rather than
// decided anew, so no slot gets a second task.
func TestSupervisorResendsUncertainProposals(t *testing.T) {
	e := newStoreEnv(t, 5, 2)
	e.lose = 2
	spawnSupervisor(t, e)
	waitUntil(t, "5 slots filled", func() bool { return len(e.slots()) == 5 })
	time.Sleep(700 * time.Millisecond) // the late entries apply meanwhile
	for slot, n := range e.slots() {
		if n != 1 {
			t.Fatalf("slot %d has %d live tasks after uncertain proposals", slot, n)
		}
	}
}

// TestSupervisorStopsWhileWaitingForASlot: a supervisor waiting for a
// reconcile slot stops at once when the services actor stops it, and
// decides nothing.
func TestSupervisorStopsWhileWaitingForASlot(t *testing.T) {
	// Its own slots: supervisors of other tests may still be running.
	slots := make(chan struct{}, 1)
	slots <- struct{}{} // the only slot, held
	e := newStoreEnv(t, 3, 2)
	quit := make(chan struct{})
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	pid := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor {
		s := NewSupervisor("svc", 2, e, quit)
		s.slots = slots
		return s
	}))
	waitUntil(t, "the barrier", func() bool { _, b := e.counts(); return b >= 1 })
	time.Sleep(50 * time.Millisecond) // it waits for the slot
	close(quit)
	stopped := make(chan error, 1)
	go func() { stopped <- system.Root.StopFuture(pid).Wait() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("a supervisor waiting for a slot did not stop")
	}
	<-slots
	if n, _ := e.counts(); n != 0 {
		t.Fatalf("%d entries proposed without a slot", n)
	}
	if len(slots) != 0 {
		t.Fatal("the stopped supervisor holds a slot")
	}
}

// TestSupervisorDecidesOnlyWhileLeading: a supervisor whose manager no
// longer leads the shard proposes nothing; leading again, it makes its
// replica current before deciding.
func TestSupervisorDecidesOnlyWhileLeading(t *testing.T) {
	e := newStoreEnv(t, 3, 2)
	e.notLeading.Store(true)
	system, pid := spawnSupervisor(t, e)
	waitUntil(t, "the barrier", func() bool { _, b := e.counts(); return b >= 1 })
	time.Sleep(200 * time.Millisecond)
	if n, _ := e.counts(); n != 0 {
		t.Fatalf("%d entries proposed while not leading", n)
	}
	e.notLeading.Store(false)
	system.Root.Send(pid, &Changed{})
	waitUntil(t, "3 slots filled once leading", func() bool { return len(e.slots()) == 3 })
	if _, b := e.counts(); b < 2 {
		t.Fatalf("%d barriers: deciding again without making the replica current", b)
	}
}

// TestCompactNew: the creations of a batch that the store can make from
// the service alone (placed, meant to run, the view's spec at the
// service's version, no published port, assigned with no error) go to
// new_tasks; the others stay whole, in order.
func TestCompactNew(t *testing.T) {
	spec := &swarmv1.TaskSpec{Image: "sim"}
	svc := &swarmv1.Service{Id: "svc", SpecVersion: 3, Spec: &swarmv1.ServiceSpec{Name: "web", Task: spec}}
	task := func(id string, change func(*swarmv1.Task)) *swarmv1.Task {
		t := &swarmv1.Task{Id: id, ServiceId: "svc", Slot: 7, NodeId: "n1", SpecVersion: 3, Spec: spec, DesiredState: stRunning,
			Status: &swarmv1.TaskStatus{State: stAssigned, Message: cluster.AssignedMessage}}
		if change != nil {
			change(t)
		}
		return t
	}
	batch := &swarmv1.TaskBatch{Create: []*swarmv1.Task{
		task("plain", nil),
		task("unplaced", func(t *swarmv1.Task) {
			t.NodeId, t.Status = "", &swarmv1.TaskStatus{State: stPending, Err: "no suitable node"}
		}),
		task("ports", func(t *swarmv1.Task) { t.Ports = []*swarmv1.PortConfig{{PublishedPort: 80}} }),
		task("other spec", func(t *swarmv1.Task) { t.Spec = &swarmv1.TaskSpec{Image: "sim"} }),
		task("older version", func(t *swarmv1.Task) { t.SpecVersion = 2 }),
		task("with an error", func(t *swarmv1.Task) { t.Status.Err = "x" }),
		task("plain too", func(t *swarmv1.Task) { t.NodeId = "n2" }),
	}}
	compactNew(batch, svc, spec)
	var whole []string
	for _, t := range batch.Create {
		whole = append(whole, t.Id)
	}
	if want := []string{"unplaced", "ports", "other spec", "older version", "with an error"}; !slices.Equal(whole, want) {
		t.Errorf("created whole %v, want %v", whole, want)
	}
	want := &swarmv1.NewTasks{ServiceId: "svc", SpecVersion: 3, Tasks: []*swarmv1.NewTask{{Id: "plain", Slot: 7, NodeId: "n1"}, {Id: "plain too", Slot: 7, NodeId: "n2"}}}
	if len(batch.NewTasks) != 1 || !proto.Equal(batch.NewTasks[0], want) {
		t.Errorf("new tasks %v, want %v", batch.NewTasks, want)
	}
}
