package actors

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/actors/task"
	"github.com/actorswarm/swarm/actors/task/tasktest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// ackEngine is a NodeEngine that records the acks handed to it.
type ackEngine struct {
	acks chan *swarmv1.HeartbeatAck
	// hold, when set, keeps OnHeartbeatAck waiting until it is closed,
	// then the ack is recorded only if it is not stale by then.
	hold chan struct{}
}

func (e *ackEngine) NodeID() string                { return "n1" }
func (e *ackEngine) ManagerPeers() []*swarmv1.Peer { return nil }
func (e *ackEngine) NoteAck(string)                {}
func (e *ackEngine) OnHeartbeatAck(a *swarmv1.HeartbeatAck, stale func() bool) {
	if e.hold != nil {
		<-e.hold
	}
	if !stale() {
		e.acks <- a
	}
}
func (e *ackEngine) BecomeManager(context.Context, *swarmv1.BecomeManager) error { return nil }
func (e *ackEngine) BecomeWorker(context.Context, *swarmv1.BecomeWorker) error   { return nil }
func (e *ackEngine) Runtime(string) task.Runtime                                 { return nil }
func (e *ackEngine) FreePort() (uint32, error)                                   { return 0, nil }
func (e *ackEngine) Addr() string                                                { return "" }
func (e *ackEngine) LBRegistry() *LBRegistry                                     { return nil }
func (e *ackEngine) Networker() task.Networker                                   { return nil }
func (e *ackEngine) OverlayUpdate([]*swarmv1.MeshNetwork)                        {}
func (e *ackEngine) OverlayNode([]*swarmv1.Attachment)                           {}

// TestNodeIgnoresStaleRoleAcks: an ack of a heartbeat sent before the node
// was promoted must not demote it again; acks of later heartbeats count.
func TestNodeIgnoresStaleRoleAcks(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	eng := &ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4)}
	pid := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return NewNode(eng, time.Hour) }))
	system.Root.Send(pid, &heartbeatTick{}) // seq 1
	system.Root.Send(pid, &heartbeatTick{}) // seq 2
	if _, err := system.Root.RequestFuture(pid, &swarmv1.BecomeManager{}, 5*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	worker := swarmv1.NodeRole_NODE_ROLE_WORKER
	system.Root.Send(pid, &swarmv1.HeartbeatAck{Authoritative: true, Seq: 2, Role: worker})
	system.Root.Send(pid, &swarmv1.HeartbeatAck{Authoritative: true, Seq: 3, Role: swarmv1.NodeRole_NODE_ROLE_MANAGER})
	select {
	case a := <-eng.acks:
		if a.GetSeq() != 3 {
			t.Fatalf("the ack of heartbeat %d, sent before the promotion, reached the engine", a.GetSeq())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the ack of a heartbeat sent after the promotion never reached the engine")
	}
}

// TestNodeIgnoresAckThatWaitedOutAPromotion: an ack accepted before the
// promotion reached the node, but handled by the engine only after it (it
// waited for the engine's lock while the replicas started), must not demote
// the node: in CI a node was promoted and demoted itself 1 ms later.
func TestNodeIgnoresAckThatWaitedOutAPromotion(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	eng := &ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4), hold: make(chan struct{})}
	pid := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return NewNode(eng, time.Hour) }))
	system.Root.Send(pid, &heartbeatTick{}) // seq 1
	system.Root.Send(pid, &swarmv1.HeartbeatAck{Authoritative: true, Seq: 1, Role: swarmv1.NodeRole_NODE_ROLE_WORKER})
	if _, err := system.Root.RequestFuture(pid, &swarmv1.BecomeManager{}, 5*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	close(eng.hold)
	select {
	case a := <-eng.acks:
		t.Fatalf("the ack of heartbeat %d, sent before the promotion, was handled as current", a.GetSeq())
	case <-time.After(200 * time.Millisecond):
	}
}

// syncEngine is an ackEngine whose managers are one local dispatcher.
type syncEngine struct{ ackEngine }

