package actors

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/actors/task"
	"github.com/actorswarm/swarm/cluster"
	"github.com/actorswarm/swarm/internal/clock"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// keptEnded is how many ended tasks a node keeps the output of, for
// `service logs`.
const keptEnded = 200

// A sync waits for its manager's answer while that manager still answers
// heartbeats (first among ManagerPeers), up to syncBound: over a lossy
// link a dispatcher's commit and read barriers take a second or more, and
// a sync given up is work thrown away (under 5 % loss a worker gave up
// three in a row and started its task 6 s late). A sync outstanding for
// syncTimeout (or three heartbeat periods) to a manager that is no longer
// the first choice (it stopped answering) is given up at the next tick.
const (
	syncTimeout = 1500 * time.Millisecond
	syncBound   = 5 * time.Second
)

// syncEvery is how many heartbeat ticks may pass without a task sync: the
// safety net when a TasksChanged poke was lost.
const syncEvery = 10

// fullSyncEvery is how many of those periodic syncs pass between two that
// ask for the whole task list rather than what changed: a safety net, the
// deltas are meant to be enough.
const fullSyncEvery = 10

// runnerRef is what the node actor knows of one of its task runners.
type runnerRef struct {
	pid     *actor.PID
	service string
	inst    task.Instance
	state   swarmv1.TaskState
	// gone is set when the task is no longer assigned here: the runner is
	// stopped once its task ended.
	gone bool
	// draining is set while a task behind a published port waits, told
	// to stop, for every node's lb to drop it (drainDelay).
	draining bool
	// hostPort is the lb that binds a host-mode port on this node for a
	// task in its own network namespace; nil for the others.
	hostPort *actor.PID
}

// drained ends the drain of a task: it may stop now.
type drained struct{ taskID string }

// drainDelay is how long a task behind a published port keeps running
// after it was told to stop, so that every node's lb learns from its next
// heartbeat ack that the mesh lost it and sends it no new connection, and
// the connections it has can finish: three heartbeat periods, and never
// more than the task's stop grace period.
func (n *Node) drainDelay(t *swarmv1.Task) time.Duration {
	d := 3 * time.Duration(n.period.Load())
	if g := time.Duration(t.GetSpec().GetStopGraceNano()); g > 0 && g < d {
		d = g
	}
	return d
}

// behindMesh reports whether a task's service publishes a port through
// the routing mesh.
func (n *Node) behindMesh(serviceID string) bool {
	for _, p := range n.tasks.mesh.GetPorts() {
		if p.GetServiceId() == serviceID {
			return true
		}
	}
	return false
}

// stopTask tells a runner to stop, after a drain when its task is behind
// a published port.
func (n *Node) stopTask(ctx actor.Context, t *swarmv1.Task, ref *runnerRef) {
	if ref.draining {
		return
	}
	if !n.behindMesh(t.ServiceId) {
		ctx.Send(ref.pid, &task.Stop{})
		return
	}
	ref.draining = true
	self, root, id := ctx.Self(), ctx.ActorSystem().Root, t.Id
	time.AfterFunc(n.drainDelay(t), func() { root.Send(self, &drained{taskID: id}) })
}

func (n *Node) onDrained(ctx actor.Context, msg *drained) {
	if ref, ok := n.tasks.runners[msg.taskID]; ok && !terminalState(ref.state) {
		ctx.Send(ref.pid, &task.Stop{})
	}
}

