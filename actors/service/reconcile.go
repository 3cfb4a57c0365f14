package service

import (
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/cluster"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Task states and desired states, shortened.
const (
	stNew      = swarmv1.TaskState_TASK_STATE_NEW
	stPending  = swarmv1.TaskState_TASK_STATE_PENDING
	stAssigned = swarmv1.TaskState_TASK_STATE_ASSIGNED
	stRunning  = swarmv1.TaskState_TASK_STATE_RUNNING
	stComplete = swarmv1.TaskState_TASK_STATE_COMPLETE
	stShutdown = swarmv1.TaskState_TASK_STATE_SHUTDOWN
	stFailed   = swarmv1.TaskState_TASK_STATE_FAILED
	stRejected = swarmv1.TaskState_TASK_STATE_REJECTED
	stOrphaned = swarmv1.TaskState_TASK_STATE_ORPHANED
)

// DefaultHistory is how many tasks a slot keeps (Docker's task history
// limit).
const DefaultHistory = 5

// View is what the supervisor of one service sees when it reconciles: its
// service and tasks, the nodes, and the time. Reconcile does not modify it.
type View struct {
	Service *swarmv1.Service
	Tasks   []*swarmv1.Task
	Nodes   map[string]*swarmv1.Node
	Now     time.Time
	// History is how many tasks a slot keeps (0: DefaultHistory).
	History int
	// NewID makes task IDs.
	NewID func() string
	// Eligible says whether a node satisfies the service's placement
	// constraints (nil: every node does).
	Eligible func(*swarmv1.Node) bool
	// Rebalance moves tasks of a replicated service, one at a time and
	// start-first, from the most loaded eligible node toward the least
	// loaded one when they differ by two or more (a node joined or came
	// back).
	Rebalance bool
	// Current, when set, remembers which tasks run the service's current
	// task spec, by task ID, for this service version: comparing specs is
	// most of a reconcile's work for big services. The caller clears it
	// when the service's version changes.
	Current map[string]bool
	// EndedSeen remembers when this supervisor first saw each slot's
	// ended task: its restart delay counts from then, on this manager's
	// clock, as Docker's orchestrator counts it from when it learns of the
	// failure, so that clocks that disagree neither skip nor stretch it (a
	// leader change starts the delay over). Never the task's date, which
	// another host's clock wrote. The caller keeps it between reconciles;
	// without it every reconcile sees the failure anew.
	EndedSeen map[string]time.Time
	// MaxCreate bounds the tasks one plan creates (0: no bound; negative:
	// none): a big service starts over several reconciles, and tasks made
	// beyond the bound would be dropped unsent.
	MaxCreate int

	// spec is the copy of the service's task spec that the tasks made in
	// one reconcile share (they are encoded, never changed).
	spec *swarmv1.TaskSpec
}

// Plan is what reconciling decided: task changes for one Raft entry, a
// new update status, and when to look again.
type Plan struct {
	Create   []*swarmv1.Task
	Desire   []*swarmv1.TaskDesire
	Orphan   []*swarmv1.TaskStatusUpdate
	Delete   []string
	Rollback bool
	// UpdateStatus, when set, is the service's new update status.
	UpdateStatus *swarmv1.UpdateStatus
	// Wake, when not zero, is when a delayed decision (restart delay,
	// update delay) falls due.
	Wake time.Time
	// More says that View.MaxCreate held tasks back: reconcile again
	// once this plan is committed.
	More bool
	// WatchStarts says that a decision waits for tasks that are starting
	// (a move, once no task starts): reconcile as they get further.
	WatchStarts bool

	// restartDue says that a slot waits out its restart delay: its next
	// task, placed where the service has the fewest, may even things out
	// without a move.
	restartDue bool
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool {
	return len(p.Create) == 0 && len(p.Desire) == 0 && len(p.Orphan) == 0 && len(p.Delete) == 0 &&
		!p.Rollback && p.UpdateStatus == nil
}

func (p *Plan) wakeAt(t time.Time) {
	if p.Wake.IsZero() || t.Before(p.Wake) {
		p.Wake = t
	}
}

func (p *Plan) shutdown(t *swarmv1.Task) {
	p.Desire = append(p.Desire, &swarmv1.TaskDesire{TaskId: t.Id, DesiredState: stShutdown})
}

// Terminal reports whether a task state is final.
func terminal(st swarmv1.TaskState) bool { return st >= stComplete }

// runnable reports whether a task is meant to run.
func runnable(t *swarmv1.Task) bool { return t.DesiredState <= stRunning }

// nodeUsable reports whether tasks may keep running on node id: it exists,
// is Ready and is not drained.
func nodeUsable(nodes map[string]*swarmv1.Node, id string) bool {
	n, ok := nodes[id]
	return ok && n.GetStatus().GetState() == swarmv1.NodeState_NODE_STATE_READY &&
		n.GetSpec().GetAvailability() != swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN
}

// lost reports whether task t was lost with its node rather than ended by
// itself: its node is down, drained or gone.
func lost(v *View, t *swarmv1.Task) bool {
	return t.NodeId != "" && !nodeUsable(v.Nodes, t.NodeId)
}

// current reports whether a task runs the service's current task spec.
func (v *View) current(t *swarmv1.Task) bool {
	if v.Current == nil {
		return proto.Equal(t.Spec, v.Service.GetSpec().GetTask())
	}
	is, ok := v.Current[t.Id]
	if !ok {
		is = proto.Equal(t.Spec, v.Service.GetSpec().GetTask())
		v.Current[t.Id] = is
	}
	return is
}

// Reconcile compares a replicated or global service with its tasks and
// decides what to change: new tasks for empty slots (per restart policy),
// replacements for tasks lost with their node (at once), shutdown of
// surplus tasks (scale down, duplicates after a partition: newer wins),
// the rolling update of outdated tasks, and trimming of history.
func Reconcile(v View) Plan {
	var p Plan
	if v.History <= 0 {
		v.History = DefaultHistory
	}
	// The tasks by slot, each slot's sorted: what the plan and the history
	// trim both go through.
	global := v.Service.GetSpec().GetMode() == swarmv1.ServiceMode_SERVICE_MODE_GLOBAL
	slots := bySlot(v.Tasks, global)
	if global {
		reconcileGlobal(&v, &p, slots)
	} else {
		reconcileReplicated(&v, &p, slots)
	}
	trimHistory(&v, &p, slots)
	return p
}

// bySlot groups tasks by slot (global tasks by node), each group sorted by
// creation time, oldest first.
func bySlot(tasks []*swarmv1.Task, global bool) map[string][]*swarmv1.Task {
	out := make(map[string][]*swarmv1.Task)
	for _, t := range tasks {
		key := slotKey(t, global)
		out[key] = append(out[key], t)
	}
	for _, ts := range out {
		// In creation order: by the store's count, which the clocks of
		// the managers that made them cannot disorder (a task made by a
		// leader whose clock ran an hour ahead would otherwise stay the
		// slot's newest for an hour); by date for tasks of a store from
		// before the count.
		sort.Slice(ts, func(i, j int) bool {
			if ts[i].CreatedIndex != ts[j].CreatedIndex {
				return ts[i].CreatedIndex < ts[j].CreatedIndex
			}
			if ts[i].CreatedUnixNano != ts[j].CreatedUnixNano {
				return ts[i].CreatedUnixNano < ts[j].CreatedUnixNano
			}
			return ts[i].Id < ts[j].Id
		})
	}
	return out
}

func slotKey(t *swarmv1.Task, global bool) string {
	if global {
		return t.NodeId
	}
	return itoa(t.Slot)
}

func itoa(n uint64) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

func (v *View) newTask(slot uint64, nodeID string) *swarmv1.Task {
	svc := v.Service
	t := &swarmv1.Task{
		Id:           v.NewID(),
		ServiceId:    svc.Id,
		ServiceName:  svc.GetSpec().GetName(),
		Slot:         slot,
		NodeId:       nodeID,
		SpecVersion:  svc.SpecVersion,
		Spec:         v.taskSpec(),
		DesiredState: stRunning,
		Status:       &swarmv1.TaskStatus{State: stPending, TimestampUnixNano: v.Now.UnixNano()},
		Ports:        hostPorts(svc),
	}
	if nodeID != "" {
		t.Status = &swarmv1.TaskStatus{State: stAssigned, TimestampUnixNano: v.Now.UnixNano(), Message: cluster.AssignedMessage}
	}
	return t
}

// create adds a new task for slot (on nodeID, for a global service) to
// the plan, unless the plan has MaxCreate already: then it notes that
// there are more.
func (v *View) create(p *Plan, slot uint64, nodeID string) {
	if v.MaxCreate != 0 && len(p.Create) >= max(v.MaxCreate, 0) {
		p.More = true
		return
	}
	p.Create = append(p.Create, v.newTask(slot, nodeID))
}

// taskSpec is the service's task spec as the new tasks of this reconcile
// carry it: one copy for all of them.
func (v *View) taskSpec() *swarmv1.TaskSpec {
	if v.spec == nil {
		v.spec = proto.Clone(v.Service.GetSpec().GetTask()).(*swarmv1.TaskSpec)
	}
	return v.spec
}

// hostPorts are the ports a task carries: its service's published ports
// (host-mode ones bind on its node; the others tell a task on overlay
// networks which port it listens on).
func hostPorts(svc *swarmv1.Service) []*swarmv1.PortConfig {
	var out []*swarmv1.PortConfig
	for _, p := range svc.GetPorts() {
		out = append(out, proto.Clone(p).(*swarmv1.PortConfig))
	}
	return out
}

// slotState is one slot's tasks sorted out.
type slotState struct {
	tasks []*swarmv1.Task
	// live are the runnable tasks that have not ended, newest last.
	live []*swarmv1.Task
	// latest is the newest task of the slot.
	latest *swarmv1.Task
}

func sortSlot(v *View, p *Plan, tasks []*swarmv1.Task) slotState {
	s := slotState{tasks: tasks}
	if len(tasks) > 0 {
		s.latest = tasks[len(tasks)-1]
	}
	for _, t := range tasks {
		if !runnable(t) {
			continue
		}
		switch {
		case terminal(t.Status.GetState()):
			// It ended by itself: it is history now.
			p.shutdown(t)
		case lost(v, t):
			// Its node is down or drained: replace it now; the node stops
			// it if it comes back.
			p.shutdown(t)
			if v.Nodes[t.NodeId].GetStatus().GetState() != swarmv1.NodeState_NODE_STATE_READY {
				p.Orphan = append(p.Orphan, &swarmv1.TaskStatusUpdate{TaskId: t.Id, Status: &swarmv1.TaskStatus{
					State: stOrphaned, TimestampUnixNano: v.Now.UnixNano(), Err: "node down",
				}})
			}
		default:
			s.live = append(s.live, t)
		}
	}
	return s
}

func reconcileReplicated(v *View, p *Plan, slots map[string][]*swarmv1.Task) {
	svc := v.Service
	replicas := svc.GetSpec().GetReplicas()
	var updating []*slotUpdate
	busy := 0
	keys := make([]uint64, 0, len(slots))
	for _, ts := range slots {
		keys = append(keys, ts[0].Slot)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	for slot := uint64(1); slot <= replicas; slot++ {
		if _, ok := slots[itoa(slot)]; !ok {
			keys = append(keys, slot)
		}
	}
	for _, slot := range keys {
		s := sortSlot(v, p, slots[itoa(slot)])
		if slot == 0 || slot > replicas {
			// Scaled down: the slot goes away.
			for _, t := range s.live {
				p.shutdown(t)
			}
			continue
		}
		u, b := fillSlot(v, p, slot, "", s)
		if u != nil {
			updating = append(updating, u)
		}
		if b {
			busy++
		}
	}
	rollingUpdate(v, p, updating, busy, int(replicas))
	if v.Rebalance {
		rebalance(v, p, len(updating) == 0 && busy == 0 && len(p.Create) == 0 && len(p.Desire) == 0 && !p.restartDue)
	}
}

// rebalance moves one task from the most loaded eligible node toward the
// least loaded one that placement does not avoid, when their counts of
// this service's running tasks differ by two or more: a new task for the
// same slot, placed by the scheduler (which prefers the node with the
// fewest), while the old one runs until the new one does. Only a stable
// service moves a task: otherwise, or while tasks start, a move that
// may be called for waits (Plan.WatchStarts). A slot waiting out its
// restart delay waits too: its task, when it comes, goes where the
// service has the fewest (a move before it restarted a task for
// nothing).
func rebalance(v *View, p *Plan, stable bool) {
	// While no node holds two live tasks, no two nodes' counts differ by
	// two: the usual case of a service spread wide, told without a look
	// at every node of a big swarm. Otherwise a move waits until no task
	// is starting or waiting for a node.
	live, most, starting := make(map[string]int, len(v.Tasks)), 0, false
	for _, t := range v.Tasks {
		if !runnable(t) || terminal(t.Status.GetState()) {
			continue
		}
		if t.Status.GetState() != stRunning {
			starting = true
		}
		if t.NodeId != "" {
			live[t.NodeId]++
			most = max(most, live[t.NodeId])
		}
	}
	if most < 2 {
		return
	}
	if starting || !stable {
		p.WatchStarts = true
		return
	}
	counts := make(map[string]int)
	for id, n := range v.Nodes {
		if n.GetStatus().GetState() == swarmv1.NodeState_NODE_STATE_READY &&
			n.GetSpec().GetAvailability() == swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE &&
			globalEligible(v.Service, n) && (v.Eligible == nil || v.Eligible(n)) {
			counts[id] = live[id] // all running: none starts
		}
	}
	// A node where the service keeps failing gets no new task while
	// another can take it (planAvoidingFailures): moving a task toward it
	// would land on another node, from which the next reconcile would
	// move it again, for as long as the failures are recent.
	failing := FailingNodes(*v)
	busiest, idlest := "", ""
	for id, c := range counts {
		if busiest == "" || c > counts[busiest] || (c == counts[busiest] && id < busiest) {
			busiest = id
		}
		if failing[id] {
			continue
		}
		if idlest == "" || c < counts[idlest] || (c == counts[idlest] && id < idlest) {
			idlest = id
		}
	}
	if busiest == "" || idlest == "" || counts[busiest]-counts[idlest] < 2 {
		return
	}
	// The task of the highest slot moves.
	var top *swarmv1.Task
	for _, t := range v.Tasks {
		if runnable(t) && t.Status.GetState() == stRunning && t.NodeId == busiest && (top == nil || t.Slot > top.Slot) {
			top = t
		}
	}
	p.Create = append(p.Create, v.newTask(top.Slot, ""))
}

// slotUpdate is a slot whose live task runs an outdated spec.
type slotUpdate struct {
	slot    uint64
	nodeID  string
	old     *swarmv1.Task
	replace *swarmv1.Task // the new-spec task already started (start-first)
	hold    bool          // its replacement waits for the restart policy
}

// fillSlot makes sure slot has one live task: it keeps the newest live one
// (newer tasks win), creates one when none is live and the restart policy
// allows, and returns the slot when its task needs an update. busy says the
// slot is between two tasks (one stopping or one starting): a rolling
// update counts it against its parallelism.
func fillSlot(v *View, p *Plan, slot uint64, nodeID string, s slotState) (*slotUpdate, bool) {
	var fresh, stale []*swarmv1.Task
	for _, t := range s.live {
		if v.current(t) {
			fresh = append(fresh, t)
		} else {
			stale = append(stale, t)
		}
	}
	switch {
	case len(fresh) > 0:
		// Keep the newest current task; anything else live goes, but while
		// it starts (a rebalancing move, start-first) one older running
		// task keeps serving.
		keep := fresh[len(fresh)-1]
		starting := keep.Status.GetState() != stRunning
		serving := false
		for _, t := range fresh[:len(fresh)-1] {
			if starting && !serving && t.Status.GetState() == stRunning {
				serving = true
				continue
			}
			p.Desire = append(p.Desire, &swarmv1.TaskDesire{TaskId: t.Id, DesiredState: stShutdown, Reason: "rebalanced"})
		}
		if !starting || len(stale) == 0 {
			for _, t := range stale {
				p.shutdown(t)
			}
			return nil, starting
		}
		// start-first: the replacement is starting; the old task runs on.
		return &slotUpdate{slot: slot, nodeID: nodeID, old: stale[len(stale)-1], replace: keep}, true
	case len(stale) > 0:
		for _, t := range stale[:len(stale)-1] {
			p.shutdown(t)
		}
		if l := s.latest; l != nil && v.current(l) && terminal(l.Status.GetState()) {
			// A replacement started first ended by itself: the restart
			// policy says whether and when the next one starts.
			// Until then the slot stays outdated, held.
			if at, ok := restartAt(v, s); !ok {
				return &slotUpdate{slot: slot, nodeID: nodeID, old: stale[len(stale)-1], hold: true}, false
			} else if at.After(v.Now) {
				p.wakeAt(at)
				return &slotUpdate{slot: slot, nodeID: nodeID, old: stale[len(stale)-1], hold: true}, false
			}
		}
		return &slotUpdate{slot: slot, nodeID: nodeID, old: stale[len(stale)-1]}, false
	}
	// Nothing live in the slot.
	if s.latest != nil && runnableStopping(p, s.latest) && !lost(v, s.latest) {
		// stop-first: wait until the old task has stopped.
		return nil, true
	}
	if at, ok := restartAt(v, s); !ok {
		return nil, false
	} else if at.After(v.Now) {
		p.wakeAt(at)
		p.restartDue = true
		return nil, false
	}
	if nodeID != "" && v.Nodes[nodeID].GetSpec().GetAvailability() == swarmv1.NodeAvailability_NODE_AVAILABILITY_PAUSE {
		// A paused node keeps its task but gets no new one.
		return nil, false
	}
	v.create(p, slot, nodeID)
	return nil, true
}

// runnableStopping reports whether t is being stopped: told to shut down
// (now or by an earlier reconcile) and not yet ended.
func runnableStopping(p *Plan, t *swarmv1.Task) bool {
	if terminal(t.Status.GetState()) {
		return false
	}
	if t.DesiredState > stRunning {
		return true
	}
	for _, d := range p.Desire {
		if d.TaskId == t.Id {
			return true
		}
	}
	return false
}

// restartAt applies the restart policy to a slot with no live task: whether
// and when a new task may start. A slot never used, or whose task was shut
// down or lost by the system, gets one at once.
func restartAt(v *View, s slotState) (time.Time, bool) {
	last := s.latest
	if last == nil {
		return v.Now, true
	}
	st := last.Status.GetState()
	if st == stShutdown || st == stOrphaned || !terminal(st) {
		return v.Now, true
	}
	rp := v.Service.GetSpec().GetTask().GetRestart()
	switch rp.GetCondition() {
	case swarmv1.RestartCondition_RESTART_CONDITION_NONE:
		return time.Time{}, false
	case swarmv1.RestartCondition_RESTART_CONDITION_ON_FAILURE:
		if st == stComplete {
			return time.Time{}, false
		}
	}
	if max := rp.GetMaxAttempts(); max > 0 {
		attempts := uint64(0)
		window := time.Duration(rp.GetWindowNano())
		for _, t := range s.tasks {
			ts := t.Status.GetState()
			if ts != stFailed && ts != stComplete && ts != stRejected || !v.current(t) {
				continue
			}
			if window > 0 && v.Now.Sub(time.Unix(0, t.Status.GetTimestampUnixNano())) > window {
				continue
			}
			attempts++
		}
		if attempts >= max {
			return time.Time{}, false
		}
	}
	seen, ok := v.EndedSeen[last.Id]
	if !ok {
		seen = v.Now
		if v.EndedSeen != nil {
			v.EndedSeen[last.Id] = seen
		}
	}
	return seen.Add(time.Duration(rp.GetDelayNano())), true
}

func reconcileGlobal(v *View, p *Plan, slots map[string][]*swarmv1.Task) {
	eligible := make(map[string]bool)
	for id, n := range v.Nodes {
		if globalEligible(v.Service, n) && (v.Eligible == nil || v.Eligible(n)) {
			eligible[id] = true
		}
	}
	var updating []*slotUpdate
	busy := 0
	ids := make([]string, 0, len(slots)+len(eligible))
	for id := range slots {
		ids = append(ids, id)
	}
	for id := range eligible {
		if _, ok := slots[id]; !ok {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, nodeID := range ids {
		s := sortSlot(v, p, slots[nodeID])
		if !eligible[nodeID] {
			for _, t := range s.live {
				p.shutdown(t)
			}
			continue
		}
		u, b := fillSlot(v, p, 0, nodeID, s)
		if u != nil {
			updating = append(updating, u)
		}
		if b {
			busy++
		}
	}
	rollingUpdate(v, p, updating, busy, len(eligible))
}

// globalEligible reports whether a global service runs a task on n: Ready,
// not drained (a paused node keeps its task but gets no new one: handled
// by the caller through existing tasks) and offering the runtime.
// Constraints are checked by the supervisor before it builds the view.
func globalEligible(svc *swarmv1.Service, n *swarmv1.Node) bool {
	if n.GetStatus().GetState() != swarmv1.NodeState_NODE_STATE_READY {
		return false
	}
	if n.GetSpec().GetAvailability() == swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN {
		return false
	}
	rt := svc.GetSpec().GetTask().GetRuntime()
	if rt == "" {
		rt = "process"
	}
	for _, r := range n.GetDescription().GetRuntimes() {
		if r == rt {
			return true
		}
	}
	return false
}

// rollingUpdate replaces outdated tasks a few slots at a time, per the
// service's update config: parallelism slots at once (0: all), stop-first
// or start-first, and the failure action when new tasks fail.
func rollingUpdate(v *View, p *Plan, slots []*slotUpdate, busy, total int) {
	svc := v.Service
	status := svc.GetUpdateStatus()
	state := status.GetState()
	if len(slots) == 0 && state != swarmv1.UpdateState_UPDATE_STATE_UPDATING && state != swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_STARTED {
		return
	}
	if state == swarmv1.UpdateState_UPDATE_STATE_PAUSED || state == swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_PAUSED {
		return
	}
	cfg := svc.GetSpec().GetUpdate()
	rollingBack := state == swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_STARTED
	if rollingBack {
		cfg = svc.GetSpec().GetRollback()
	}
	monitor := time.Duration(cfg.GetMonitorNano())
	if len(slots) == 0 && busy == 0 {
		// Every slot runs the new spec: the update is done once the last
		// new task has run for the monitor period without failing.
		if last := lastStarted(v); !last.IsZero() && v.Now.Before(last.Add(monitor)) {
			p.wakeAt(last.Add(monitor))
		} else {
			if state == swarmv1.UpdateState_UPDATE_STATE_UPDATING {
				p.UpdateStatus = &swarmv1.UpdateStatus{State: swarmv1.UpdateState_UPDATE_STATE_COMPLETED, StartedUnixNano: status.GetStartedUnixNano(), CompletedUnixNano: v.Now.UnixNano(), Message: "update completed"}
			}
			if rollingBack {
				p.UpdateStatus = &swarmv1.UpdateStatus{State: swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_COMPLETED, StartedUnixNano: status.GetStartedUnixNano(), CompletedUnixNano: v.Now.UnixNano(), Message: "rollback completed"}
			}
			return
		}
	}
	if state != swarmv1.UpdateState_UPDATE_STATE_UPDATING && !rollingBack {
		p.UpdateStatus = &swarmv1.UpdateStatus{State: swarmv1.UpdateState_UPDATE_STATE_UPDATING, StartedUnixNano: v.Now.UnixNano(), Message: "update in progress"}
		status = p.UpdateStatus
	}
	if failed := failedSince(v, status.GetStartedUnixNano(), monitor); failed > 0 {
		if total < 1 {
			total = 1
		}
		ratio := float64(failed) / float64(total)
		if ratio > float64(cfg.GetMaxFailureRatio()) {
			switch cfg.GetFailureAction() {
			case swarmv1.FailureAction_FAILURE_ACTION_CONTINUE:
			case swarmv1.FailureAction_FAILURE_ACTION_ROLLBACK:
				if !rollingBack && svc.GetPreviousSpec() != nil {
					p.Rollback = true
					p.UpdateStatus = &swarmv1.UpdateStatus{State: swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_STARTED, StartedUnixNano: v.Now.UnixNano(), Message: "update rolled back due to failure or early termination of task"}
					return
				}
				fallthrough
			default:
				st := swarmv1.UpdateState_UPDATE_STATE_PAUSED
				if rollingBack {
					st = swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_PAUSED
				}
				p.UpdateStatus = &swarmv1.UpdateStatus{State: st, StartedUnixNano: status.GetStartedUnixNano(), Message: "update paused due to failure or early termination of task"}
				return
			}
		}
	}
	// Slots between two tasks count against the parallelism.
	inFlight := busy
	par := int(cfg.GetParallelism())
	if par == 0 {
		par = len(slots) + busy
	}
	startFirst := cfg.GetOrder() == swarmv1.UpdateOrder_UPDATE_ORDER_START_FIRST
	if delay := time.Duration(cfg.GetDelayNano()); delay > 0 {
		if last := lastStarted(v); !last.IsZero() && v.Now.Before(last.Add(delay)) {
			p.wakeAt(last.Add(delay))
			return
		}
	}
	for _, s := range slots {
		if inFlight >= par {
			break
		}
		if s.replace != nil || s.hold {
			continue
		}
		inFlight++
		if startFirst {
			v.create(p, s.slot, s.nodeID)
		} else {
			p.shutdown(s.old)
		}
	}
}

// failedSince counts the current-spec tasks that failed since the update
// started, within the monitor period of their creation.
func failedSince(v *View, start int64, monitor time.Duration) int {
	n := 0
	for _, t := range v.Tasks {
		if !v.current(t) || t.CreatedUnixNano < start {
			continue
		}
		st := t.Status.GetState()
		if st != stFailed && st != stRejected {
			continue
		}
		// Only failures within the monitor period after the task was
		// created count against the update; later ones are the restart
		// policy's business.
		if monitor > 0 && time.Duration(t.Status.GetTimestampUnixNano()-t.CreatedUnixNano) > monitor {
			continue
		}
		n++
	}
	return n
}

// lastStarted is when the newest current-spec task started running.
// Starts dated after now are left out: a clock went back, and an update
// would otherwise wait for as long as it did.
func lastStarted(v *View) time.Time {
	var last int64
	now := v.Now.UnixNano()
	for _, t := range v.Tasks {
		if ts := t.Status.GetTimestampUnixNano(); v.current(t) && t.Status.GetState() == stRunning && ts > last && ts <= now {
			last = ts
		}
	}
	if last == 0 {
		return time.Time{}
	}
	return time.Unix(0, last)
}

// trimHistory deletes the oldest ended tasks of each slot beyond the
// history limit.
func trimHistory(v *View, p *Plan, slots map[string][]*swarmv1.Task) {
	limit := v.History
	if m := int(v.Service.GetSpec().GetTask().GetRestart().GetMaxAttempts()); m+1 > limit {
		limit = m + 1
	}
	for _, ts := range slots {
		if len(ts) <= limit {
			continue
		}
		extra := len(ts) - limit
		for _, t := range ts {
			if extra == 0 {
				break
			}
			if terminal(t.Status.GetState()) && !runnable(t) {
				p.Delete = append(p.Delete, t.Id)
				extra--
			}
		}
	}
}
