package service

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/actors/scheduler"
	"github.com/actorswarm/swarm/cluster"
	"github.com/actorswarm/swarm/internal/tick"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Env is what supervisors need of their manager. Reads are local (this
// manager leads the service's shard, so its replica is current);
// Propose blocks.
type Env interface {
	// Leads reports whether this manager leads shard.
	Leads(shard uint64) bool
	// ServiceShards lists the service shards.
	ServiceShards() []uint64
	// ServicesIn lists the IDs of the services of shard.
	ServicesIn(shard uint64) []string
	// View reads a service and its tasks; ok is false when it is gone.
	// cache holds the tasks of the last view by ID (unmodified): those
	// whose version did not change are taken from it instead of copied.
	View(serviceID string, cache map[string]*swarmv1.Task) (svc *swarmv1.Service, tasks []*swarmv1.Task, ok bool)
	// NodesByID returns every node by ID, shared with other readers: the
	// map and its nodes must not be modified.
	NodesByID() map[string]*swarmv1.Node
	// Rebalance reports whether the swarm rebalances services toward nodes
	// that join or return (swarm update --rebalance).
	Rebalance() bool
	// Starting counts the tasks of every service shard that are assigned
	// to a node and not running yet, as this manager's replicas know them.
	Starting() int
	// Usage yields, by node ID, what the tasks that hold a node hold, in
	// every shard (a node comes once per shard that has its tasks). It may
	// yield while it holds a shard's read lock: the caller only adds up.
	Usage() iter.Seq2[string, scheduler.Usage]
	// Propose commits cmd to shard.
	Propose(ctx context.Context, shard uint64, cmd *swarmv1.Command) error
	// Barrier returns once this manager's replica of shard applied every
	// entry committed when it was called.
	Barrier(ctx context.Context, shard uint64) error
	// Poke tells nodes that their assignments changed in shard, and nodes
	// whose only change is new tasks those tasks (created, by node ID).
	Poke(shard uint64, nodeIDs []string, created map[string][]*swarmv1.Task)
	// NewID makes a task ID.
	NewID() string
	// Now is the time.
	Now() time.Time
	// Logger logs.
	Logger() *slog.Logger
}

// Messages of the supervisors (local only).
type (
	// Changed tells a supervisor that its service, its tasks or the nodes
	// changed: reconcile. Progress says that the change was only tasks
	// reporting that they got further in starting.
	Changed      struct{ Progress bool }
	safetyTick   struct{}
	wake         struct{}
	reconcileNow struct{}
	applied      struct{ err error }
	barrierDone  struct{ err error }
)

// uncertainFor bounds how long a supervisor sends a proposal of unknown
// outcome again while it leads the service's shard.
const uncertainFor = time.Minute

// reconcileSlots bounds the reconciles running at once in this process:
// half the CPUs, at least one.
var reconcileSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))

// maxCreate bounds the tasks one reconcile creates, and entryCreates
// the tasks one entry creates: a big service starts in few reconciles
// (each walks all of the service's tasks and every node's usage), its
// tasks proposed in entries small enough not to hold up the shard's Raft
// (an entry of 10,000 tasks on each of a hundred services made the
// control shard lose its leader at 300,000 tasks on two CPUs).
const (
	maxCreate    = 10000
	entryCreates = 2000
)

// startingBudget bounds the tasks assigned to nodes and not running yet,
// in the whole swarm, beyond which supervisors create no more (they
// reconcile everything else) and look again after throttleRetry: creating
// faster than the nodes start tasks only queues work (the syncs, the
// reports, their entries) that slows everything, heartbeats included (at
// a million tasks on two CPUs nodes were marked down and their tasks
// replaced).
const (
	startingBudget = 25000
	throttleRetry  = 250 * time.Millisecond
)

// progressGap is how long a supervisor outside a rolling update may wait
// before looking at tasks that only got further in starting.
const progressGap = time.Second