// nodeTasks is the task side of the node actor: runners, unsent reports,
// and the sync with a manager's dispatcher. Its fields belong to the node
// actor's Receive.
type nodeTasks struct {
	runners map[string]*runnerRef
	known   map[string]bool
	// seen holds the node version of each task (Task.node_version) as
	// last listed by a manager, for delta syncs; fullDue asks for the
	// whole list at the next sync.
	seen    map[string]uint64
	fullDue bool
	// seenLent is the number of the first sync that sent seen itself as
	// its known versions (0: none did). A dispatcher may read the map
	// until it answers, so it is copied before it changes, unless the
	// answer came from that first sync: then no one else holds it.
	seenLent uint64
	// revisions are the node's revisions of seen per shard, as the last
	// answer gave them: a delta sync sends them back (see
	// TaskSyncRequest.revisions).
	revisions []*swarmv1.ShardRevision
	// fresh holds the shards that changed this node's tasks since the
	// last sync was sent (see TaskSyncRequest.fresh_shards).
	fresh map[uint64]bool
	// pushed holds the tasks a poke brought (TasksChanged.created) since
	// the last sync was sent: the next sync adds them to seen, and that
	// sync's answer may have been read before they were committed, so a
	// whole list that lacks them does not stop them.
	pushed    map[string]bool
	reports   map[string]*swarmv1.TaskStatusUpdate
	reportSvc map[string]string
	logs      map[string]task.Instance
	syncing   bool
	dirty     bool
	// soon is set while a progress report waits for progressDelay.
	soon  bool
	ticks int
	// The outstanding sync: its number (an answer to one given up is
	// ignored), manager, start, and the fresh shards it named.
	syncGen   uint64
	syncTo    string
	syncAt    time.Time
	syncFresh []uint64
	// mesh is the routing mesh as last received, and lbs the lb actors of
	// its ports.
	mesh   *swarmv1.Mesh
	lbs    map[string]*actor.PID
	tunnel *actor.PID
	// nodeAtts are this node's own overlay addresses as last received.
	nodeAtts []*swarmv1.Attachment
	// portErrs are the published ports ("80/tcp") whose lb cannot listen;
	// portErrsGen counts their changes, and portErrsAcked is the count
	// the last answered sync sent (when portErrsAckedOK), which the swarm
	// has since.
	portErrs        map[string]string
	portErrsGen     uint64
	portErrsAcked   uint64
	portErrsAckedOK bool
}

func newNodeTasks() nodeTasks {
	return nodeTasks{
		runners:   make(map[string]*runnerRef),
		known:     make(map[string]bool),
		seen:      make(map[string]uint64),
		fullDue:   true,
		fresh:     make(map[uint64]bool),
		pushed:    make(map[string]bool),
		reports:   make(map[string]*swarmv1.TaskStatusUpdate),
		reportSvc: make(map[string]string),
		logs:      make(map[string]task.Instance),
		lbs:       make(map[string]*actor.PID),
		portErrs:  make(map[string]string),
	}
}

func terminalState(st swarmv1.TaskState) bool { return st >= swarmv1.TaskState_TASK_STATE_COMPLETE }

// onTaskTick runs with every heartbeat tick: sync when there is something
// to say or it has been a while.
func (n *Node) onTaskTick(ctx actor.Context) {
	n.tasks.ticks++
	n.abandonStalledSync()
	if n.tasks.ticks%(syncEvery*fullSyncEvery) == 0 {
		n.tasks.fullDue = true
	}
	if len(n.tasks.reports) > 0 || n.tasks.dirty || n.tasks.ticks%syncEvery == 0 {
		n.sync(ctx)
	}
}

func (n *Node) onTasksChanged(ctx actor.Context, msg *swarmv1.TasksChanged) {
	if s := msg.GetShard(); s != 0 {
		n.tasks.fresh[s] = true
	}
	if len(msg.GetCreated()) > 0 && n.startCreated(ctx, msg.GetCreated()) {
		// Their reports sync, asking for the shard: what the entry
		// changed here is known already.
		if n.tasks.dirty {
			n.sync(ctx)
		}
		return
	}
	n.sync(ctx)
}