func (e *syncEngine) ManagerPeers() []*swarmv1.Peer {
	return []*swarmv1.Peer{{NodeId: "m1", GatewayAddr: "nonhost"}}
}

// failingDispatcher answers its first sync with an error and passes on
// the syncs it gets.
type failingDispatcher struct {
	syncs chan *swarmv1.TaskSyncRequest
	n     int
}

func (d *failingDispatcher) Receive(ctx actor.Context) {
	req, ok := ctx.Message().(*swarmv1.TaskSyncRequest)
	if !ok {
		return
	}
	d.n++
	d.syncs <- req
	if d.n == 1 {
		ctx.Respond(&swarmv1.TaskSyncResponse{Error: "read barrier on shard 3: timeout"})
		return
	}
	ctx.Respond(&swarmv1.TaskSyncResponse{Delta: req.GetDelta()})
}

// spawnNodeWithDispatcher spawns d as the local dispatcher and a node on
// eng that heartbeats every hour (ticks come from the test).
func spawnNodeWithDispatcher(t *testing.T, system *actor.ActorSystem, d actor.Actor, eng NodeEngine) *actor.PID {
	t.Helper()
	if _, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return d }), DispatcherName); err != nil {
		t.Fatal(err)
	}
	return system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return NewNode(eng, time.Hour) }))
}

// TestNodeRetriesAFailedSyncAtTheNextTick: a poke's sync that fails is
// sent again at the next heartbeat tick, with the poke's shard, not only
// at the periodic sync ten ticks later.
func TestNodeRetriesAFailedSyncAtTheNextTick(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	d := &failingDispatcher{syncs: make(chan *swarmv1.TaskSyncRequest, 4)}
	pid := spawnNodeWithDispatcher(t, system, d, &syncEngine{ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4)}})
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3})
	select {
	case <-d.syncs:
	case <-time.After(5 * time.Second):
		t.Fatal("no sync after the poke")
	}
	time.Sleep(100 * time.Millisecond)      // the error answer is handled
	system.Root.Send(pid, &heartbeatTick{}) // tick 1 of 10
	select {
	case req := <-d.syncs:
		if !slices.Equal(req.GetFreshShards(), []uint64{3}) {
			t.Errorf("the retry names shards %v, want [3]", req.GetFreshShards())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the failed sync was not sent again at the next tick")
	}
}

// flipEngine is a syncEngine whose first choice of manager can change (a
// manager that stops answering heartbeats drops down the list); both
// names lead to the local dispatcher.
type flipEngine struct {
	ackEngine
	first atomic.Value // string
}

func (e *flipEngine) ManagerPeers() []*swarmv1.Peer {
	return []*swarmv1.Peer{{NodeId: e.first.Load().(string), GatewayAddr: "nonhost"}}
}

// heldDispatcher passes on the syncs it gets and answers each once its
// release channel yields (never, for a nil one).
type heldDispatcher struct {
	syncs   chan *swarmv1.TaskSyncRequest
	release []chan struct{}
	n       int
}

func (d *heldDispatcher) Receive(ctx actor.Context) {
	req, ok := ctx.Message().(*swarmv1.TaskSyncRequest)
	if !ok {
		return
	}
	var release chan struct{}
	if d.n < len(d.release) {
		release = d.release[d.n]
	}
	d.n++
	d.syncs <- req
	sender, root := ctx.Sender(), ctx.ActorSystem().Root
	resp := &swarmv1.TaskSyncResponse{Delta: req.GetDelta()}
	if release == nil {
		ctx.Respond(resp)
		return
	}
	go func() {
		<-release
		root.Send(sender, resp)
	}()
}