// safetyPeriod is how often a supervisor reconciles without being told
// to, and quietPeriod how often when its service was quiet at the last
// reconcile (see Supervisor.quiet).
const (
	safetyPeriod = 2 * time.Second
	quietPeriod  = 30 * time.Second
)

// Supervisor is the actor of one service on the manager leading its shard.
// It keeps no copy of the service: every reconcile reads the replicated
// state, so a supervisor restarted here or on another manager carries on
// where the last one stopped, leaving running tasks alone.
type Supervisor struct {
	id       string
	shard    uint64
	env      Env
	inflight bool
	dirty    bool
	queued   bool
	// synced is set once the replica was made current (barrier).
	synced bool
	// retell is set when nodes may not have been told of changes to
	// their tasks that committed: this supervisor just took the service
	// over (its predecessor's last entry may have committed without its
	// pokes), or its last proposal failed (it may commit later, unknown
	// to it). The next reconcile pokes the nodes of every task not yet
	// where it is meant to be (see untold); a node left untold waits for
	// its periodic sync, tens of seconds in a big swarm.
	retell bool
	// last is when the last reconcile ran, updating whether the service
	// was in a rolling update then.
	last     time.Time
	updating bool
	// moving is set when a slot had two live tasks at the last reconcile
	// (a start-first move or update): the new one's start decides.
	// watchStarts is set when a rebalance waits for tasks to start (see
	// Plan.WatchStarts). Otherwise reports of tasks getting further in
	// starting are not looked at: at a million tasks a hundred services
	// reconciled for them every second, taking the reconcile slot from
	// those with tasks to create.
	moving      bool
	watchStarts bool
	// throttled is set when the last reconcile created fewer tasks than
	// it would have for startingBudget: a wake-up reconciles only once
	// there is room.
	throttled bool
	// forRoom is set while the reconcile asked for is only a throttled
	// supervisor's wake-up finding room: it is called off if the room is
	// gone once its turn comes.
	forRoom bool
	// quiet is set when the last reconcile had nothing to do nor to wait
	// for but its wake-ups and what it is told (no update, move, task
	// waiting for a node, creation held back), and nothing was told
	// since: a safety tick then reconciles only once quietPeriod passed.
	// What may change untold meanwhile is time and the rest of the swarm
	// (failures growing old, the rebalance setting): at a million tasks
	// a hundred stable services reconciled every safetyPeriod, 10,000
	// tasks each.
	quiet bool
	// current remembers which tasks run the current spec of the service
	// at version currentAt (see View.Current).
	current   map[string]bool
	currentAt uint64
	// endedSeen remembers when ended tasks were first seen (see
	// View.EndedSeen).
	endedSeen map[string]time.Time
	// tasks are the tasks of the last reconcile, by ID, read only.
	tasks  map[string]*swarmv1.Task
	timer  *time.Timer
	wakeAt time.Time
	stop   func()
	// quit is closed when the services actor stops this supervisor: one
	// waiting for a reconcile slot gives up at once.
	quit <-chan struct{}
	// slots are the reconcile slots it takes turns for (reconcileSlots).
	slots chan struct{}
}

// NewSupervisor returns the supervisor of service id in shard; quit, when
// closed, tells it that it is being stopped.
func NewSupervisor(id string, shard uint64, env Env, quit <-chan struct{}) *Supervisor {
	return &Supervisor{id: id, shard: shard, env: env, quit: quit, slots: reconcileSlots}
}

// Receive implements actor.Actor.
func (s *Supervisor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.onStarted(ctx)
	case *actor.Stopping:
		s.onStopping()
	case *safetyTick:
		if s.quiet && s.env.Now().Sub(s.last) < quietPeriod {
			return
		}
		if s.throttled && s.noRoom() {
			return // its wake-ups look for room
		}
		s.request(ctx)
	case *Changed:
		if msg.Progress && !s.updating && !s.moving && !s.watchStarts {
			// Tasks got further in starting: nothing waits for it.
			return
		}
		s.quiet = false
		if msg.Progress && s.env.Now().Sub(s.last) < progressGap {
			// An update, a move (start-first) or a rebalance waits for
			// tasks to start: look within progressGap.
			s.schedule(ctx, s.last.Add(progressGap))
			return
		}
		s.request(ctx)
	case *wake:
		if s.throttled && s.noRoom() {
			s.schedule(ctx, s.env.Now().Add(throttleRetry))
			return
		}
		queued := s.queued
		s.request(ctx)
		s.forRoom = s.throttled && !queued
	case *reconcileNow:
		s.queued = false
		s.reconcile(ctx)
	case *applied:
		s.onApplied(ctx, msg)
	case *barrierDone:
		s.onBarrierDone(ctx, msg)
	}
}