// startCreated starts the new tasks a poke brought when the node knows
// none of them: they are what the entry changed for it (see
// TasksChanged.created). It returns false, starting none, when it knows
// any, or any is not a new task of this node's: a sync sorts them out.
func (n *Node) startCreated(ctx actor.Context, created []*swarmv1.Task) bool {
	self := n.eng.NodeID()
	for _, t := range created {
		_, seen := n.tasks.seen[t.Id]
		_, running := n.tasks.runners[t.Id]
		if t.GetId() == "" || t.NodeId != self || seen || running || n.tasks.known[t.Id] ||
			t.DesiredState > swarmv1.TaskState_TASK_STATE_RUNNING || t.GetStatus().GetState() > swarmv1.TaskState_TASK_STATE_ASSIGNED {
			return false
		}
	}
	for _, t := range created {
		n.tasks.pushed[t.Id] = true // known from the next sync sent
		n.start(ctx, t)
	}
	return true
}

// onReport records a runner's state change and sends it on.
func (n *Node) onReport(ctx actor.Context, r *task.Report) {
	id := r.Update.GetTaskId()
	ref, ok := n.tasks.runners[id]
	if !ok || terminalState(ref.state) {
		// Nothing follows a task's end: a report after it is one a
		// runner sent before it failed (HandleFailure, on a system
		// message, may come first).
		return
	}
	ref.state = r.Update.GetStatus().GetState()
	if r.Instance != nil {
		ref.inst = r.Instance
		n.tasks.logs[id] = r.Instance
	}
	n.tasks.reports[id] = r.Update
	n.tasks.reportSvc[id] = ref.service
	if progressState(ref.state) {
		// A task getting further in starting changes nothing a manager
		// decides: its report waits a moment for the next, usually the
		// task running, and goes with it in one sync.
		n.syncSoon(ctx)
		return
	}
	if terminalState(ref.state) {
		if ref.hostPort != nil {
			ctx.Stop(ref.hostPort)
			ref.hostPort = nil
		}
		n.ended = append(n.ended, id)
		n.forgetOld()
		if ref.gone {
			ctx.Stop(ref.pid)
			delete(n.tasks.runners, id)
		}
	}
	n.sync(ctx)
}

// progressDelay is how long a progress report (see progressState) may
// wait for a sync: at most that much later in `service ps`, and a task
// that runs within it (most do) is reported once, running, rather than
// in two syncs and two Raft entries.
var progressDelay = 50 * time.Millisecond

// progressState reports a state a task passes through while it starts.
func progressState(st swarmv1.TaskState) bool {
	return st > swarmv1.TaskState_TASK_STATE_ASSIGNED && st < swarmv1.TaskState_TASK_STATE_RUNNING
}

// syncReports is sent by the timer of syncSoon. Local only.
type syncReports struct{}

// syncSoon syncs within progressDelay, unless a sync for another reason
// takes the waiting reports first.
func (n *Node) syncSoon(ctx actor.Context) {
	if n.tasks.soon {
		return
	}
	n.tasks.soon = true
	self, root := ctx.Self(), ctx.ActorSystem().Root
	time.AfterFunc(progressDelay, func() { root.Send(self, &syncReports{}) })
}

func (n *Node) onSyncReports(ctx actor.Context) {
	n.tasks.soon = false
	if len(n.tasks.reports) > 0 {
		n.sync(ctx)
	}
}

// forgetOld drops the output of the oldest ended tasks beyond keptEnded.
func (n *Node) forgetOld() {
	for len(n.ended) > keptEnded {
		delete(n.tasks.logs, n.ended[0])
		n.ended = n.ended[1:]
	}
}

// abandonStalledSync gives up the outstanding sync when it has waited
// its timeout and its manager is no longer the first choice; the next
// sync goes to the manager that is.
func (n *Node) abandonStalledSync() {
	t := &n.tasks
	if !t.syncing || time.Since(t.syncAt) < max(syncTimeout, 3*time.Duration(n.period.Load())) {
		return
	}
	if peers := n.eng.ManagerPeers(); len(peers) > 0 && peers[0].GetNodeId() == t.syncTo {
		return
	}
	t.syncGen++
	t.syncing = false
	for _, s := range t.syncFresh {
		t.fresh[s] = true
	}
	t.dirty = true
}