// startSyncNode spawns d as the dispatcher and a node of eng, and pokes
// the node (shard 3); it returns the node and the first sync.
func startSyncNode(t *testing.T, system *actor.ActorSystem, d *heldDispatcher, eng NodeEngine) (*actor.PID, *swarmv1.TaskSyncRequest) {
	t.Helper()
	if _, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return d }), DispatcherName); err != nil {
		t.Fatal(err)
	}
	// A short period: the ticks that give up a sync are the node's own.
	pid := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return NewNode(eng, 100*time.Millisecond) }))
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3})
	select {
	case req := <-d.syncs:
		return pid, req
	case <-time.After(5 * time.Second):
		t.Fatal("no sync after the poke")
	}
	return nil, nil
}

// TestNodeWaitsForASlowManagerThatStillAnswers: a sync whose manager is
// slow to answer (its Raft reads crawl over a lossy link) but still first
// among the managers is not given up at syncTimeout: the ticks meanwhile
// send no second sync, and its answer is taken.
func TestNodeWaitsForASlowManagerThatStillAnswers(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	release := make(chan struct{})
	d := &heldDispatcher{syncs: make(chan *swarmv1.TaskSyncRequest, 8), release: []chan struct{}{release}}
	eng := &flipEngine{ackEngine: ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4)}}
	eng.first.Store("m1")
	pid, _ := startSyncNode(t, system, d, eng)
	deadline := time.Now().Add(syncTimeout + 500*time.Millisecond)
	for time.Now().Before(deadline) {
		system.Root.Send(pid, &heartbeatTick{})
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case req := <-d.syncs:
		t.Fatalf("a second sync (fresh shards %v) went out while the first waited on a manager that still answers", req.GetFreshShards())
	default:
	}
	close(release)
	// The ticks asked for a sync meanwhile (the periodic one): it goes
	// once the answer is in, not before.
	select {
	case <-d.syncs:
	case <-time.After(5 * time.Second):
		t.Fatal("the sync asked for while the first waited never went out")
	}
}

// TestNodeGivesUpASyncToAManagerThatStoppedAnswering: a sync outstanding
// for syncTimeout to a manager that is no longer the first choice is given
// up at the next tick and sent to the manager that is, with the poke's
// shard; the late answer to the first is ignored.
func TestNodeGivesUpASyncToAManagerThatStoppedAnswering(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	late := make(chan struct{})
	d := &heldDispatcher{syncs: make(chan *swarmv1.TaskSyncRequest, 8), release: []chan struct{}{late}}
	eng := &flipEngine{ackEngine: ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4)}}
	eng.first.Store("m1")
	pid, _ := startSyncNode(t, system, d, eng)
	eng.first.Store("m2")
	started := time.Now()
	var second *swarmv1.TaskSyncRequest
	for second == nil && time.Since(started) < syncTimeout+3*time.Second {
		system.Root.Send(pid, &heartbeatTick{})
		select {
		case second = <-d.syncs:
		case <-time.After(100 * time.Millisecond):
		}
	}
	if second == nil {
		t.Fatal("the sync to the manager that stopped answering was never given up")
	}
	if waited := time.Since(started); waited < syncTimeout-200*time.Millisecond {
		t.Errorf("the sync was given up after %s, before syncTimeout (%s)", waited, syncTimeout)
	}
	if !slices.Equal(second.GetFreshShards(), []uint64{3}) {
		t.Errorf("the new sync names shards %v, want the poke's [3]", second.GetFreshShards())
	}
	close(late) // the first's answer arrives now: ignored, nothing breaks
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 4})
	select {
	case req := <-d.syncs:
		if !slices.Equal(req.GetFreshShards(), []uint64{4}) {
			t.Errorf("the next sync names shards %v, want [4]", req.GetFreshShards())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no sync after a poke once the given-up sync's answer came late")
	}
}

// scriptedDispatcher passes on the syncs it gets and answers the i-th
// with answers[i]; a nil answer is never given (the sync hangs), and
// syncs past the script get an empty delta answer.
type scriptedDispatcher struct {
	syncs   chan *swarmv1.TaskSyncRequest
	answers []*swarmv1.TaskSyncResponse
	n       int
}