// noRoom reports whether the swarm has startingBudget tasks starting: a
// throttled supervisor creates none then.
func (s *Supervisor) noRoom() bool { return s.env.Starting() >= startingBudget }

// request reconciles once the messages queued now are handled.
func (s *Supervisor) request(ctx actor.Context) {
	s.forRoom = false
	// A burst of changes (a node's reports touch many services)
	// makes one reconcile: the first queues it behind the others.
	if !s.queued {
		s.queued = true
		ctx.Send(ctx.Self(), &reconcileNow{})
	}
}

func (s *Supervisor) onStarted(ctx actor.Context) {
	s.stop = tick.Every(ctx.ActorSystem().Root, ctx.Self(), safetyPeriod, &safetyTick{})
	s.reconcile(ctx)
}

// barrier makes the replica current before the first reconcile: a manager
// that just took the shard over may not have applied all that its
// predecessor committed, and deciding from such a replica would create a
// slot's task again.
func (s *Supervisor) barrier(ctx actor.Context) {
	s.inflight = true
	self, root, env, shard := ctx.Self(), ctx.ActorSystem().Root, s.env, s.shard
	go func() {
		c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		root.Send(self, &barrierDone{err: env.Barrier(c, shard)})
	}()
}

func (s *Supervisor) onBarrierDone(ctx actor.Context, msg *barrierDone) {
	s.inflight = false
	if msg.err != nil {
		s.env.Logger().Warn("service shard not readable yet", "service_id", s.id, "err", msg.err)
		s.schedule(ctx, s.env.Now().Add(200*time.Millisecond))
		return
	}
	s.synced, s.retell = true, true
	s.reconcile(ctx)
}

func (s *Supervisor) onStopping() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
	if s.timer != nil {
		s.timer.Stop()
	}
}

func (s *Supervisor) onApplied(ctx actor.Context, msg *applied) {
	s.inflight = false
	if msg.err != nil {
		s.env.Logger().Warn("service reconcile not committed", "service_id", s.id, "err", msg.err)
		s.retell = true
		s.schedule(ctx, s.env.Now().Add(200*time.Millisecond))
		return
	}
	if s.dirty {
		s.reconcile(ctx)
	}
}