// sync sends the unsent reports to a manager's dispatcher and applies the
// assignments it answers. One sync is in flight at a time; what happens
// meanwhile waits for the next.
func (n *Node) sync(ctx actor.Context) {
	if n.tasks.syncing {
		n.tasks.dirty = true
		return
	}
	id := n.eng.NodeID()
	peers := n.eng.ManagerPeers()
	if id == "" || len(peers) == 0 {
		return
	}
	n.tasks.dirty = false
	req := &swarmv1.TaskSyncRequest{NodeId: id, ReportServices: make(map[string]string), MeshVersion: n.tasks.mesh.GetVersion(), PortErrors: maps.Clone(n.tasks.portErrs)}
	sent := make(map[string]*swarmv1.TaskStatusUpdate, len(n.tasks.reports))
	for tid, r := range n.tasks.reports {
		req.Reports = append(req.Reports, r)
		req.ReportServices[tid] = n.tasks.reportSvc[tid]
		sent[tid] = r
	}
	// Tasks started from pokes are known from now, at node version 1,
	// every created task's (see Task.node_version): the answer lists them
	// again only if they changed since. Added here rather than as they
	// came, when a sync in flight may still be reading the map.
	if len(n.tasks.pushed) > 0 {
		if n.tasks.seenLent != 0 {
			n.tasks.seen, n.tasks.seenLent = maps.Clone(n.tasks.seen), 0
		}
		for id := range n.tasks.pushed {
			if _, ok := n.tasks.seen[id]; !ok {
				n.tasks.seen[id] = cluster.CreatedNodeVersion
			}
		}
	}
	// Only what changed since the tasks this node has, unless the whole
	// list is due.
	full := n.tasks.fullDue
	if !full {
		req.Delta, req.Known, req.Revisions, req.KnownNodeVersions = true, n.tasks.seen, n.tasks.revisions, true
	}
	errsGen := n.tasks.portErrsGen
	req.PortErrorsUnchanged = !full && n.tasks.portErrsAckedOK && n.tasks.portErrsAcked == errsGen
	for s := range n.tasks.fresh {
		req.FreshShards = append(req.FreshShards, s)
	}
	clear(n.tasks.fresh)
	clear(n.tasks.pushed)
	n.tasks.syncing = true
	n.tasks.syncGen++
	gen := n.tasks.syncGen
	if req.Known != nil && n.tasks.seenLent == 0 {
		n.tasks.seenLent = gen
	}
	n.tasks.syncTo, n.tasks.syncAt, n.tasks.syncFresh = peers[0].GetNodeId(), time.Now(), req.FreshShards
	// A sync sent to a manager that died or was cut off is given up
	// sooner, at a tick (abandonStalledSync): a poke waits behind it. In
	// big swarms (long heartbeat periods) a dispatcher may take longer.
	timeout := max(syncBound, 3*time.Duration(n.period.Load()))
	f := ctx.RequestFuture(actor.NewPID(peers[0].GatewayAddr, DispatcherName), req, timeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if gen != n.tasks.syncGen {
			return // given up; its reports go again with the next
		}
		n.tasks.syncing = false
		if err == nil && n.tasks.seenLent == gen {
			// Answered: the dispatcher is done with the map, and no
			// sync given up before this one had it.
			n.tasks.seenLent = 0
		}
		resp, ok := res.(*swarmv1.TaskSyncResponse)
		if err != nil || !ok || resp.Error != "" {
			// Kept for the next sync, at the next tick: not only when
			// reports wait (a poke's sync that failed would otherwise
			// wait for the periodic one, seen as a 50 s tail at scale).
			for _, s := range req.FreshShards {
				n.tasks.fresh[s] = true
			}
			n.tasks.dirty = true
			return
		}
		for tid, r := range sent {
			if n.tasks.reports[tid] == r {
				delete(n.tasks.reports, tid)
				delete(n.tasks.reportSvc, tid)
			}
		}
		if full {
			n.tasks.fullDue = false
		}
		n.tasks.portErrsAcked, n.tasks.portErrsAckedOK = errsGen, true
		n.tasks.revisions = resp.GetRevisions()
		n.apply(ctx, resp)
		n.applyNodeAttachments(resp.NodeAttachments)
		if resp.Mesh != nil {
			n.applyMesh(ctx, resp.Mesh)
		}
		if n.tasks.dirty || len(n.tasks.reports) > 0 {
			n.sync(ctx)
		}
	})
}