func (d *scriptedDispatcher) Receive(ctx actor.Context) {
	req, ok := ctx.Message().(*swarmv1.TaskSyncRequest)
	if !ok {
		return
	}
	d.syncs <- req
	resp := &swarmv1.TaskSyncResponse{Delta: req.GetDelta()}
	if d.n < len(d.answers) {
		resp = d.answers[d.n]
	}
	d.n++
	if resp != nil {
		ctx.Respond(resp)
	}
}

// TestNodeKeepsKnownVersionsItLent: a delta sync sends the node's own map
// of known versions, not a copy; a sync given up may still be read by its
// dispatcher, so the map it sent never changes after, even when a later
// sync's answer changes what the node knows. A delta sync sends the
// revisions of the last answer with them; a whole list, none.
func TestNodeKeepsKnownVersionsItLent(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	ended := func(id string, version uint64) *swarmv1.Task {
		return &swarmv1.Task{Id: id, Version: version + 10, NodeVersion: version, DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN,
			Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_COMPLETE}}
	}
	d := &scriptedDispatcher{syncs: make(chan *swarmv1.TaskSyncRequest, 8), answers: []*swarmv1.TaskSyncResponse{
		{Tasks: []*swarmv1.Task{ended("t1", 1)}, Revisions: revisions(7)}, // the whole list
		nil, // hangs: given up
		{Delta: true, Tasks: []*swarmv1.Task{ended("t2", 1)}, Gone: []string{"t1"}, Revisions: revisions(9)},
	}}
	if _, err := system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return d }), DispatcherName); err != nil {
		t.Fatal(err)
	}
	eng := &flipEngine{ackEngine: ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4)}}
	eng.first.Store("m1")
	pid := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return NewNode(eng, 100*time.Millisecond) }))
	next := func(what string) *swarmv1.TaskSyncRequest {
		t.Helper()
		deadline := time.Now().Add(syncTimeout + 5*time.Second)
		for time.Now().Before(deadline) {
			select {
			case req := <-d.syncs:
				return req
			case <-time.After(100 * time.Millisecond):
				system.Root.Send(pid, &heartbeatTick{})
			}
		}
		t.Fatalf("no %s", what)
		return nil
	}
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3})
	if req := next("first sync"); req.GetDelta() || len(req.GetRevisions()) > 0 {
		t.Fatalf("the first sync asks for a delta (%v) with revisions %v, want the whole list", req.GetDelta(), req.GetRevisions())
	}
	time.Sleep(100 * time.Millisecond) // the answer is applied
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3})
	hung := next("second sync")
	if !hung.GetDelta() || !hung.GetKnownNodeVersions() || hung.GetKnown()["t1"] != 1 || len(hung.GetKnown()) != 1 {
		t.Fatalf("the second sync knows %v (delta %v, node versions %v), want t1 at node version 1",
			hung.GetKnown(), hung.GetDelta(), hung.GetKnownNodeVersions())
	}
	eng.first.Store("m2") // the hung sync is given up at a tick
	third := next("sync after the hung one was given up")
	for name, req := range map[string]*swarmv1.TaskSyncRequest{"given-up": hung, "next": third} {
		if !proto.Equal(&swarmv1.TaskSyncRequest{Revisions: req.GetRevisions()}, &swarmv1.TaskSyncRequest{Revisions: revisions(7)}) {
			t.Errorf("the %s sync sends revisions %v, want those of the first answer", name, req.GetRevisions())
		}
	}
	time.Sleep(100 * time.Millisecond) // its answer (t2 new, t1 gone) is applied
	for name, req := range map[string]*swarmv1.TaskSyncRequest{"given-up": hung, "answered": third} {
		if k := req.GetKnown(); len(k) != 1 || k["t1"] != 1 {
			t.Errorf("the %s sync's known versions changed after it was sent: %v", name, k)
		}
	}
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3})
	last := next("sync after the answer")
	if k := last.GetKnown(); len(k) != 1 || k["t2"] != 1 {
		t.Errorf("the node knows %v after the answer, want t2 at version 1", k)
	}
	if !proto.Equal(&swarmv1.TaskSyncRequest{Revisions: last.GetRevisions()}, &swarmv1.TaskSyncRequest{Revisions: revisions(9)}) {
		t.Errorf("the sync after the answer sends revisions %v, want those of the answer", last.GetRevisions())
	}
}