func (s *Supervisor) schedule(ctx actor.Context, at time.Time) {
	if !s.wakeAt.IsZero() && !at.Before(s.wakeAt) && s.wakeAt.After(s.env.Now()) {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.wakeAt = at
	self, root := ctx.Self(), ctx.ActorSystem().Root
	s.timer = time.AfterFunc(at.Sub(s.env.Now()), func() { root.Send(self, &wake{}) })
}

// reconcile reads the service, decides, places new tasks and proposes it
// all in one entry; one proposal is in flight at a time, and changes that
// arrive meanwhile are handled right after it.
func (s *Supervisor) reconcile(ctx actor.Context) {
	if s.inflight {
		s.dirty = true
		return
	}
	if !s.synced {
		s.barrier(ctx)
		return
	}
	// Reconciles take turns with those of the other supervisors in this
	// process, so that Raft and the network keep CPU when many services
	// reconcile at once (a big swarm starting). At a million tasks a
	// hundred wait for a slot, a turn taking seconds to come: one being
	// stopped meanwhile (its manager lost the shard) gives up at once.
	select {
	case s.slots <- struct{}{}:
	case <-s.quit:
		return
	}
	defer func() { <-s.slots }()
	forRoom := s.forRoom
	s.forRoom = false
	if forRoom && s.noRoom() {
		// Woken for room that others took while this one waited for its
		// turn: looking at the service would find none.
		s.schedule(ctx, s.env.Now().Add(throttleRetry))
		return
	}
	if !s.env.Leads(s.shard) {
		// The shard's leadership moved: the services actor stops this
		// supervisor. Should it come back here first, the replica is
		// made current again before anything is decided.
		s.synced = false
		return
	}
	s.dirty, s.quiet = false, false
	svc, tasks, ok := s.env.View(s.id, s.tasks)
	if !ok {
		return
	}
	if s.retell {
		s.retell = false
		if nodes := untold(tasks); len(nodes) > 0 {
			s.env.Poke(s.shard, nodes, nil)
		}
	}
	s.tasks = make(map[string]*swarmv1.Task, len(tasks))
	live := make(map[uint64]int)
	s.moving = false
	for _, t := range tasks {
		s.tasks[t.Id] = t
		if runnable(t) && !terminal(t.GetStatus().GetState()) && t.Slot > 0 {
			if live[t.Slot]++; live[t.Slot] > 1 {
				s.moving = true
			}
		}
	}
	s.last = s.env.Now()
	switch svc.GetUpdateStatus().GetState() {
	case swarmv1.UpdateState_UPDATE_STATE_UPDATING, swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_STARTED:
		s.updating = true
	default:
		s.updating = false
	}
	// A new version, or a memo grown with tasks long gone, starts over.
	if s.current == nil || s.currentAt != svc.Version || len(s.current) > 2*len(tasks)+64 {
		s.current, s.currentAt = make(map[string]bool), svc.Version
	}
	if s.endedSeen == nil {
		s.endedSeen = make(map[string]time.Time)
	} else if len(s.endedSeen) > len(tasks)+64 {
		// Forget the tasks no longer listed (deleted with the slot's
		// history); those still listed keep when they were seen.
		listed := make(map[string]bool, len(tasks))
		for _, t := range tasks {
			listed[t.Id] = true
		}
		maps.DeleteFunc(s.endedSeen, func(id string, _ time.Time) bool { return !listed[id] })
	}
	room := min(maxCreate, startingBudget-s.env.Starting())
	bound := room
	if room <= 0 {
		bound = -1 // none
	}
	view := View{
		Service: svc, Tasks: tasks, Nodes: s.env.NodesByID(), Now: s.env.Now(), NewID: s.env.NewID,
		Eligible: constraintsOf(svc.GetSpec().GetTask()), Rebalance: s.env.Rebalance(), Current: s.current,
		EndedSeen: s.endedSeen, MaxCreate: bound,
	}
	// The tasks Reconcile creates share this spec (the view's copy of
	// the service's): compactNew knows them by it.
	spec := view.taskSpec()
	plan := Reconcile(view)
	s.watchStarts = plan.WatchStarts
	if !plan.Wake.IsZero() {
		s.schedule(ctx, plan.Wake)
	}
	s.throttled = plan.More && room < maxCreate
	switch {
	case s.throttled:
		// The swarm has as many tasks starting as it should: look again
		// soon, reconciling only once some started.
		s.schedule(ctx, s.env.Now().Add(throttleRetry))
	case plan.More:
		// The next reconcile, right after this one commits, creates the
		// next ones.
		s.dirty = true
	}
	var props []proposal
	if plan.Rollback || plan.UpdateStatus != nil {
		up := &swarmv1.UpdateService{ServiceId: s.id, ExpectedVersion: svc.Version, Rollback: plan.Rollback, UpdateStatus: plan.UpdateStatus}
		props = append(props, proposal{cmd: &swarmv1.Command{Cmd: &swarmv1.Command_UpdateService{UpdateService: up}}})
		if plan.Rollback {
			// Roll back first; the next reconcile works on the old spec.
			s.propose(ctx, props)
			return
		}
	}
	batch := &swarmv1.TaskBatch{Create: plan.Create, Desire: plan.Desire, Status: plan.Orphan, Delete: plan.Delete, ServiceIds: []string{s.id}}
	s.place(view, batch)
	var poke []string
	for _, d := range plan.Desire {
		for _, t := range tasks {
			if t.Id == d.TaskId && t.NodeId != "" {
				poke = append(poke, t.NodeId)
			}
		}
	}
	for _, a := range batch.Assign {
		poke = append(poke, a.NodeId)
	}
	// The first entry has all but the creations beyond entryCreates; the
	// others create the rest, each committed before the next is sent.
	create := batch.Create
	batch.Create = create[:min(len(create), entryCreates)]
	create = create[len(batch.Create):]
	// A node whose only change in an entry is new tasks gets them with
	// the poke and starts them without a sync, unless they wait for
	// network attachments (the dispatcher makes those).
	pushable := len(svc.GetSpec().GetNetworks()) == 0
	for {
		if len(batch.Create) > 0 || len(batch.Assign) > 0 || len(batch.Desire) > 0 || len(batch.Status) > 0 || len(batch.Delete) > 0 {
			other := make(map[string]bool, len(poke))
			for _, id := range poke {
				other[id] = true
			}
			var push map[string][]*swarmv1.Task
			for _, t := range batch.Create {
				switch {
				case t.NodeId == "":
				case !pushable || other[t.NodeId]:
					poke = append(poke, t.NodeId)
				default:
					if push == nil {
						push = make(map[string][]*swarmv1.Task)
					}
					push[t.NodeId] = append(push[t.NodeId], t)
				}
			}
			props = append(props, proposal{cmd: &swarmv1.Command{Cmd: &swarmv1.Command_TaskBatch{TaskBatch: compactNew(batch, svc, spec)}}, poke: poke, push: push})
		}
		if len(create) == 0 {
			break
		}
		n := min(len(create), entryCreates)
		batch = &swarmv1.TaskBatch{Create: create[:n:n], ServiceIds: []string{s.id}}
		create, poke = create[n:], nil
	}
	if len(props) > 0 {
		s.propose(ctx, props)
		return
	}
	s.quiet = !plan.More && !s.throttled && !s.updating && !s.moving && !waiting(tasks)
}

// compactNew moves the creations of batch that the store makes from the
// service alone into new_tasks (see swarmv1.NewTasks): tasks placed,
// meant to run, of the service's spec (spec, the view's) at its version,
// publishing no port. The tasks themselves stay what nodes are pushed.
func compactNew(batch *swarmv1.TaskBatch, svc *swarmv1.Service, spec *swarmv1.TaskSpec) *swarmv1.TaskBatch {
	var g *swarmv1.NewTasks
	var full []*swarmv1.Task
	for _, t := range batch.Create {
		st := t.GetStatus()
		if t.NodeId == "" || t.Spec != spec || t.SpecVersion != svc.GetSpecVersion() || t.DesiredState != stRunning || len(t.Ports) > 0 ||
			st.GetState() != stAssigned || st.GetErr() != "" || st.GetMessage() != cluster.AssignedMessage {
			full = append(full, t)
			continue
		}
		if g == nil {
			g = &swarmv1.NewTasks{ServiceId: svc.GetId(), SpecVersion: svc.GetSpecVersion(), Tasks: make([]*swarmv1.NewTask, 0, len(batch.Create))}
		}
		g.Tasks = append(g.Tasks, &swarmv1.NewTask{Id: t.Id, Slot: t.Slot, NodeId: t.NodeId})
	}
	if g != nil {
		batch.Create = full
		batch.NewTasks = append(batch.NewTasks, g)
	}
	return batch
}

// waiting reports whether a task waits for a node: placed at a reconcile
// once there is room, which the supervisor is not told of.
func waiting(tasks []*swarmv1.Task) bool {
	for _, t := range tasks {
		if t.NodeId == "" && runnable(t) && !terminal(t.GetStatus().GetState()) {
			return true
		}
	}
	return false
}

// proposal is a command to commit and the nodes to tell once it is:
// those in poke to sync, those in push of their new tasks.
type proposal struct {
	cmd  *swarmv1.Command
	poke []string
	push map[string][]*swarmv1.Task
}

// place runs the scheduler over the service's pending tasks (those created
// now and those still waiting): created tasks get their node directly,
// waiting ones an assignment; tasks that fit nowhere keep waiting with the
// reason in their status.
func (s *Supervisor) place(v View, batch *swarmv1.TaskBatch) {
	var pending []*swarmv1.Task
	for _, t := range v.Tasks {
		if t.NodeId == "" && runnable(t) && t.Status.GetState() <= stPending {
			pending = append(pending, t)
		}
	}
	for _, t := range batch.Create {
		if t.NodeId == "" {
			pending = append(pending, t)
		}
	}
	if len(pending) == 0 {
		return
	}
	res := planAvoidingFailures(v, s.env.Usage(), pending)
	created := make(map[string]*swarmv1.Task, len(batch.Create))
	for _, t := range batch.Create {
		created[t.Id] = t
	}
	for _, a := range res.Assignments {
		if t, ok := created[a.TaskID]; ok {
			t.NodeId = a.NodeID
			t.Status = &swarmv1.TaskStatus{State: stAssigned, TimestampUnixNano: v.Now.UnixNano(), Message: cluster.AssignedMessage}
			continue
		}
		batch.Assign = append(batch.Assign, &swarmv1.TaskAssignment{TaskId: a.TaskID, NodeId: a.NodeID})
	}
	for _, t := range pending {
		reason, ok := res.Unplaced[t.Id]
		if !ok {
			continue
		}
		if c, isNew := created[t.Id]; isNew {
			c.Status.Err = reason
			continue
		}
		if t.Status.GetErr() != reason {
			batch.Status = append(batch.Status, &swarmv1.TaskStatusUpdate{TaskId: t.Id, Status: &swarmv1.TaskStatus{
				State: stPending, TimestampUnixNano: t.Status.GetTimestampUnixNano(), Err: reason,
			}})
		}
	}
}

// untold returns the nodes, each once, of the tasks that are not yet in
// the state they are meant to be: assigned and not running yet, or
// running and told to stop. Their nodes may not know.
func untold(tasks []*swarmv1.Task) []string {
	var out []string
	seen := make(map[string]bool)
	for _, t := range tasks {
		st := t.GetStatus().GetState()
		pending := t.DesiredState <= swarmv1.TaskState_TASK_STATE_RUNNING && st >= swarmv1.TaskState_TASK_STATE_ASSIGNED && st < swarmv1.TaskState_TASK_STATE_RUNNING
		stopping := t.DesiredState > swarmv1.TaskState_TASK_STATE_RUNNING && st >= swarmv1.TaskState_TASK_STATE_ASSIGNED && st <= swarmv1.TaskState_TASK_STATE_RUNNING
		if t.NodeId == "" || !(pending || stopping) || seen[t.NodeId] {
			continue
		}
		seen[t.NodeId] = true
		out = append(out, t.NodeId)
	}
	return out
}

// propose commits the proposals in order in a goroutine, poking the nodes
// of each once it commits, and reports back.
func (s *Supervisor) propose(ctx actor.Context, props []proposal) {
	s.inflight = true
	self, root, env, shard := ctx.Self(), ctx.ActorSystem().Root, s.env, s.shard
	// Each command keeps its request ID through retries: one whose
	// outcome is unknown (no quorum answered in time; it may commit
	// later) is sent again until it is known, rather than decided anew
	// from a replica that may not show it yet, which would create a
	// slot's task twice. The state machine applies a request ID once.
	for _, p := range props {
		if p.cmd.RequestId == "" {
			p.cmd.RequestId = env.NewID()
		}
	}
	go func() {
		deadline := time.Now().Add(uncertainFor)
		var err error
		for _, p := range props {
			for {
				c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err = env.Propose(c, shard, p.cmd)
				cancel()
				if !errors.Is(err, cluster.ErrNoQuorum) || time.Now().After(deadline) || !env.Leads(shard) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				break
			}
			if len(p.poke) > 0 || len(p.push) > 0 {
				env.Poke(shard, p.poke, p.push)
			}
		}
		root.Send(self, &applied{err: err})
	}()
}

// constraintsOf returns a test of a node against the placement constraints
// of spec (validated when the service was created: one that no longer
// parses excludes every node).
func constraintsOf(spec *swarmv1.TaskSpec) func(*swarmv1.Node) bool {
	var cs []scheduler.Constraint
	for _, raw := range spec.GetPlacement().GetConstraints() {
		c, err := scheduler.ParseConstraint(raw)
		if err != nil {
			return func(*swarmv1.Node) bool { return false }
		}
		cs = append(cs, c)
	}
	return func(n *swarmv1.Node) bool {
		for _, c := range cs {
			if !c.Matches(n) {
				return false
			}
		}
		return true
	}
}

// Down-ranking, as Swarm does: a node where this service's tasks failed
// failuresToAvoid times within failureWindow gets its new tasks only when
// no other node can take them.
const (
	failuresToAvoid = 5
	failureWindow   = 5 * time.Minute
)

// FailingNodes returns the nodes where the service's tasks failed
// failuresToAvoid times or more within failureWindow before now.
func FailingNodes(v View) map[string]bool {
	counts := make(map[string]int)
	for _, t := range v.Tasks {
		st := t.GetStatus().GetState()
		if t.NodeId == "" || (st != stFailed && st != stRejected) {
			continue
		}
		if v.Now.Sub(time.Unix(0, t.GetStatus().GetTimestampUnixNano())) > failureWindow {
			continue
		}
		counts[t.NodeId]++
	}
	out := make(map[string]bool)
	for id, c := range counts {
		if c >= failuresToAvoid {
			out[id] = true
		}
	}
	return out
}

// planAvoidingFailures places pending tasks on the nodes where the service
// does not keep failing; what fits nowhere else tries every node. usage
// yields what the active tasks of every service hold, by node; it is read
// again for the second pass.
func planAvoidingFailures(v View, usage iter.Seq2[string, scheduler.Usage], pending []*swarmv1.Task) scheduler.Result {
	var own []*swarmv1.Task
	for _, t := range v.Tasks {
		if t.NodeId != "" && runnable(t) && !terminal(t.GetStatus().GetState()) {
			own = append(own, t)
		}
	}
	failing := FailingNodes(v)
	var healthy, all []*swarmv1.Node
	for id, n := range v.Nodes {
		all = append(all, n)
		if !failing[id] {
			healthy = append(healthy, n)
		}
	}
	if len(failing) == 0 {
		return scheduler.PlanWithUsage(all, usage, own, pending)
	}
	res := scheduler.PlanWithUsage(healthy, usage, own, pending)
	if len(res.Unplaced) == 0 {
		return res
	}
	var rest []*swarmv1.Task
	for _, t := range pending {
		if _, ok := res.Unplaced[t.Id]; ok {
			rest = append(rest, t)
		}
	}
	// The second pass counts what the first one placed.
	own = slices.Clone(own)
	byID := make(map[string]*swarmv1.Task, len(pending))
	for _, t := range pending {
		byID[t.Id] = t
	}
	var placed []*swarmv1.Task
	for _, a := range res.Assignments {
		t := proto.Clone(byID[a.TaskID]).(*swarmv1.Task)
		t.NodeId = a.NodeID
		placed = append(placed, t)
		own = append(own, t)
	}
	withPlaced := func(yield func(string, scheduler.Usage) bool) {
		if usage != nil {
			for id, u := range usage {
				if !yield(id, u) {
					return
				}
			}
		}
		for _, t := range placed {
			if !yield(t.NodeId, scheduler.Usage{}.With(t)) {
				return
			}
		}
	}
	second := scheduler.PlanWithUsage(all, withPlaced, own, rest)
	res.Assignments = append(res.Assignments, second.Assignments...)
	res.Unplaced = second.Unplaced
	return res
}