// apply carries out the manager's view of this node's tasks: start new
// ones, stop those told to stop, stop those no longer assigned here, and
// report tasks this node should run but lost (it restarted since). A
// delta answer holds only the tasks that changed, and those no longer
// assigned in gone; the others stay as seen.
func (n *Node) apply(ctx actor.Context, resp *swarmv1.TaskSyncResponse) {
	tasks := resp.GetTasks()
	sort.Slice(tasks, func(i, j int) bool { return tasks[i].Id < tasks[j].Id })
	switch {
	case !resp.GetDelta():
		n.tasks.seen, n.tasks.seenLent = make(map[string]uint64, len(tasks)), 0
	case n.tasks.seenLent != 0 && (len(tasks) > 0 || len(resp.GetGone()) > 0):
		n.tasks.seen, n.tasks.seenLent = maps.Clone(n.tasks.seen), 0
	}
	for _, t := range tasks {
		n.tasks.seen[t.Id] = t.NodeVersion
	}
	if !resp.GetDelta() {
		for id := range n.tasks.pushed {
			if _, ok := n.tasks.seen[id]; !ok {
				n.tasks.seen[id] = cluster.CreatedNodeVersion
			}
		}
	}
	for _, id := range resp.GetGone() {
		delete(n.tasks.seen, id)
		delete(n.tasks.known, id)
	}
	if !resp.GetDelta() {
		for id := range n.tasks.known {
			if _, ok := n.tasks.seen[id]; !ok {
				delete(n.tasks.known, id)
			}
		}
	}
	for _, t := range tasks {
		ref, running := n.tasks.runners[t.Id]
		state := t.GetStatus().GetState()
		switch {
		case t.DesiredState <= swarmv1.TaskState_TASK_STATE_RUNNING:
			if running || terminalState(state) {
				continue
			}
			if state <= swarmv1.TaskState_TASK_STATE_ASSIGNED && !n.tasks.known[t.Id] {
				n.start(ctx, t)
				continue
			}
			if !n.tasks.known[t.Id] {
				n.adopt(ctx, t)
			}
		default:
			if running && !terminalState(ref.state) {
				n.stopTask(ctx, t, ref)
				continue
			}
			if !running && !terminalState(state) {
				n.lost(ctx, t, swarmv1.TaskState_TASK_STATE_SHUTDOWN, "")
			}
		}
	}
	unassigned := func(id string, ref *runnerRef) {
		// Removed (service rm) or deleted: stop it, then drop the runner.
		ref.gone = true
		if terminalState(ref.state) {
			ctx.Stop(ref.pid)
			delete(n.tasks.runners, id)
			return
		}
		ctx.Send(ref.pid, &task.Stop{})
	}
	if resp.GetDelta() {
		for _, id := range resp.GetGone() {
			if ref, ok := n.tasks.runners[id]; ok {
				unassigned(id, ref)
			}
		}
		return
	}
	for id, ref := range n.tasks.runners {
		if _, ok := n.tasks.seen[id]; !ok {
			unassigned(id, ref)
		}
	}
}