// revisions are a node's revisions in two shards, the second at rev.
func revisions(rev uint64) []*swarmv1.ShardRevision {
	return []*swarmv1.ShardRevision{{Shard: 2, Revision: 4, Tasks: 3}, {Shard: 3, Revision: rev, Tasks: 1}}
}

// gatedRuntime starts tasks with the fake runtime once released, and
// tells calls of each start.
type gatedRuntime struct {
	tasktest.Runtime
	calls chan struct{}
	open  chan struct{}
	once  sync.Once
}

func (r *gatedRuntime) Start(ctx context.Context, s task.Spec) (task.Instance, error) {
	r.calls <- struct{}{}
	<-r.open
	return r.Runtime.Start(ctx, s)
}

func (r *gatedRuntime) release() { r.once.Do(func() { close(r.open) }) }

// runtimeEngine is a syncEngine that offers one runtime.
type runtimeEngine struct {
	syncEngine
	rt task.Runtime
}

func (e *runtimeEngine) Runtime(string) task.Runtime { return e.rt }

// startedTaskNode starts, with progressDelay set to delay for the test, a
// node whose first sync is answered with one task, t1, on a gated
// runtime, and waits until the runtime is asked to start it.
func startedTaskNode(t *testing.T, delay time.Duration) (*scriptedDispatcher, *gatedRuntime) {
	t.Helper()
	was := progressDelay
	progressDelay = delay
	t.Cleanup(func() { progressDelay = was })
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	rt := &gatedRuntime{calls: make(chan struct{}, 1), open: make(chan struct{})}
	t.Cleanup(rt.release)
	d := &scriptedDispatcher{syncs: make(chan *swarmv1.TaskSyncRequest, 8), answers: []*swarmv1.TaskSyncResponse{{Tasks: []*swarmv1.Task{{
		Id: "t1", ServiceId: "s1", Slot: 1, NodeId: "n1", Version: 1, Spec: &swarmv1.TaskSpec{Image: "img", Runtime: "gated"},
		DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING, Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ASSIGNED},
	}}}}}
	pid := spawnNodeWithDispatcher(t, system, d, &runtimeEngine{syncEngine: syncEngine{ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4)}}, rt: rt})
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3})
	nextReported(t, d, "after the poke")
	select {
	case <-rt.calls:
	case <-time.After(5 * time.Second):
		t.Fatal("the listed task was not started")
	}
	return d, rt
}

// nextReported waits for the dispatcher's next sync and returns the states
// it reports for t1.
func nextReported(t *testing.T, d *scriptedDispatcher, what string) []swarmv1.TaskState {
	t.Helper()
	select {
	case req := <-d.syncs:
		var out []swarmv1.TaskState
		for _, r := range req.GetReports() {
			if r.GetTaskId() == "t1" {
				out = append(out, r.GetStatus().GetState())
			}
		}
		return out
	case <-time.After(5 * time.Second):
		t.Fatalf("no sync %s", what)
		return nil
	}
}

// TestNodeReportsATaskStartingWithItsStart: a task getting further in
// starting (accepted, starting) is not worth a sync of its own while
// progressDelay lasts; the task running is reported at once, in one sync
// that says so.
func TestNodeReportsATaskStartingWithItsStart(t *testing.T) {
	d, rt := startedTaskNode(t, time.Hour)
	select {
	case <-d.syncs:
		t.Fatal("a sync while the task starts, want none before it runs")
	case <-time.After(300 * time.Millisecond):
	}
	rt.release()
	if got := nextReported(t, d, "once the task runs"); !slices.Equal(got, []swarmv1.TaskState{swarmv1.TaskState_TASK_STATE_RUNNING}) {
		t.Errorf("the sync after the start reports %v, want [running]", got)
	}
}