// lost reports a task this node does not run (any more).
func (n *Node) lost(ctx actor.Context, t *swarmv1.Task, st swarmv1.TaskState, errText string) {
	if r, ok := n.tasks.reports[t.Id]; ok && r.GetStatus().GetState() == st {
		return
	}
	n.tasks.reports[t.Id] = &swarmv1.TaskStatusUpdate{TaskId: t.Id, Status: &swarmv1.TaskStatus{
		State: st, TimestampUnixNano: clock.Now().UnixNano(), Err: errText, Message: "lost",
	}}
	n.tasks.reportSvc[t.Id] = t.ServiceId
	n.tasks.dirty = true
}

// runnerMailbox gives runners the lock-free mailbox, the smallest (a node
// may run many tasks); made once, since its producer keeps no state.
var runnerMailbox = actor.WithMailbox(actor.UnboundedLockfree())

// RunnerDispatcher is a NodeEngine whose node runs its tasks' runners on
// a dispatcher of its own (simulated nodes: their swarmd's Pool) rather
// than protoactor's default, a goroutine per mailbox.
type RunnerDispatcher interface {
	RunnerDispatcher() actor.Dispatcher
}

// spawnRunner spawns r as the runner of task id. Every runner of the node
// comes from one Props, whose producer hands over the runner being
// spawned (protoactor calls it within SpawnNamed, on this goroutine): a
// Props and its closures for each task were a fifth of a node's memory
// per task. Runners are never restarted (see HandleFailure), so the
// producer is called for nothing else.
func (n *Node) spawnRunner(ctx actor.Context, id string, r actor.Actor) (*actor.PID, error) {
	if n.runnerProps == nil {
		opts := []actor.PropsOption{runnerMailbox}
		if d, ok := n.eng.(RunnerDispatcher); ok {
			opts = append(opts, actor.WithDispatcher(d.RunnerDispatcher()))
		}
		n.runnerProps = actor.PropsFromProducer(func() actor.Actor {
			a := n.spawning
			n.spawning = nil
			return a
		}, opts...)
	}
	n.spawning = r
	pid, err := ctx.SpawnNamed(n.runnerProps, "task/"+id)
	n.spawning = nil
	return pid, err
}

// HandleFailure implements actor.SupervisorStrategy for the node's
// children. A runner that failed (a bug: it panicked) is stopped rather
// than restarted, which would start its task a second time: its task is
// stopped and reported failed, and its service replaces it. Other
// children (load balancers, the tunnel) are restarted as protoactor
// does by default. It runs on the node's own goroutine (a Failure is a
// system message of the node's mailbox).
func (n *Node) HandleFailure(system *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, rs *actor.RestartStatistics, reason, msg any) {
	for id, ref := range n.tasks.runners {
		if !ref.pid.Equal(child) {
			continue
		}
		sup.StopChildren(child)
		if ref.hostPort != nil {
			sup.StopChildren(ref.hostPort)
			ref.hostPort = nil
		}
		if inst := ref.inst; inst != nil && !terminalState(ref.state) {
			go func() { _ = inst.Stop(10 * time.Second) }()
		}
		if !terminalState(ref.state) {
			ref.state = swarmv1.TaskState_TASK_STATE_FAILED
			n.tasks.reports[id] = &swarmv1.TaskStatusUpdate{TaskId: id, Status: &swarmv1.TaskStatus{
				State: ref.state, Message: "failed", Err: fmt.Sprintf("task runner failed: %v", reason), TimestampUnixNano: clock.Now().UnixNano(),
			}}
			n.tasks.reportSvc[id] = ref.service
			n.tasks.dirty = true
		}
		return
	}
	actor.DefaultSupervisorStrategy().HandleFailure(system, sup, child, rs, reason, msg)
}

// start spawns the runner of a task assigned here.
func (n *Node) start(ctx actor.Context, t *swarmv1.Task) {
	n.tasks.known[t.Id] = true
	name := t.GetSpec().GetRuntime()
	if name == "" {
		name = "process"
	}
	rt := n.eng.Runtime(name)
	if rt == nil {
		n.lost(ctx, t, swarmv1.TaskState_TASK_STATE_REJECTED, "runtime "+name+" is not offered by this node")
		return
	}
	// A port published in host mode is the task's own $PORT, bound on
	// this node; otherwise the task gets a free port and the routing mesh
	// proxies to it.
	port := hostModePort(t)
	// A task on overlay networks has a network namespace of its own: no
	// host port to share, and its own addresses to listen on.
	attached := len(t.GetAttachments()) > 0
	var hostPort *swarmv1.PortConfig
	if port != 0 && attached {
		// Its host-mode port is bound on this node by an lb that hands
		// the connections to the task's overlay address and target port.
		hostPort = hostModeConfig(t)
		port = hostPort.GetTargetPort()
	}
	if port == 0 && attached && len(t.GetPorts()) > 0 {
		// In its own namespace the task listens on its target port, which
		// the routing mesh reaches at the task's overlay address.
		port = t.GetPorts()[0].GetTargetPort()
	}
	if port == 0 && !attached {
		var err error
		if port, err = n.eng.FreePort(); err != nil {
			n.lost(ctx, t, swarmv1.TaskState_TASK_STATE_REJECTED, "no free port for the task: "+err.Error())
			return
		}
	}
	host, nw := n.eng.Addr(), n.eng.Networker()
	if attached {
		host = ""
	}
	pid, err := n.spawnRunner(ctx, t.Id, task.NewRunner(t, rt, port, host, nw))
	if err != nil {
		n.lost(ctx, t, swarmv1.TaskState_TASK_STATE_REJECTED, "spawn: "+err.Error())
		return
	}
	ref := &runnerRef{pid: pid, service: t.ServiceId, state: t.GetStatus().GetState()}
	if hostPort != nil {
		addr := net.JoinHostPort(n.eng.Addr(), strconv.FormatUint(uint64(hostPort.GetPublishedPort()), 10))
		proto, reg := hostPort.GetProtocol(), n.eng.LBRegistry()
		if lpid, err := ctx.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return NewLB(addr, proto, reg) }), "hostport/"+t.Id); err == nil {
			ctx.Send(lpid, &swarmv1.MeshPort{Port: hostPort.GetPublishedPort(), Protocol: proto, ServiceId: t.ServiceId,
				Backends: []string{net.JoinHostPort(t.GetAttachments()[0].GetAddress(), strconv.FormatUint(uint64(port), 10))}})
			ref.hostPort = lpid
		}
	}
	n.tasks.runners[t.Id] = ref
}

// hostModeConfig is the first port a task publishes in host mode.
func hostModeConfig(t *swarmv1.Task) *swarmv1.PortConfig {
	for _, p := range t.GetPorts() {
		if p.GetMode() == swarmv1.PublishMode_PUBLISH_MODE_HOST && p.GetPublishedPort() != 0 {
			return p
		}
	}
	return nil
}

// hostModePort is the first port a task publishes in host mode, 0 if none.
func hostModePort(t *swarmv1.Task) uint32 { return hostModeConfig(t).GetPublishedPort() }

// adopt looks for a task this node ran before it restarted: a runtime
// that keeps tasks across swarmd restarts (docker) finds it still running;
// with any other, the task died with the old swarmd and is reported lost.
func (n *Node) adopt(ctx actor.Context, t *swarmv1.Task) {
	n.tasks.known[t.Id] = true
	name := t.GetSpec().GetRuntime()
	if name == "" {
		name = "process"
	}
	rt := n.eng.Runtime(name)
	if _, ok := rt.(task.Adopter); !ok {
		n.lost(ctx, t, swarmv1.TaskState_TASK_STATE_ORPHANED, "task lost: its node restarted")
		return
	}
	pid, err := n.spawnRunner(ctx, t.Id, task.NewAdopter(t, rt))
	if err != nil {
		n.lost(ctx, t, swarmv1.TaskState_TASK_STATE_ORPHANED, "task lost: "+err.Error())
		return
	}
	n.tasks.runners[t.Id] = &runnerRef{pid: pid, service: t.ServiceId, state: t.GetStatus().GetState()}
}