// TestNodeReportsASlowStartAfterProgressDelay: a task that takes longer
// than progressDelay to start is reported starting meanwhile.
func TestNodeReportsASlowStartAfterProgressDelay(t *testing.T) {
	d, _ := startedTaskNode(t, 20*time.Millisecond)
	if got := nextReported(t, d, "while the task starts"); !slices.Equal(got, []swarmv1.TaskState{swarmv1.TaskState_TASK_STATE_STARTING}) {
		t.Errorf("the sync while the task starts reports %v, want [starting]", got)
	}
}

// TestNodeSaysWhenItsPortErrorsAreUnchanged: a delta sync says the port
// errors are unchanged only once a sync that sent them was answered and
// none changed since; a whole-list sync never says so.
func TestNodeSaysWhenItsPortErrorsAreUnchanged(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	d := &scriptedDispatcher{syncs: make(chan *swarmv1.TaskSyncRequest, 8)}
	pid := spawnNodeWithDispatcher(t, system, d, &syncEngine{ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4)}})
	next := func(what string) *swarmv1.TaskSyncRequest {
		t.Helper()
		select {
		case req := <-d.syncs:
			// One sync at a time: the next is sent once this one's
			// answer is handled.
			return req
		case <-time.After(5 * time.Second):
			t.Fatalf("no %s", what)
			return nil
		}
	}
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3})
	if req := next("first sync"); req.GetDelta() || req.GetPortErrorsUnchanged() {
		t.Errorf("first sync: delta %v, unchanged %v; want a whole list, compared", req.GetDelta(), req.GetPortErrorsUnchanged())
	}
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3})
	if req := next("second sync"); !req.GetDelta() || !req.GetPortErrorsUnchanged() {
		t.Errorf("second sync: delta %v, unchanged %v; want both", req.GetDelta(), req.GetPortErrorsUnchanged())
	}
	system.Root.Send(pid, &lbStatus{key: "80/tcp", err: "address in use"})
	req := next("sync after a port error")
	if req.GetPortErrorsUnchanged() || req.GetPortErrors()["80/tcp"] != "address in use" {
		t.Errorf("sync after a port error: unchanged %v, errors %v; want them sent to be compared", req.GetPortErrorsUnchanged(), req.GetPortErrors())
	}
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3})
	if req := next("sync after that"); !req.GetPortErrorsUnchanged() || len(req.GetPortErrors()) != 1 {
		t.Errorf("sync after the answer: unchanged %v, errors %v; want unchanged, still sent", req.GetPortErrorsUnchanged(), req.GetPortErrors())
	}
}

// newTask is task id of node n1 as a supervisor creates it: assigned,
// meant to run, on runtime "any", with no version yet.
func newTask(id string) *swarmv1.Task {
	return &swarmv1.Task{Id: id, ServiceId: "s1", Slot: 1, NodeId: "n1", Spec: &swarmv1.TaskSpec{Image: "img", Runtime: "any"},
		DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING, Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ASSIGNED}}
}

// waitStarted waits until rt started n tasks and returns them.
func waitStarted(t *testing.T, rt *tasktest.Runtime, n int) []*tasktest.Instance {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(rt.Started()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d tasks started, want %d", len(rt.Started()), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return rt.Started()
}

// TestNodeStartsTheTasksAPokeBrings: a poke that brings the node's new
// tasks starts them without a sync of its own: the first sync after it
// reports them, knows them at node version 1 (every created task's, see
// Task.node_version) and asks for the poke's shard. A poke bringing a task the node
// knows already is a plain poke.
func TestNodeStartsTheTasksAPokeBrings(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	rt := &tasktest.Runtime{}
	d := &scriptedDispatcher{syncs: make(chan *swarmv1.TaskSyncRequest, 8)}
	pid := spawnNodeWithDispatcher(t, system, d, &runtimeEngine{syncEngine: syncEngine{ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4)}}, rt: rt})
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 2})
	if req := nextSync(t, d.syncs, "the first sync"); req.GetDelta() {
		t.Fatal("the first sync asks for a delta")
	}
	time.Sleep(50 * time.Millisecond) // its answer is applied
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3, Created: []*swarmv1.Task{newTask("t1"), newTask("t2")}})
	waitStarted(t, rt, 2)
	reported := make(map[string]bool)
	for i := 0; !reported["t1"] || !reported["t2"]; i++ {
		req := nextSync(t, d.syncs, "a sync reporting the tasks")
		if len(req.GetReports()) == 0 {
			t.Fatalf("sync %d after the poke reports nothing: the node synced for the poke", i)
		}
		for _, r := range req.GetReports() {
			reported[r.GetTaskId()] = true
		}
		if i > 0 {
			continue
		}
		k := req.GetKnown()
		if k["t1"] != 1 || k["t2"] != 1 || !req.GetKnownNodeVersions() || !slices.Contains(req.GetFreshShards(), 3) {
			t.Fatalf("the sync knows %v (node versions: %v) and asks for shards %v, want t1 and t2 at node version 1 and shard 3",
				k, req.GetKnownNodeVersions(), req.GetFreshShards())
		}
	}
	// t1 again, with a new task: the node knows t1, so it syncs and
	// starts nothing itself.
	for len(d.syncs) > 0 {
		<-d.syncs
	}
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3, Created: []*swarmv1.Task{newTask("t1"), newTask("t3")}})
	if req := nextSync(t, d.syncs, "a sync for a poke bringing a known task"); len(req.GetReports()) != 0 {
		t.Fatalf("the poke's sync reports %v, want none: nothing started", req.GetReports())
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(rt.Started()); n != 2 {
		t.Fatalf("%d tasks started, want 2: t3 waits for the sync to list it", n)
	}
}

// TestNodeKeepsTasksAPokeBroughtDuringAWholeList: a whole list read
// before the entry that created the tasks a poke then brought does not
// name them; they are not stopped for it, and are still known after.
func TestNodeKeepsTasksAPokeBroughtDuringAWholeList(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	rt := &tasktest.Runtime{}
	release := make(chan struct{})
	d := &heldDispatcher{syncs: make(chan *swarmv1.TaskSyncRequest, 8), release: []chan struct{}{release}}
	eng := &runtimeEngine{syncEngine: syncEngine{ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4)}}, rt: rt}
	pid, first := startSyncNode(t, system, d, eng)
	if first.GetDelta() {
		t.Fatal("the first sync asks for a delta")
	}
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3, Created: []*swarmv1.Task{newTask("t1")}})
	in := waitStarted(t, rt, 1)[0]
	close(release) // the whole list, without t1
	time.Sleep(100 * time.Millisecond)
	system.Root.Send(pid, &heartbeatTick{})
	req := nextSync(t, d.syncs, "a sync after the whole list")
	if _, ok := req.GetKnown()["t1"]; !ok || in.Stops() != 0 {
		t.Fatalf("after a whole list read before it: t1 known %v, stopped %d times; want known, running", req.GetKnown(), in.Stops())
	}
}

// nextSync waits for the next sync on syncs.
func nextSync(t *testing.T, syncs chan *swarmv1.TaskSyncRequest, what string) *swarmv1.TaskSyncRequest {
	t.Helper()
	select {
	case req := <-syncs:
		return req
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
		return nil
	}
}

// idPanicRuntime starts tasks whose instance panics when asked its ID:
// the runner, which asks in its Receive, fails.
type idPanicRuntime struct {
	tasktest.Runtime
	starts atomic.Int32
}

type idPanicInstance struct{ task.Instance }

func (idPanicInstance) ID() string { panic("instance ID") }

func (r *idPanicRuntime) Start(ctx context.Context, s task.Spec) (task.Instance, error) {
	r.starts.Add(1)
	in, err := r.Runtime.Start(ctx, s)
	if err != nil || s.TaskID != "bad" {
		return in, err
	}
	return idPanicInstance{in}, nil
}