// onLogs answers a manager's request for task output.
func (n *Node) onLogs(ctx actor.Context, req *swarmv1.TaskLogsRequest) {
	since := time.Unix(0, req.GetSinceUnixNano())
	resp := &swarmv1.TaskLogsResponse{}
	for _, id := range req.GetTaskIds() {
		inst, ok := n.tasks.logs[id]
		if !ok {
			continue
		}
		for _, l := range inst.Logs(since, int(req.GetTail())) {
			resp.Lines = append(resp.Lines, &swarmv1.LogLine{
				TaskId: id, TimestampUnixNano: l.Time.UnixNano(), Stream: l.Stream, Line: l.Line,
			})
		}
	}
	sort.SliceStable(resp.Lines, func(i, j int) bool { return resp.Lines[i].TimestampUnixNano < resp.Lines[j].TimestampUnixNano })
	if ctx.Sender() != nil {
		ctx.Respond(resp)
	}
}

// applyMesh keeps one lb actor per published port of the swarm,
// listening on this node's address, and gives each its backends.
func (n *Node) applyMesh(ctx actor.Context, m *swarmv1.Mesh) {
	n.tasks.mesh = m
	if n.eng.Addr() == "" {
		// A simulated node serves no published port and no overlay.
		return
	}
	if len(m.GetNetworks()) > 0 && n.tasks.tunnel == nil {
		eng := n.eng
		pid, err := ctx.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return NewTunnel(eng.OverlayUpdate) }), TunnelName)
		if err == nil {
			n.tasks.tunnel = pid
		}
	}
	if n.tasks.tunnel != nil {
		ctx.Send(n.tasks.tunnel, m)
	}
	want := make(map[string]bool)
	for _, p := range m.GetPorts() {
		key := PortKey(p.Port, p.GetProtocol())
		want[key] = true
		pid, ok := n.tasks.lbs[key]
		if !ok {
			addr := net.JoinHostPort(n.eng.Addr(), strconv.FormatUint(uint64(p.Port), 10))
			proto, reg := p.GetProtocol(), n.eng.LBRegistry()
			var err error
			pid, err = ctx.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return NewLB(addr, proto, reg) }), "lb/"+key)
			if err != nil {
				continue
			}
			n.tasks.lbs[key] = pid
		}
		ctx.Send(pid, p)
	}
	for key, pid := range n.tasks.lbs {
		if !want[key] {
			ctx.Stop(pid)
			delete(n.tasks.lbs, key)
			n.onLBStatus(ctx, &lbStatus{key: key})
		}
	}
}

// applyNodeAttachments hands this node's own overlay addresses to the
// host's forwarder when they changed; setting a network up may take a
// while, so it runs off the actor.
func (n *Node) applyNodeAttachments(as []*swarmv1.Attachment) {
	if len(as) == 0 || slices.EqualFunc(as, n.tasks.nodeAtts, func(a, b *swarmv1.Attachment) bool { return proto.Equal(a, b) }) {
		return
	}
	n.tasks.nodeAtts = as
	eng := n.eng
	go eng.OverlayNode(as)
}

// onLBStatus notes whether a published port listens here; a change goes
// to the managers with the next sync.
func (n *Node) onLBStatus(ctx actor.Context, st *lbStatus) {
	if n.tasks.portErrs[st.key] == st.err {
		return
	}
	if st.err == "" {
		delete(n.tasks.portErrs, st.key)
	} else {
		n.tasks.portErrs[st.key] = st.err
	}
	n.tasks.portErrsGen++
	n.tasks.dirty = true
	n.sync(ctx)
}