// TestNodeStopsARunnerThatFailed: a runner that panics is not restarted
// (a new runner would start its task again): its task is reported failed
// with the reason, started once, and the node's next runner works.
func TestNodeStopsARunnerThatFailed(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	rt := &idPanicRuntime{}
	d := &scriptedDispatcher{syncs: make(chan *swarmv1.TaskSyncRequest, 16)}
	pid := spawnNodeWithDispatcher(t, system, d, &runtimeEngine{syncEngine: syncEngine{ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4)}}, rt: rt})
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 2})
	nextSync(t, d.syncs, "the first sync")
	time.Sleep(50 * time.Millisecond)
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3, Created: []*swarmv1.Task{newTask("bad")}})
	var failed *swarmv1.TaskStatus
	deadline := time.Now().Add(5 * time.Second)
	for failed == nil && time.Now().Before(deadline) {
		select {
		case req := <-d.syncs:
			for _, r := range req.GetReports() {
				if r.GetTaskId() == "bad" && r.GetStatus().GetState() == swarmv1.TaskState_TASK_STATE_FAILED {
					failed = r.GetStatus()
				}
			}
		case <-time.After(100 * time.Millisecond):
			system.Root.Send(pid, &heartbeatTick{}) // the failure's report waits for a tick
		}
	}
	if failed == nil || !strings.Contains(failed.GetErr(), "task runner failed: instance ID") {
		t.Fatalf("the failed runner's task reported %v, want failed with the reason", failed)
	}
	time.Sleep(100 * time.Millisecond)
	if n := rt.starts.Load(); n != 1 {
		t.Fatalf("the task was started %d times, want once: its runner was restarted", n)
	}
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3, Created: []*swarmv1.Task{newTask("good")}})
	deadline = time.Now().Add(5 * time.Second)
	for {
		req := nextSync(t, d.syncs, "a sync reporting the next task")
		for _, r := range req.GetReports() {
			if r.GetTaskId() == "good" && r.GetStatus().GetState() == swarmv1.TaskState_TASK_STATE_RUNNING {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the task after the failed one is not reported running")
		}
	}
}

// countingDispatcher is a Pool that counts what it is given to run.
type countingDispatcher struct {
	*Pool
	scheduled atomic.Int64
}

func (c *countingDispatcher) Schedule(fn func()) {
	c.scheduled.Add(1)
	c.Pool.Schedule(fn)
}

// poolEngine is a runtimeEngine whose runners run on a dispatcher of its
// own, as a simulated node's do.
type poolEngine struct {
	*runtimeEngine
	d *countingDispatcher
}

func (e *poolEngine) RunnerDispatcher() actor.Dispatcher { return e.d }

// TestNodeRunsRunnersOnItsEngineDispatcher: an engine that has a
// dispatcher for runners (RunnerDispatcher) gets the node's runners on
// it, and they run their tasks.
func TestNodeRunsRunnersOnItsEngineDispatcher(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	rt := &tasktest.Runtime{}
	d := &countingDispatcher{Pool: NewPool(1, 300)}
	defer d.Close()
	sd := &scriptedDispatcher{syncs: make(chan *swarmv1.TaskSyncRequest, 8)}
	eng := &poolEngine{runtimeEngine: &runtimeEngine{syncEngine: syncEngine{ackEngine{acks: make(chan *swarmv1.HeartbeatAck, 4)}}, rt: rt}, d: d}
	pid := spawnNodeWithDispatcher(t, system, sd, eng)
	system.Root.Send(pid, &swarmv1.TasksChanged{Shard: 3, Created: []*swarmv1.Task{newTask("t1"), newTask("t2")}})
	waitStarted(t, rt, 2)
	if n := d.scheduled.Load(); n == 0 {
		t.Fatal("the runners never ran on the engine's dispatcher")
	}
}
