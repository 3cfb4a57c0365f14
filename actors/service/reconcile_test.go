package service

import (
	"flag"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/actors/scheduler"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

var (
	reconcileSeed  = flag.Int64("reconcile.seed", 0, "run TestReconcileConverges with this seed only")
	reconcileSeeds = flag.Int("reconcile.seeds", 40, "run TestReconcileConverges with seeds 1..N")
)

// t0 is the time every hand-built view is reconciled at.
var t0 = time.Date(2025, time.March, 1, 12, 0, 0, 0, time.UTC)

const (
	svcID  = "svc"
	imgOld = "web:1"
	imgNew = "web:2"
	// imgBad makes the simulated agents fail a task instead of running it.
	imgBad = "web:broken"

	stStarting = swarmv1.TaskState_TASK_STATE_STARTING
)

// Short names of the enums the tests use.
const (
	condNone      = swarmv1.RestartCondition_RESTART_CONDITION_NONE
	condOnFailure = swarmv1.RestartCondition_RESTART_CONDITION_ON_FAILURE
	condAny       = swarmv1.RestartCondition_RESTART_CONDITION_ANY

	usNone           = swarmv1.UpdateState_UPDATE_STATE_UNSPECIFIED
	usUpdating       = swarmv1.UpdateState_UPDATE_STATE_UPDATING
	usPaused         = swarmv1.UpdateState_UPDATE_STATE_PAUSED
	usCompleted      = swarmv1.UpdateState_UPDATE_STATE_COMPLETED
	usRollback       = swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_STARTED
	usRollbackPaused = swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_PAUSED
	usRollbackDone   = swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_COMPLETED

	faPause    = swarmv1.FailureAction_FAILURE_ACTION_PAUSE
	faContinue = swarmv1.FailureAction_FAILURE_ACTION_CONTINUE
	faRollback = swarmv1.FailureAction_FAILURE_ACTION_ROLLBACK

	stopFirst  = swarmv1.UpdateOrder_UPDATE_ORDER_STOP_FIRST
	startFirst = swarmv1.UpdateOrder_UPDATE_ORDER_START_FIRST

	nodeReady = swarmv1.NodeState_NODE_STATE_READY
	nodeDownS = swarmv1.NodeState_NODE_STATE_DOWN
	avActive  = swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE
	avDrain   = swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN
)

// ---- builders ----

type nodeOpt func(*swarmv1.Node)

// node is a Ready, active node offering the process runtime.
func node(id string, opts ...nodeOpt) *swarmv1.Node {
	n := &swarmv1.Node{
		Id:          id,
		Spec:        &swarmv1.NodeSpec{Availability: avActive},
		Description: &swarmv1.NodeDescription{Hostname: id, Runtimes: []string{"process"}},
		Status:      &swarmv1.NodeStatus{State: nodeReady},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func nodeDown(n *swarmv1.Node)    { n.Status.State = nodeDownS }
func nodeDrained(n *swarmv1.Node) { n.Spec.Availability = avDrain }
func paused(n *swarmv1.Node)      { n.Spec.Availability = swarmv1.NodeAvailability_NODE_AVAILABILITY_PAUSE }
func runtimes(rs ...string) nodeOpt {
	return func(n *swarmv1.Node) { n.Description.Runtimes = rs }
}

func threeNodes() []*swarmv1.Node { return []*swarmv1.Node{node("n1"), node("n2"), node("n3")} }

type svcOpt func(*swarmv1.Service)

// service is a replicated service "web" running imgOld, restart condition
// any without delay, no update in progress.
func service(replicas uint64, opts ...svcOpt) *swarmv1.Service {
	s := &swarmv1.Service{
		Id:          svcID,
		SpecVersion: 1,
		Spec: &swarmv1.ServiceSpec{
			Name:     "web",
			Mode:     swarmv1.ServiceMode_SERVICE_MODE_REPLICATED,
			Replicas: replicas,
			Task: &swarmv1.TaskSpec{
				Image:   imgOld,
				Restart: &swarmv1.RestartPolicy{Condition: condAny},
			},
		},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

func global(s *swarmv1.Service) {
	s.Spec.Mode = swarmv1.ServiceMode_SERVICE_MODE_GLOBAL
	s.Spec.Replicas = 0
}

func withRuntime(rt string) svcOpt { return func(s *swarmv1.Service) { s.Spec.Task.Runtime = rt } }

func restart(c swarmv1.RestartCondition, delay time.Duration, maxAttempts uint64, window time.Duration) svcOpt {
	return func(s *swarmv1.Service) {
		s.Spec.Task.Restart = &swarmv1.RestartPolicy{Condition: c, DelayNano: int64(delay), MaxAttempts: maxAttempts, WindowNano: int64(window)}
	}
}

func update(cfg *swarmv1.UpdateConfig) svcOpt {
	return func(s *swarmv1.Service) { s.Spec.Update = cfg }
}

func rollbackConfig(cfg *swarmv1.UpdateConfig) svcOpt {
	return func(s *swarmv1.Service) { s.Spec.Rollback = cfg }
}

// updatedTo changes the task image as `service update --image` does: the
// spec so far becomes the previous spec. Give it after the other options.
func updatedTo(image string) svcOpt {
	return func(s *swarmv1.Service) {
		s.PreviousSpec = proto.Clone(s.Spec).(*swarmv1.ServiceSpec)
		s.Spec.Task.Image = image
		s.SpecVersion++
	}
}

func withoutPrevious(s *swarmv1.Service) { s.PreviousSpec = nil }

func updateStatus(st swarmv1.UpdateState, startedAgo time.Duration) svcOpt {
	return func(s *swarmv1.Service) {
		s.UpdateStatus = &swarmv1.UpdateStatus{State: st, StartedUnixNano: t0.Add(-startedAgo).UnixNano()}
	}
}

type taskOpt func(*swarmv1.Task)

// task is a task of svcID, desired RUNNING, created an hour before t0 with
// its status from then. Its spec is the service's (view fills it in) unless
// img says otherwise.
func task(id string, slot uint64, nodeID string, st swarmv1.TaskState, opts ...taskOpt) *swarmv1.Task {
	t := &swarmv1.Task{
		Id:              id,
		ServiceId:       svcID,
		Slot:            slot,
		NodeId:          nodeID,
		DesiredState:    stRunning,
		CreatedUnixNano: t0.Add(-time.Hour).UnixNano(),
		Status:          &swarmv1.TaskStatus{State: st, TimestampUnixNano: t0.Add(-time.Hour).UnixNano()},
	}
	for _, o := range opts {
		o(t)
	}
	return t
}

// img gives the task another image than the service's current one.
func img(image string) taskOpt {
	return func(t *swarmv1.Task) { t.Spec = &swarmv1.TaskSpec{Image: image} }
}

// created sets when the task was created, ago before t0; its status dates
// from then too unless since says otherwise.
func created(ago time.Duration) taskOpt {
	return func(t *swarmv1.Task) {
		t.CreatedUnixNano = t0.Add(-ago).UnixNano()
		t.Status.TimestampUnixNano = t.CreatedUnixNano
	}
}

// since sets when the task reached its state, ago before t0.
func since(ago time.Duration) taskOpt {
	return func(t *swarmv1.Task) { t.Status.TimestampUnixNano = t0.Add(-ago).UnixNano() }
}

// stopped marks the task as told to shut down by an earlier reconcile.
func stopped(t *swarmv1.Task) { t.DesiredState = stShutdown }

// counter returns a NewID that counts: prefix-1, prefix-2, ...
func counter(prefix string) func() string {
	n := 0
	return func() string {
		n++
		return fmt.Sprintf("%s-%d", prefix, n)
	}
}

// view builds a view at t0 (nodes nil: n1, n2, n3, all Ready). Task specs
// are filled in from the service: the current task spec, with the task's
// own image when img gave one.
func view(svc *swarmv1.Service, nodes []*swarmv1.Node, tasks ...*swarmv1.Task) View {
	if nodes == nil {
		nodes = threeNodes()
	}
	byID := make(map[string]*swarmv1.Node, len(nodes))
	for _, n := range nodes {
		byID[n.Id] = n
	}
	for _, t := range tasks {
		spec := proto.Clone(svc.Spec.Task).(*swarmv1.TaskSpec)
		t.SpecVersion = svc.SpecVersion
		if im := t.GetSpec().GetImage(); im != "" && im != spec.Image {
			spec.Image = im
			t.SpecVersion = svc.SpecVersion - 1
		}
		t.Spec = spec
		t.ServiceName = svc.Spec.Name
	}
	return View{Service: svc, Tasks: tasks, Nodes: byID, Now: t0, NewID: counter("new"), EndedSeen: seenAtDates(tasks)}
}

// seenAtDates is a supervisor's memo (View.EndedSeen) as if it had seen
// each ended task at the task's date: what a supervisor that watched all
// along remembers, when the clocks agree.
func seenAtDates(tasks []*swarmv1.Task) map[string]time.Time {
	seen := make(map[string]time.Time)
	for _, t := range tasks {
		if terminal(t.GetStatus().GetState()) {
			seen[t.Id] = time.Unix(0, t.GetStatus().GetTimestampUnixNano())
		}
	}
	return seen
}

// ---- plan checking ----

// outcome is a plan in a form that is easy to compare: creates as
// "slot N" (replicated) or "node ID" (global), the rest as task IDs, all
// sorted.
type outcome struct {
	create   []string
	shutdown []string
	orphan   []string
	delete   []string
	rollback bool
	update   swarmv1.UpdateState // unspecified: unchanged
	wake     time.Time
}

func (o outcome) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "create=%v shutdown=%v orphan=%v delete=%v", o.create, o.shutdown, o.orphan, o.delete)
	if o.rollback {
		b.WriteString(" rollback")
	}
	if o.update != usNone {
		fmt.Fprintf(&b, " update=%s", strings.TrimPrefix(o.update.String(), "UPDATE_STATE_"))
	}
	if !o.wake.IsZero() {
		fmt.Fprintf(&b, " wake=t0%+v", o.wake.Sub(t0))
	}
	return b.String()
}

func sorted(s []string) []string {
	sort.Strings(s)
	return s
}

func summarize(v View, p Plan) outcome {
	o := outcome{rollback: p.Rollback}
	if !p.Wake.IsZero() {
		o.wake = time.Unix(0, p.Wake.UnixNano()).UTC()
	}
	for _, c := range p.Create {
		if c.NodeId != "" {
			o.create = append(o.create, "node "+c.NodeId)
		} else {
			o.create = append(o.create, fmt.Sprintf("slot %d", c.Slot))
		}
	}
	for _, d := range p.Desire {
		o.shutdown = append(o.shutdown, d.TaskId)
	}
	for _, u := range p.Orphan {
		o.orphan = append(o.orphan, u.TaskId)
	}
	o.delete = append(o.delete, p.Delete...)
	if p.UpdateStatus != nil {
		o.update = p.UpdateStatus.State
	}
	o.create, o.shutdown, o.orphan, o.delete = sorted(o.create), sorted(o.shutdown), sorted(o.orphan), sorted(o.delete)
	return o
}

// reconcile runs Reconcile, checks that it left the view alone, and
// checks the plan.
func reconcile(t *testing.T, v View) Plan {
	t.Helper()
	before := cloneView(v)
	p := Reconcile(v)
	if !sameView(before, v) {
		t.Fatalf("Reconcile modified its view")
	}
	checkPlan(t, v, p)
	return p
}

// checkPlan checks what holds for every plan: new tasks are well formed
// with fresh IDs, desires are shutdowns of known tasks, each told once,
// orphan reports are well formed, wake is in the future.
func checkPlan(t *testing.T, v View, p Plan) {
	t.Helper()
	global := v.Service.GetSpec().GetMode() == swarmv1.ServiceMode_SERVICE_MODE_GLOBAL
	known := make(map[string]bool, len(v.Tasks))
	for _, tk := range v.Tasks {
		known[tk.Id] = true
	}
	for _, c := range p.Create {
		switch {
		case c.Id == "" || known[c.Id]:
			t.Errorf("created task has ID %q: empty or taken", c.Id)
		case c.ServiceId != v.Service.Id || c.ServiceName != v.Service.Spec.Name || c.SpecVersion != v.Service.SpecVersion:
			t.Errorf("created task %s: service %q %q version %d, want %q %q %d", c.Id, c.ServiceId, c.ServiceName, c.SpecVersion, v.Service.Id, v.Service.Spec.Name, v.Service.SpecVersion)
		case !proto.Equal(c.Spec, v.Service.Spec.Task) || c.Spec == v.Service.Spec.Task:
			t.Errorf("created task %s: spec is not a copy of the service's task spec", c.Id)
		case c.DesiredState != stRunning:
			t.Errorf("created task %s: desired %v, want RUNNING", c.Id, c.DesiredState)
		case c.Status.GetTimestampUnixNano() != v.Now.UnixNano():
			t.Errorf("created task %s: status time %d, want now", c.Id, c.Status.GetTimestampUnixNano())
		case global && (c.NodeId == "" || c.Slot != 0 || c.Status.GetState() != stAssigned):
			t.Errorf("created global task %s: node %q slot %d state %v, want a node, slot 0, ASSIGNED", c.Id, c.NodeId, c.Slot, c.Status.GetState())
		case !global && (c.NodeId != "" || c.Slot == 0 || c.Slot > v.Service.Spec.Replicas || c.Status.GetState() != stPending):
			t.Errorf("created replicated task %s: node %q slot %d state %v, want no node, slot 1..%d, PENDING", c.Id, c.NodeId, c.Slot, c.Status.GetState(), v.Service.Spec.Replicas)
		}
		known[c.Id] = true
	}
	told := make(map[string]bool)
	for _, d := range p.Desire {
		if d.DesiredState != stShutdown || !known[d.TaskId] || told[d.TaskId] {
			t.Errorf("desire %v: not a first shutdown of a known task", d)
		}
		told[d.TaskId] = true
	}
	for _, u := range p.Orphan {
		if u.Status.GetState() != stOrphaned || u.Status.GetErr() != "node down" || u.Status.GetTimestampUnixNano() != v.Now.UnixNano() {
			t.Errorf("orphan report %v: want ORPHANED, err \"node down\", stamped now", u)
		}
	}
	if !p.Wake.IsZero() && !p.Wake.After(v.Now) {
		t.Errorf("wake %v is not in the future of %v", p.Wake, v.Now)
	}
}

type reconcileCase struct {
	name    string
	svc     *swarmv1.Service
	nodes   []*swarmv1.Node // nil: n1, n2, n3, all Ready
	tasks   []*swarmv1.Task
	history int
	want    outcome
}

func runCases(t *testing.T, cases []reconcileCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := view(tc.svc, tc.nodes, tc.tasks...)
			v.History = tc.history
			got := summarize(v, reconcile(t, v))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan\n got: %v\nwant: %v", got, tc.want)
			}
		})
	}
}

// ---- table tests ----

func TestReconcileSlots(t *testing.T) {
	runCases(t, []reconcileCase{
		{
			name: "new service fills every slot",
			svc:  service(3),
			want: outcome{create: []string{"slot 1", "slot 2", "slot 3"}},
		},
		{
			name:  "converged service changes nothing",
			svc:   service(2),
			tasks: []*swarmv1.Task{task("a", 1, "n1", stRunning), task("b", 2, "n2", stRunning)},
		},
		{
			name:  "task not yet placed or started is left alone",
			svc:   service(2),
			tasks: []*swarmv1.Task{task("a", 1, "", stPending), task("b", 2, "n2", stAssigned)},
		},
		{
			name: "scale 5 to 2 shuts down slots 3-5 only",
			svc:  service(2),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stRunning), task("b", 2, "n2", stRunning), task("c", 3, "n3", stRunning),
				task("d", 4, "n1", stRunning), task("e", 5, "n2", stPending),
			},
			want: outcome{shutdown: []string{"c", "d", "e"}},
		},
		{
			name: "scale down leaves slots already stopping alone",
			svc:  service(1),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stRunning), task("b", 2, "n2", stRunning, stopped),
			},
		},
		{
			name: "scale 2 to 4 creates new tasks and revives no old one",
			svc:  service(4),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stRunning), task("b", 2, "n2", stRunning),
				task("c", 3, "n3", stShutdown, stopped), task("d", 4, "n1", stShutdown, stopped),
			},
			want: outcome{create: []string{"slot 3", "slot 4"}},
		},
		{
			name: "duplicates after a partition: the newest wins",
			svc:  service(2),
			tasks: []*swarmv1.Task{
				task("a-old", 1, "n1", stRunning, created(time.Hour)),
				task("a-new", 1, "n2", stRunning, created(time.Minute)),
				task("b", 2, "n3", stRunning),
			},
			want: outcome{shutdown: []string{"a-old"}},
		},
		{
			name: "three live tasks in a slot: the two older go",
			svc:  service(1),
			tasks: []*swarmv1.Task{
				task("x", 1, "n2", stRunning, created(time.Minute)),
				task("y", 1, "n1", stRunning, created(time.Hour)),
				task("z", 1, "n3", stRunning, created(2*time.Hour)),
			},
			want: outcome{shutdown: []string{"y", "z"}},
		},
		{
			name: "duplicates in a scaled-down slot all go",
			svc:  service(1),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stRunning),
				task("b1", 2, "n2", stRunning, created(time.Minute)),
				task("b2", 2, "n3", stRunning, created(time.Hour)),
			},
			want: outcome{shutdown: []string{"b1", "b2"}},
		},
	})
}

func TestReconcileRestartPolicy(t *testing.T) {
	ended := func(st swarmv1.TaskState) []*swarmv1.Task {
		return []*swarmv1.Task{task("a", 1, "n1", st, since(time.Minute))}
	}
	runCases(t, []reconcileCase{
		{
			name:  "none: failed task is not replaced",
			svc:   service(1, restart(condNone, 0, 0, 0)),
			tasks: ended(stFailed),
			want:  outcome{shutdown: []string{"a"}},
		},
		{
			name:  "none: completed task is not replaced",
			svc:   service(1, restart(condNone, 0, 0, 0)),
			tasks: ended(stComplete),
			want:  outcome{shutdown: []string{"a"}},
		},
		{
			name:  "on-failure: failed task is replaced",
			svc:   service(1, restart(condOnFailure, 0, 0, 0)),
			tasks: ended(stFailed),
			want:  outcome{shutdown: []string{"a"}, create: []string{"slot 1"}},
		},
		{
			name:  "on-failure: rejected task is replaced",
			svc:   service(1, restart(condOnFailure, 0, 0, 0)),
			tasks: ended(stRejected),
			want:  outcome{shutdown: []string{"a"}, create: []string{"slot 1"}},
		},
		{
			name:  "on-failure: completed task is not replaced",
			svc:   service(1, restart(condOnFailure, 0, 0, 0)),
			tasks: ended(stComplete),
			want:  outcome{shutdown: []string{"a"}},
		},
		{
			name:  "any: completed task is replaced",
			svc:   service(1, restart(condAny, 0, 0, 0)),
			tasks: ended(stComplete),
			want:  outcome{shutdown: []string{"a"}, create: []string{"slot 1"}},
		},
		{
			name:  "no condition given behaves as any",
			svc:   service(1, restart(swarmv1.RestartCondition_RESTART_CONDITION_UNSPECIFIED, 0, 0, 0)),
			tasks: ended(stComplete),
			want:  outcome{shutdown: []string{"a"}, create: []string{"slot 1"}},
		},
		{
			name:  "delay not yet due: no replacement, wake when due",
			svc:   service(1, restart(condAny, 5*time.Second, 0, 0)),
			tasks: []*swarmv1.Task{task("a", 1, "n1", stFailed, since(2*time.Second))},
			want:  outcome{shutdown: []string{"a"}, wake: t0.Add(3 * time.Second)},
		},
		{
			name:  "delay not yet due, task already shut down: only the wake",
			svc:   service(1, restart(condAny, 5*time.Second, 0, 0)),
			tasks: []*swarmv1.Task{task("a", 1, "n1", stFailed, since(2*time.Second), stopped)},
			want:  outcome{wake: t0.Add(3 * time.Second)},
		},
		{
			name:  "delay due exactly now: replaced, no wake",
			svc:   service(1, restart(condAny, 5*time.Second, 0, 0)),
			tasks: []*swarmv1.Task{task("a", 1, "n1", stFailed, since(5*time.Second), stopped)},
			want:  outcome{create: []string{"slot 1"}},
		},
		{
			name:  "delay long past: replaced",
			svc:   service(1, restart(condAny, 5*time.Second, 0, 0)),
			tasks: []*swarmv1.Task{task("a", 1, "n1", stFailed, since(time.Hour))},
			want:  outcome{shutdown: []string{"a"}, create: []string{"slot 1"}},
		},
		{
			name: "wake is the earliest of several slots",
			svc:  service(2, restart(condAny, 10*time.Second, 0, 0)),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stFailed, since(2*time.Second)),
				task("b", 2, "n2", stFailed, since(7*time.Second)),
			},
			want: outcome{shutdown: []string{"a", "b"}, wake: t0.Add(3 * time.Second)},
		},
		{
			name: "max attempts reached: not replaced",
			svc:  service(1, restart(condAny, 0, 3, 0)),
			tasks: []*swarmv1.Task{
				task("a1", 1, "n1", stFailed, created(3*time.Hour), stopped),
				task("a2", 1, "n1", stFailed, created(2*time.Hour), stopped),
				task("a3", 1, "n1", stFailed, created(time.Hour)),
			},
			want: outcome{shutdown: []string{"a3"}},
		},
		{
			name: "max attempts not reached: replaced",
			svc:  service(1, restart(condAny, 0, 3, 0)),
			tasks: []*swarmv1.Task{
				task("a1", 1, "n1", stFailed, created(2*time.Hour), stopped),
				task("a2", 1, "n1", stRejected, created(time.Hour)),
			},
			want: outcome{shutdown: []string{"a2"}, create: []string{"slot 1"}},
		},
		{
			name: "max attempts: tasks shut down by the system are no attempts",
			svc:  service(1, restart(condAny, 0, 2, 0)),
			tasks: []*swarmv1.Task{
				task("a1", 1, "n1", stShutdown, created(3*time.Hour), stopped),
				task("a2", 1, "n1", stOrphaned, created(2*time.Hour), stopped),
				task("a3", 1, "n1", stFailed, created(time.Hour)),
			},
			want: outcome{shutdown: []string{"a3"}, create: []string{"slot 1"}},
		},
		{
			name: "max attempts are counted per slot",
			svc:  service(2, restart(condAny, 0, 2, 0)),
			tasks: []*swarmv1.Task{
				task("a1", 1, "n1", stFailed, created(2*time.Hour), stopped),
				task("a2", 1, "n1", stRunning, created(time.Hour)),
				task("b1", 2, "n2", stFailed, created(time.Minute)),
			},
			want: outcome{shutdown: []string{"b1"}, create: []string{"slot 2"}},
		},
		{
			name: "window: failures before it do not count",
			svc:  service(1, restart(condAny, 0, 2, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a1", 1, "n1", stFailed, created(time.Hour), since(10*time.Minute), stopped),
				task("a2", 1, "n1", stFailed, created(30*time.Minute), since(5*time.Minute), stopped),
				task("a3", 1, "n1", stFailed, created(5*time.Minute), since(10*time.Second)),
			},
			want: outcome{shutdown: []string{"a3"}, create: []string{"slot 1"}},
		},
		{
			name: "window: failures within it count",
			svc:  service(1, restart(condAny, 0, 2, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a1", 1, "n1", stFailed, created(time.Hour), since(30*time.Second), stopped),
				task("a2", 1, "n1", stFailed, created(20*time.Second), since(10*time.Second)),
			},
			want: outcome{shutdown: []string{"a2"}},
		},
		{
			name: "no window: the whole life counts",
			svc:  service(1, restart(condAny, 0, 2, 0)),
			tasks: []*swarmv1.Task{
				task("a1", 1, "n1", stFailed, created(48*time.Hour), stopped),
				task("a2", 1, "n1", stFailed, created(time.Minute)),
			},
			want: outcome{shutdown: []string{"a2"}},
		},
		{
			name: "max attempts count only tasks of the current spec",
			svc:  service(1, restart(condAny, 0, 2, 0), updatedTo(imgNew)),
			tasks: []*swarmv1.Task{
				task("a1", 1, "n1", stFailed, img(imgOld), created(2*time.Hour), stopped),
				task("a2", 1, "n1", stFailed, img(imgOld), created(time.Hour), stopped),
			},
			want: outcome{create: []string{"slot 1"}},
		},
		{
			name: "condition none: a failed task whose node is drained later stays dead",
			svc:  service(1, restart(condNone, 0, 0, 0)),
			nodes: []*swarmv1.Node{
				node("n1", nodeDrained), node("n2"),
			},
			tasks: []*swarmv1.Task{task("a", 1, "n1", stFailed, stopped)},
		},
		{
			name: "max attempts reached: a node going down does not restart the slot",
			svc:  service(1, restart(condAny, 0, 2, 0)),
			nodes: []*swarmv1.Node{
				node("n1", nodeDown), node("n2"),
			},
			tasks: []*swarmv1.Task{
				task("a1", 1, "n1", stFailed, created(2*time.Hour), stopped),
				task("a2", 1, "n1", stFailed, created(time.Hour)),
			},
			want: outcome{shutdown: []string{"a2"}},
		},
	})
}

func TestReconcileLostTasks(t *testing.T) {
	runCases(t, []reconcileCase{
		{
			name:  "node down: shut down, orphaned, replaced at once despite the restart delay",
			svc:   service(2, restart(condAny, time.Hour, 0, 0)),
			nodes: []*swarmv1.Node{node("n1"), node("n2", nodeDown)},
			tasks: []*swarmv1.Task{task("a", 1, "n1", stRunning), task("b", 2, "n2", stRunning, since(time.Second))},
			want:  outcome{shutdown: []string{"b"}, orphan: []string{"b"}, create: []string{"slot 2"}},
		},
		{
			name:  "node down: replaced even with condition none",
			svc:   service(1, restart(condNone, 0, 0, 0)),
			nodes: []*swarmv1.Node{node("n1", nodeDown), node("n2")},
			tasks: []*swarmv1.Task{task("a", 1, "n1", stAssigned)},
			want:  outcome{shutdown: []string{"a"}, orphan: []string{"a"}, create: []string{"slot 1"}},
		},
		{
			name:  "node drained: shut down and replaced at once, not orphaned",
			svc:   service(2, restart(condAny, time.Hour, 0, 0)),
			nodes: []*swarmv1.Node{node("n1"), node("n2", nodeDrained)},
			tasks: []*swarmv1.Task{task("a", 1, "n1", stRunning), task("b", 2, "n2", stRunning)},
			want:  outcome{shutdown: []string{"b"}, create: []string{"slot 2"}},
		},
		{
			name:  "node removed: shut down, orphaned and replaced at once",
			svc:   service(2, restart(condAny, time.Hour, 0, 0)),
			nodes: []*swarmv1.Node{node("n1")},
			tasks: []*swarmv1.Task{task("a", 1, "n1", stRunning), task("b", 2, "gone", stRunning)},
			want:  outcome{shutdown: []string{"b"}, orphan: []string{"b"}, create: []string{"slot 2"}},
		},
		{
			name:  "lost task already orphaned and shut down: slot refilled, nothing reported again",
			svc:   service(1, restart(condAny, time.Hour, 0, 0)),
			nodes: []*swarmv1.Node{node("n1", nodeDown), node("n2")},
			tasks: []*swarmv1.Task{task("a", 1, "n1", stOrphaned, stopped, since(time.Second))},
			want:  outcome{create: []string{"slot 1"}},
		},
		{
			name:  "stopping task on a down node does not hold its slot",
			svc:   service(1),
			nodes: []*swarmv1.Node{node("n1", nodeDown), node("n2")},
			tasks: []*swarmv1.Task{task("a", 1, "n1", stRunning, stopped)},
			want:  outcome{create: []string{"slot 1"}},
		},
		{
			name:  "lost task in a scaled-down slot is not replaced",
			svc:   service(1),
			nodes: []*swarmv1.Node{node("n1"), node("n2", nodeDown)},
			tasks: []*swarmv1.Task{task("a", 1, "n1", stRunning), task("b", 2, "n2", stRunning)},
			want:  outcome{shutdown: []string{"b"}, orphan: []string{"b"}},
		},
		{
			name:  "pending task without a node is never lost",
			svc:   service(1),
			nodes: []*swarmv1.Node{node("n1", nodeDown)},
			tasks: []*swarmv1.Task{task("a", 1, "", stPending)},
		},
	})
}

func TestReconcileHistory(t *testing.T) {
	// slot1 is a running task with n ended tasks before it, oldest first:
	// h1 created n hours before t0, hn one hour before; the running task
	// is the newest.
	slot1 := func(n int, last *swarmv1.Task) []*swarmv1.Task {
		var ts []*swarmv1.Task
		for i := 1; i <= n; i++ {
			ts = append(ts, task(fmt.Sprintf("h%d", i), 1, "n1", stFailed, created(time.Duration(n-i+2)*time.Hour), stopped))
		}
		return append(ts, last)
	}
	live1 := task("live", 1, "n1", stRunning, created(time.Minute))
	runCases(t, []reconcileCase{
		{
			name:  "5 tasks kept by default",
			svc:   service(1),
			tasks: slot1(4, live1),
		},
		{
			name:  "beyond 5 the oldest ended tasks go",
			svc:   service(1),
			tasks: slot1(6, live1),
			want:  outcome{delete: []string{"h1", "h2"}},
		},
		{
			name:    "the view's History overrides the default",
			svc:     service(1),
			tasks:   slot1(3, live1),
			history: 2,
			want:    outcome{delete: []string{"h1", "h2"}},
		},
		{
			name:    "an ended task still desired running is not deleted before it is shut down",
			svc:     service(1, restart(condAny, time.Hour, 0, 0)),
			tasks:   slot1(2, task("last", 1, "n1", stFailed, created(time.Minute), since(time.Second))),
			history: 1,
			want:    outcome{shutdown: []string{"last"}, delete: []string{"h1", "h2"}, wake: t0.Add(time.Hour - time.Second)},
		},
		{
			name: "the oldest ended task still desired running is skipped, a newer one goes",
			svc:  service(1),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stFailed, created(2*time.Hour)),
				task("b", 1, "n2", stFailed, created(time.Hour), stopped),
			},
			history: 1,
			want:    outcome{shutdown: []string{"a"}, delete: []string{"b"}, create: []string{"slot 1"}},
		},
		{
			name: "a stopping task is not deleted, a newer ended one is",
			svc:  service(1),
			tasks: []*swarmv1.Task{
				task("stopping", 1, "n1", stRunning, created(2*time.Hour), stopped),
				task("old", 1, "n1", stFailed, created(time.Hour), stopped),
				task("new", 1, "n2", stRunning, created(time.Minute)),
			},
			history: 2,
			want:    outcome{delete: []string{"old"}},
		},
		{
			name: "each slot is trimmed on its own",
			svc:  service(2),
			tasks: []*swarmv1.Task{
				task("a1", 1, "n1", stFailed, created(3*time.Hour), stopped),
				task("a2", 1, "n1", stRunning, created(time.Hour)),
				task("b1", 2, "n2", stComplete, created(3*time.Hour), stopped),
				task("b2", 2, "n2", stRunning, created(time.Hour)),
			},
			history: 2,
		},
	})
}

func TestReconcileGlobal(t *testing.T) {
	gtask := func(id, nodeID string, st swarmv1.TaskState, opts ...taskOpt) *swarmv1.Task {
		return task(id, 0, nodeID, st, opts...)
	}
	runCases(t, []reconcileCase{
		{
			name:  "one task per node, the drained one excluded",
			svc:   service(0, global),
			nodes: []*swarmv1.Node{node("n1"), node("n2"), node("n3", nodeDrained)},
			want:  outcome{create: []string{"node n1", "node n2"}},
		},
		{
			name:  "down node gets no task",
			svc:   service(0, global),
			nodes: []*swarmv1.Node{node("n1"), node("n2", nodeDown)},
			want:  outcome{create: []string{"node n1"}},
		},
		{
			name:  "empty runtime means process",
			svc:   service(0, global),
			nodes: []*swarmv1.Node{node("n1", runtimes("docker")), node("n2", runtimes("docker", "process"))},
			want:  outcome{create: []string{"node n2"}},
		},
		{
			name:  "named runtime only on nodes offering it",
			svc:   service(0, global, withRuntime("docker")),
			nodes: []*swarmv1.Node{node("n1", runtimes("docker")), node("n2"), node("n3", runtimes("sim", "docker"))},
			want:  outcome{create: []string{"node n1", "node n3"}},
		},
		{
			name:  "paused node keeps its task",
			svc:   service(0, global),
			nodes: []*swarmv1.Node{node("n1", paused)},
			tasks: []*swarmv1.Task{gtask("a", "n1", stRunning)},
		},
		{
			name:  "paused node gets no new task",
			svc:   service(0, global),
			nodes: []*swarmv1.Node{node("n1"), node("n2", paused)},
			want:  outcome{create: []string{"node n1"}},
		},
		{
			name:  "converged: nothing to do",
			svc:   service(0, global),
			tasks: []*swarmv1.Task{gtask("a", "n1", stRunning), gtask("b", "n2", stRunning), gtask("c", "n3", stAssigned)},
		},
		{
			name:  "node drained: its task is shut down, not replaced, not orphaned",
			svc:   service(0, global),
			nodes: []*swarmv1.Node{node("n1"), node("n2"), node("n3", nodeDrained)},
			tasks: []*swarmv1.Task{gtask("a", "n1", stRunning), gtask("b", "n2", stRunning), gtask("c", "n3", stRunning)},
			want:  outcome{shutdown: []string{"c"}},
		},
		{
			name:  "node down: its task is shut down and orphaned",
			svc:   service(0, global),
			nodes: []*swarmv1.Node{node("n1"), node("n2", nodeDown)},
			tasks: []*swarmv1.Task{gtask("a", "n1", stRunning), gtask("b", "n2", stRunning)},
			want:  outcome{shutdown: []string{"b"}, orphan: []string{"b"}},
		},
		{
			name:  "node gone: its task is shut down",
			svc:   service(0, global),
			nodes: []*swarmv1.Node{node("n1")},
			tasks: []*swarmv1.Task{gtask("a", "n1", stRunning), gtask("b", "gone", stRunning)},
			want:  outcome{shutdown: []string{"b"}, orphan: []string{"b"}},
		},
		{
			name:  "node no longer offers the runtime: its task is shut down",
			svc:   service(0, global, withRuntime("docker")),
			nodes: []*swarmv1.Node{node("n1", runtimes("docker")), node("n2", runtimes("process"))},
			tasks: []*swarmv1.Task{gtask("a", "n1", stRunning), gtask("b", "n2", stRunning)},
			want:  outcome{shutdown: []string{"b"}},
		},
		{
			name:  "failed task restarted on its node after the delay",
			svc:   service(0, global, restart(condAny, 10*time.Second, 0, 0)),
			nodes: []*swarmv1.Node{node("n1"), node("n2")},
			tasks: []*swarmv1.Task{gtask("a", "n1", stFailed, since(time.Minute)), gtask("b", "n2", stFailed, since(time.Second))},
			want:  outcome{shutdown: []string{"a", "b"}, create: []string{"node n1"}, wake: t0.Add(9 * time.Second)},
		},
		{
			name:  "condition none: failed task stays dead",
			svc:   service(0, global, restart(condNone, 0, 0, 0)),
			nodes: []*swarmv1.Node{node("n1")},
			tasks: []*swarmv1.Task{gtask("a", "n1", stFailed)},
			want:  outcome{shutdown: []string{"a"}},
		},
		{
			name:  "duplicates on a node: the newest wins",
			svc:   service(0, global),
			nodes: []*swarmv1.Node{node("n1")},
			tasks: []*swarmv1.Task{gtask("a", "n1", stRunning, created(time.Hour)), gtask("b", "n1", stRunning, created(time.Minute))},
			want:  outcome{shutdown: []string{"a"}},
		},
		{
			name:  "history per node",
			svc:   service(0, global),
			nodes: []*swarmv1.Node{node("n1"), node("n2")},
			tasks: []*swarmv1.Task{
				gtask("a1", "n1", stFailed, created(3*time.Hour), stopped),
				gtask("a2", "n1", stFailed, created(2*time.Hour), stopped),
				gtask("a3", "n1", stRunning, created(time.Hour)),
				gtask("b1", "n2", stFailed, created(3*time.Hour), stopped),
				gtask("b2", "n2", stRunning, created(time.Hour)),
			},
			history: 2,
			want:    outcome{delete: []string{"a1"}},
		},
		{
			name:  "stop-first update: parallelism 1 counts the node whose old task is stopping",
			svc:   service(0, global, update(&swarmv1.UpdateConfig{Parallelism: 1}), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: []*swarmv1.Task{gtask("a", "n1", stRunning, img(imgOld), stopped), gtask("b", "n2", stRunning, img(imgOld)), gtask("c", "n3", stRunning, img(imgOld))},
		},
		{
			name: "start-first update: the old task runs on until the new one runs",
			svc:  service(0, global, update(&swarmv1.UpdateConfig{Parallelism: 1, Order: startFirst}), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: []*swarmv1.Task{
				gtask("a", "n1", stRunning, img(imgOld)), gtask("a-new", "n1", stAssigned, created(time.Second)),
				gtask("b", "n2", stRunning, img(imgOld)), gtask("c", "n3", stRunning, img(imgOld)),
			},
		},
	})
}

func TestReconcileUpdate(t *testing.T) {
	old3 := func() []*swarmv1.Task {
		return []*swarmv1.Task{
			task("a", 1, "n1", stRunning, img(imgOld)),
			task("b", 2, "n2", stRunning, img(imgOld)),
			task("c", 3, "n3", stRunning, img(imgOld)),
		}
	}
	cfg := func(par uint64, order swarmv1.UpdateOrder, fa swarmv1.FailureAction, ratio float32, delay time.Duration) svcOpt {
		return update(&swarmv1.UpdateConfig{Parallelism: par, Order: order, FailureAction: fa, MaxFailureRatio: ratio, DelayNano: int64(delay)})
	}
	// failedFirst is slot 1 after its first new task failed: the old task
	// shut down, the new one failed (still desired running), slots 2 and 3
	// on the old spec.
	failedFirst := func() []*swarmv1.Task {
		return []*swarmv1.Task{
			task("a", 1, "n1", stShutdown, img(imgOld), stopped, since(50*time.Second)),
			task("a-new", 1, "n1", stFailed, created(40*time.Second), since(time.Second)),
			task("b", 2, "n2", stRunning, img(imgOld)),
			task("c", 3, "n3", stRunning, img(imgOld)),
		}
	}
	runCases(t, []reconcileCase{
		{
			name:  "outdated tasks start the update: stop-first shuts down one slot",
			svc:   service(3, cfg(1, stopFirst, faPause, 0, 0), updatedTo(imgNew)),
			tasks: old3(),
			want:  outcome{shutdown: []string{"a"}, update: usUpdating},
		},
		{
			name:  "scale down during an update: removed slots are shut down, not updated",
			svc:   service(2, cfg(1, stopFirst, faPause, 0, 0), updatedTo(imgNew)),
			tasks: old3(),
			want:  outcome{shutdown: []string{"a", "c"}, update: usUpdating},
		},
		{
			name:  "stop-first is the default order",
			svc:   service(3, cfg(2, swarmv1.UpdateOrder_UPDATE_ORDER_UNSPECIFIED, faPause, 0, 0), updatedTo(imgNew)),
			tasks: old3(),
			want:  outcome{shutdown: []string{"a", "b"}, update: usUpdating},
		},
		{
			name:  "parallelism 0 updates every slot at once",
			svc:   service(3, cfg(0, stopFirst, faPause, 0, 0), updatedTo(imgNew)),
			tasks: old3(),
			want:  outcome{shutdown: []string{"a", "b", "c"}, update: usUpdating},
		},
		{
			name:  "a completed update starts again on a new spec",
			svc:   service(3, cfg(1, stopFirst, faPause, 0, 0), updatedTo(imgNew), updateStatus(usCompleted, time.Hour)),
			tasks: old3(),
			want:  outcome{shutdown: []string{"a"}, update: usUpdating},
		},
		{
			name: "stop-first waits for the old task to stop",
			svc:  service(3, cfg(1, stopFirst, faPause, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stRunning, img(imgOld), stopped),
				task("b", 2, "n2", stRunning, img(imgOld)),
				task("c", 3, "n3", stRunning, img(imgOld)),
			},
		},
		{
			name: "stop-first starts the new task once the old one stopped",
			svc:  service(3, cfg(1, stopFirst, faPause, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stShutdown, img(imgOld), stopped),
				task("b", 2, "n2", stRunning, img(imgOld)),
				task("c", 3, "n3", stRunning, img(imgOld)),
			},
			want: outcome{create: []string{"slot 1"}},
		},
		{
			name: "a new task not yet running holds its slot in the batch",
			svc:  service(3, cfg(1, stopFirst, faPause, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stShutdown, img(imgOld), stopped),
				task("a-new", 1, "n1", stAssigned, created(time.Second)),
				task("b", 2, "n2", stRunning, img(imgOld)),
				task("c", 3, "n3", stRunning, img(imgOld)),
			},
		},
		{
			name: "next batch once the new task runs",
			svc:  service(3, cfg(1, stopFirst, faPause, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stShutdown, img(imgOld), stopped),
				task("a-new", 1, "n1", stRunning, created(10*time.Second), since(5*time.Second)),
				task("b", 2, "n2", stRunning, img(imgOld)),
				task("c", 3, "n3", stRunning, img(imgOld)),
			},
			want: outcome{shutdown: []string{"b"}},
		},
		{
			name: "update delay: wait after the newest new task started",
			svc:  service(3, cfg(1, stopFirst, faPause, 0, 10*time.Second), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stShutdown, img(imgOld), stopped),
				task("a-new", 1, "n1", stRunning, created(10*time.Second), since(2*time.Second)),
				task("b", 2, "n2", stRunning, img(imgOld)),
				task("c", 3, "n3", stRunning, img(imgOld)),
			},
			want: outcome{wake: t0.Add(8 * time.Second)},
		},
		{
			name: "update delay over: next batch",
			svc:  service(3, cfg(1, stopFirst, faPause, 0, 10*time.Second), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stShutdown, img(imgOld), stopped),
				task("a-new", 1, "n1", stRunning, created(30*time.Second), since(10*time.Second)),
				task("b", 2, "n2", stRunning, img(imgOld)),
				task("c", 3, "n3", stRunning, img(imgOld)),
			},
			want: outcome{shutdown: []string{"b"}},
		},
		{
			name: "the update is not complete while the last slot is between tasks",
			svc:  service(3, cfg(1, stopFirst, faPause, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stRunning, created(40*time.Second)),
				task("b", 2, "n2", stRunning, created(20*time.Second)),
				task("c", 3, "n3", stRunning, img(imgOld), stopped),
			},
		},
		{
			name: "no outdated task left: update completed",
			svc:  service(3, cfg(1, stopFirst, faPause, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stRunning, created(40*time.Second)),
				task("b", 2, "n2", stRunning, created(20*time.Second)),
				task("c", 3, "n3", stRunning, created(10*time.Second)),
			},
			want: outcome{update: usCompleted},
		},
		{
			name:  "start-first creates the new task first",
			svc:   service(3, cfg(1, startFirst, faPause, 0, 0), updatedTo(imgNew)),
			tasks: old3(),
			want:  outcome{create: []string{"slot 1"}, update: usUpdating},
		},
		{
			name: "start-first keeps the old task until the new one runs",
			svc:  service(3, cfg(1, startFirst, faPause, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: append(old3(),
				task("a-new", 1, "n2", stAssigned, created(time.Second))),
		},
		{
			name: "start-first shuts the old task down once the new one runs, next slot starts",
			svc:  service(3, cfg(1, startFirst, faPause, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: append(old3(),
				task("a-new", 1, "n2", stRunning, created(10*time.Second), since(time.Second))),
			want: outcome{shutdown: []string{"a"}, create: []string{"slot 2"}},
		},
		{
			name: "start-first: a failed new task waits out the restart delay",
			svc:  service(1, restart(condAny, 10*time.Second, 0, 0), cfg(1, startFirst, faContinue, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stRunning, img(imgOld)),
				task("a-new", 1, "n2", stFailed, created(30*time.Second), since(time.Second)),
			},
			want: outcome{shutdown: []string{"a-new"}, wake: t0.Add(9 * time.Second)},
		},
		{
			name:  "failure with action pause: paused, no other slot touched",
			svc:   service(3, cfg(1, stopFirst, faPause, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: failedFirst(),
			want:  outcome{shutdown: []string{"a-new"}, create: []string{"slot 1"}, update: usPaused},
		},
		{
			name:  "no failure action given: pause",
			svc:   service(3, cfg(1, stopFirst, swarmv1.FailureAction_FAILURE_ACTION_UNSPECIFIED, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: failedFirst(),
			want:  outcome{shutdown: []string{"a-new"}, create: []string{"slot 1"}, update: usPaused},
		},
		{
			name: "paused update touches no slot",
			svc:  service(3, cfg(1, stopFirst, faPause, 0, 0), updatedTo(imgNew), updateStatus(usPaused, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stShutdown, img(imgOld), stopped),
				task("a-new", 1, "n1", stRunning, created(40*time.Second)),
				task("b", 2, "n2", stRunning, img(imgOld)),
				task("c", 3, "n3", stRunning, img(imgOld)),
			},
		},
		{
			name:  "failure with action rollback: roll back, no other slot touched",
			svc:   service(3, cfg(1, stopFirst, faRollback, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: failedFirst(),
			want:  outcome{shutdown: []string{"a-new"}, create: []string{"slot 1"}, rollback: true, update: usRollback},
		},
		{
			name:  "failure with action rollback but no previous spec: pause",
			svc:   service(3, cfg(1, stopFirst, faRollback, 0, 0), updatedTo(imgNew), withoutPrevious, updateStatus(usUpdating, time.Minute)),
			tasks: failedFirst(),
			want:  outcome{shutdown: []string{"a-new"}, create: []string{"slot 1"}, update: usPaused},
		},
		{
			name:  "failure with action continue: next slot",
			svc:   service(3, cfg(1, stopFirst, faContinue, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: failedFirst(),
			want:  outcome{shutdown: []string{"a-new"}, create: []string{"slot 1"}},
		},
		{
			name:  "failures within max_failure_ratio: go on",
			svc:   service(3, cfg(2, stopFirst, faPause, 0.5, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: failedFirst(),
			want:  outcome{shutdown: []string{"a-new", "b"}, create: []string{"slot 1"}},
		},
		{
			name: "failure ratio is over every slot of the update, not over those left",
			svc:  service(4, cfg(1, stopFirst, faPause, 0.3, 0), updatedTo(imgNew), updateStatus(usUpdating, 10*time.Minute)),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stShutdown, img(imgOld), stopped),
				task("a-new1", 1, "n1", stFailed, created(9*time.Minute), stopped),
				task("a-new2", 1, "n1", stRunning, created(8*time.Minute)),
				task("b", 2, "n2", stShutdown, img(imgOld), stopped),
				task("b-new", 2, "n2", stRunning, created(6*time.Minute)),
				task("c", 3, "n3", stShutdown, img(imgOld), stopped),
				task("c-new", 3, "n3", stRunning, created(4*time.Minute)),
				task("d", 4, "n1", stRunning, img(imgOld)),
			},
			want: outcome{shutdown: []string{"d"}},
		},
		{
			name: "failures of the old spec do not count",
			svc:  service(3, cfg(1, stopFirst, faPause, 0, 0), updatedTo(imgNew), updateStatus(usUpdating, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a0", 1, "n1", stFailed, img(imgOld), created(30*time.Second), stopped),
				task("a", 1, "n1", stRunning, img(imgOld), created(20*time.Second)),
				task("b", 2, "n2", stRunning, img(imgOld)),
				task("c", 3, "n3", stRunning, img(imgOld)),
			},
			want: outcome{shutdown: []string{"a"}},
		},
		{
			name: "rollback uses the rollback config",
			svc: service(3, cfg(1, stopFirst, faPause, 0, 0), rollbackConfig(&swarmv1.UpdateConfig{Parallelism: 0}),
				updatedTo(imgNew), updateStatus(usRollback, time.Second)),
			tasks: old3(),
			want:  outcome{shutdown: []string{"a", "b", "c"}},
		},
		{
			name: "rollback failure with action rollback: rollback paused",
			svc: service(3, rollbackConfig(&swarmv1.UpdateConfig{Parallelism: 1, FailureAction: faRollback}),
				updatedTo(imgNew), updateStatus(usRollback, time.Minute)),
			tasks: failedFirst(),
			want:  outcome{shutdown: []string{"a-new"}, create: []string{"slot 1"}, update: usRollbackPaused},
		},
		{
			name: "no outdated task left during rollback: rollback completed",
			svc:  service(2, updatedTo(imgNew), updateStatus(usRollback, time.Minute)),
			tasks: []*swarmv1.Task{
				task("a", 1, "n1", stRunning, created(40*time.Second)),
				task("b", 2, "n2", stRunning, created(20*time.Second)),
			},
			want: outcome{update: usRollbackDone},
		},
	})
}

// ---- simulator ----

// transition changes the world between two reconciles, as nodes, the
// failure detector or the user would.
type transition func(t *testing.T, v *View)

func cloneView(v View) View {
	c := v
	c.Service = proto.Clone(v.Service).(*swarmv1.Service)
	c.Tasks = make([]*swarmv1.Task, len(v.Tasks))
	for i, tk := range v.Tasks {
		c.Tasks[i] = proto.Clone(tk).(*swarmv1.Task)
	}
	c.Nodes = make(map[string]*swarmv1.Node, len(v.Nodes))
	for id, n := range v.Nodes {
		c.Nodes[id] = proto.Clone(n).(*swarmv1.Node)
	}
	return c
}

func sameView(a, b View) bool {
	if !proto.Equal(a.Service, b.Service) || len(a.Tasks) != len(b.Tasks) || len(a.Nodes) != len(b.Nodes) || !a.Now.Equal(b.Now) {
		return false
	}
	for i := range a.Tasks {
		if !proto.Equal(a.Tasks[i], b.Tasks[i]) {
			return false
		}
	}
	for id, n := range a.Nodes {
		if !proto.Equal(n, b.Nodes[id]) {
			return false
		}
	}
	return true
}

// apply returns v after plan p, applied as the supervisor proposes it and
// the store applies it (a rollback goes alone; creations are stamped;
// desired and reported states only move forward; a report for an ended
// task is dropped), and then after trs. v itself is left alone.
func apply(t *testing.T, v View, p Plan, trs ...transition) View {
	t.Helper()
	v = cloneView(v)
	now := v.Now.UnixNano()
	if p.Rollback || p.UpdateStatus != nil {
		if p.Rollback {
			if v.Service.PreviousSpec == nil {
				t.Fatalf("rollback without a previous spec")
			}
			v.Service.Spec, v.Service.PreviousSpec = v.Service.PreviousSpec, v.Service.Spec
			v.Service.SpecVersion++
		}
		if p.UpdateStatus != nil {
			v.Service.UpdateStatus = proto.Clone(p.UpdateStatus).(*swarmv1.UpdateStatus)
		}
		if p.Rollback {
			return applyTransitions(t, v, trs)
		}
	}
	byID := make(map[string]*swarmv1.Task, len(v.Tasks))
	for _, tk := range v.Tasks {
		byID[tk.Id] = tk
	}
	for _, c := range p.Create {
		if byID[c.Id] != nil {
			t.Fatalf("plan creates task %s twice", c.Id)
		}
		c = proto.Clone(c).(*swarmv1.Task)
		c.CreatedUnixNano, c.UpdatedUnixNano = now, now
		v.Tasks = append(v.Tasks, c)
		byID[c.Id] = c
	}
	for _, d := range p.Desire {
		if tk := byID[d.TaskId]; tk != nil && d.DesiredState > tk.DesiredState {
			tk.DesiredState = d.DesiredState
		}
	}
	for _, u := range p.Orphan {
		report(byID[u.TaskId], u.Status)
	}
	gone := make(map[string]bool, len(p.Delete))
	for _, id := range p.Delete {
		gone[id] = true
	}
	kept := v.Tasks[:0]
	for _, tk := range v.Tasks {
		if !gone[tk.Id] {
			kept = append(kept, tk)
		}
	}
	v.Tasks = kept
	return applyTransitions(t, v, trs)
}

func applyTransitions(t *testing.T, v View, trs []transition) View {
	for _, tr := range trs {
		tr(t, &v)
	}
	return v
}

// report moves task tk to status st as the store does: never backwards,
// never out of an end state.
func report(tk *swarmv1.Task, st *swarmv1.TaskStatus) {
	if tk == nil || terminal(tk.Status.GetState()) || st.State < tk.Status.GetState() {
		return
	}
	tk.Status = proto.Clone(st).(*swarmv1.TaskStatus)
}

func findTask(v *View, id string) *swarmv1.Task {
	for _, tk := range v.Tasks {
		if tk.Id == id {
			return tk
		}
	}
	return nil
}

// reach is a node reporting that task id reached st.
func reach(id string, st swarmv1.TaskState) transition {
	return func(t *testing.T, v *View) {
		tk := findTask(v, id)
		if tk == nil {
			t.Fatalf("no task %s", id)
		}
		report(tk, &swarmv1.TaskStatus{State: st, TimestampUnixNano: v.Now.UnixNano()})
	}
}

func setNode(id string, st swarmv1.NodeState, av swarmv1.NodeAvailability) transition {
	return func(t *testing.T, v *View) {
		n := v.Nodes[id]
		if n == nil {
			t.Fatalf("no node %s", id)
		}
		n.Status.State, n.Spec.Availability = st, av
	}
}

func scaleTo(n uint64) transition {
	return func(_ *testing.T, v *View) { v.Service.Spec.Replicas = n }
}

// deploy is `service update --image`: the store keeps the spec so far as
// the previous spec and leaves the update status alone.
func deploy(image string) transition {
	return func(_ *testing.T, v *View) {
		v.Service.PreviousSpec = proto.Clone(v.Service.Spec).(*swarmv1.ServiceSpec)
		v.Service.Spec.Task.Image = image
		v.Service.SpecVersion++
	}
}

// agents moves every task one step as its node would: a task told to shut
// down stops; a pending task is placed on the usable node with the fewest
// live tasks; an assigned task starts, then runs (with imgBad it fails
// instead). Nothing moves on a node that is down or gone.
func agents(_ *testing.T, v *View) {
	now := v.Now.UnixNano()
	load := make(map[string]int)
	for _, tk := range v.Tasks {
		if live(tk) && tk.NodeId != "" {
			load[tk.NodeId]++
		}
	}
	for _, tk := range v.Tasks {
		st := tk.Status.GetState()
		if terminal(st) {
			continue
		}
		if tk.NodeId != "" && v.Nodes[tk.NodeId].GetStatus().GetState() != nodeReady {
			continue
		}
		switch {
		case tk.DesiredState > stRunning:
			tk.Status = &swarmv1.TaskStatus{State: stShutdown, TimestampUnixNano: now}
		case tk.NodeId == "" && st <= stPending:
			if n := leastLoaded(v, load); n != "" {
				tk.NodeId = n
				load[n]++
				tk.Status = &swarmv1.TaskStatus{State: stAssigned, TimestampUnixNano: now}
			}
		case st < stRunning && tk.Spec.GetImage() == imgBad:
			tk.Status = &swarmv1.TaskStatus{State: stFailed, TimestampUnixNano: now, Err: "bad image"}
		case st < stStarting:
			tk.Status = &swarmv1.TaskStatus{State: stStarting, TimestampUnixNano: now}
		case st < stRunning:
			tk.Status = &swarmv1.TaskStatus{State: stRunning, TimestampUnixNano: now}
		}
	}
}

func leastLoaded(v *View, load map[string]int) string {
	best := ""
	for id, n := range v.Nodes {
		if !nodeUsable(v.Nodes, id) || n.GetSpec().GetAvailability() != avActive {
			continue
		}
		if best == "" || load[id] < load[best] || (load[id] == load[best] && id < best) {
			best = id
		}
	}
	return best
}

func live(tk *swarmv1.Task) bool { return runnable(tk) && !terminal(tk.Status.GetState()) }

// serving reports whether tk does its job: running and meant to.
func serving(tk *swarmv1.Task) bool {
	return tk.DesiredState == stRunning && tk.Status.GetState() == stRunning
}

// slotKeys are the slots a service should fill: "1".."replicas", or the
// nodes a global task should run on.
func slotKeys(v View) []string {
	var keys []string
	if v.Service.Spec.Mode == swarmv1.ServiceMode_SERVICE_MODE_GLOBAL {
		for id, n := range v.Nodes {
			if globalEligible(v.Service, n) {
				keys = append(keys, id)
			}
		}
		sort.Strings(keys)
		return keys
	}
	for s := uint64(1); s <= v.Service.Spec.Replicas; s++ {
		keys = append(keys, itoa(s))
	}
	return keys
}

func isGlobal(v View) bool { return v.Service.Spec.Mode == swarmv1.ServiceMode_SERVICE_MODE_GLOBAL }

// between counts the slots without a task serving them.
func between(v View) int {
	serve := make(map[string]bool)
	for _, tk := range v.Tasks {
		if serving(tk) {
			serve[slotKey(tk, isGlobal(v))] = true
		}
	}
	n := 0
	for _, k := range slotKeys(v) {
		if !serve[k] {
			n++
		}
	}
	return n
}

func countServing(v View) int {
	n := 0
	for _, tk := range v.Tasks {
		if serving(tk) {
			n++
		}
	}
	return n
}

func tasksEqual(a, b View) bool {
	if len(a.Tasks) != len(b.Tasks) {
		return false
	}
	for i := range a.Tasks {
		if !proto.Equal(a.Tasks[i], b.Tasks[i]) {
			return false
		}
	}
	return proto.Equal(a.Service, b.Service)
}

// driver runs reconcile rounds: reconcile, apply the plan, let the agents
// move, advance the clock by step (or to the plan's wake when nothing
// happened). check sees each view with the plan made from it; invariant
// sees each view and also each view right after a plan was applied,
// before the agents moved.
type driver struct {
	t         *testing.T
	step      time.Duration
	check     func(v View, p Plan)
	invariant func(v View)
	// creates counts the tasks created, by slot key.
	creates map[string]int
}

func (d *driver) round(v View) (View, bool) {
	d.t.Helper()
	// The table tests check that Reconcile leaves its view alone; here
	// that check would cost more than the rest of the round.
	p := Reconcile(v)
	checkPlan(d.t, v, p)
	if d.check != nil {
		d.check(v, p)
	}
	if d.invariant != nil {
		d.invariant(v)
		d.invariant(apply(d.t, v, p))
	}
	for _, c := range p.Create {
		if d.creates == nil {
			d.creates = make(map[string]int)
		}
		d.creates[slotKey(c, isGlobal(v))]++
	}
	next := apply(d.t, v, p, agents)
	idle := p.Empty() && tasksEqual(v, next)
	switch {
	case !idle:
		next.Now = v.Now.Add(d.step)
	case !p.Wake.IsZero():
		next.Now = p.Wake
		idle = false
	}
	return next, idle
}

// settle runs rounds until nothing changes and nothing is due.
func (d *driver) settle(v View, maxRounds int) View {
	d.t.Helper()
	for i := 0; i < maxRounds; i++ {
		next, idle := d.round(v)
		if idle {
			return v
		}
		v = next
	}
	d.t.Fatalf("not settled after %d rounds:\n%s", maxRounds, dump(v))
	return v
}

func (d *driver) rounds(v View, n int) View {
	d.t.Helper()
	for i := 0; i < n; i++ {
		v, _ = d.round(v)
	}
	return v
}

func dump(v View) string {
	var b strings.Builder
	fmt.Fprintf(&b, "now=t0%+v replicas=%d image=%s update=%v\n", v.Now.Sub(t0), v.Service.Spec.Replicas, v.Service.Spec.Task.Image, v.Service.GetUpdateStatus().GetState())
	ts := append([]*swarmv1.Task(nil), v.Tasks...)
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].Slot != ts[j].Slot {
			return ts[i].Slot < ts[j].Slot
		}
		return ts[i].CreatedUnixNano < ts[j].CreatedUnixNano
	})
	for _, tk := range ts {
		fmt.Fprintf(&b, "  %-8s slot=%d node=%-3s %-8s desired=%-8s %s\n", tk.Id, tk.Slot, tk.NodeId,
			strings.TrimPrefix(tk.Status.GetState().String(), "TASK_STATE_"), strings.TrimPrefix(tk.DesiredState.String(), "TASK_STATE_"), tk.Spec.GetImage())
	}
	ids := make([]string, 0, len(v.Nodes))
	for id := range v.Nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		n := v.Nodes[id]
		fmt.Fprintf(&b, "  node %s %v %v\n", id, n.Status.State, n.Spec.Availability)
	}
	return b.String()
}

// running starts a service whose tasks all run the current spec, one per
// slot (or eligible node), as a settled cluster would have it.
func running(t *testing.T, svc *swarmv1.Service, nodes []*swarmv1.Node) View {
	t.Helper()
	d := &driver{t: t, step: time.Second}
	v := view(svc, nodes)
	v.NewID = counter("t")
	return d.settle(v, 100)
}

// converged checks that every slot has exactly one live task, serving
// the current spec on a usable node, and nothing else is live.
func converged(t *testing.T, v View) {
	t.Helper()
	want := make(map[string]bool)
	for _, k := range slotKeys(v) {
		want[k] = true
	}
	seen := make(map[string]int)
	for _, tk := range v.Tasks {
		if !live(tk) {
			continue
		}
		k := slotKey(tk, isGlobal(v))
		seen[k]++
		switch {
		case !want[k]:
			t.Errorf("task %s live in slot %s, which should be empty", tk.Id, k)
		case !v.current(tk):
			t.Errorf("task %s in slot %s runs %s, not the current spec", tk.Id, k, tk.Spec.GetImage())
		case !serving(tk):
			t.Errorf("task %s in slot %s is %v, not running", tk.Id, k, tk.Status.GetState())
		case !nodeUsable(v.Nodes, tk.NodeId):
			t.Errorf("task %s in slot %s on node %q that is down, drained or gone", tk.Id, k, tk.NodeId)
		}
	}
	for k := range want {
		if seen[k] != 1 {
			t.Errorf("slot %s has %d live tasks, want 1", k, seen[k])
		}
	}
	if t.Failed() {
		t.Logf("view:\n%s", dump(v))
	}
}

// ---- rolling updates through the simulator ----

func TestRollingUpdateStopFirst(t *testing.T) {
	for _, tc := range []struct {
		replicas, par uint64
		delay         time.Duration
	}{
		{replicas: 3, par: 1},
		{replicas: 3, par: 1, delay: 10 * time.Second},
		{replicas: 5, par: 2},
		{replicas: 4, par: 0},
	} {
		t.Run(fmt.Sprintf("replicas=%d/par=%d/delay=%v", tc.replicas, tc.par, tc.delay), func(t *testing.T) {
			v := running(t, service(tc.replicas, update(&swarmv1.UpdateConfig{Parallelism: tc.par, DelayNano: int64(tc.delay)})), nil)
			v = apply(t, v, Plan{}, deploy(imgNew))
			limit := int(tc.par)
			if limit == 0 {
				limit = int(tc.replicas)
			}
			var states []swarmv1.UpdateState
			d := &driver{t: t, step: time.Second, invariant: func(v View) {
				if n := between(v); n > limit {
					t.Errorf("t0%+v: %d slots between tasks, parallelism %d\n%s", v.Now.Sub(t0), n, limit, dump(v))
				}
			}}
			d.check = func(v View, p Plan) {
				if p.UpdateStatus != nil {
					states = append(states, p.UpdateStatus.State)
				}
				if tc.delay == 0 {
					return
				}
				// A batch starts delay after the newest new task started.
				last := lastStarted(&v)
				for _, ds := range p.Desire {
					if tk := findTask(&v, ds.TaskId); tk != nil && !v.current(tk) && !last.IsZero() && v.Now.Before(last.Add(tc.delay)) {
						t.Errorf("t0%+v: task %s shut down %v after the last new task started, delay %v", v.Now.Sub(t0), tk.Id, v.Now.Sub(last), tc.delay)
					}
				}
			}
			v = d.settle(v, 200)
			converged(t, v)
			if want := []swarmv1.UpdateState{usUpdating, usCompleted}; !reflect.DeepEqual(states, want) {
				t.Errorf("update states %v, want %v", states, want)
			}
		})
	}
}

func TestRollingUpdateStartFirst(t *testing.T) {
	for _, par := range []uint64{1, 2, 0} {
		t.Run(fmt.Sprintf("par=%d", par), func(t *testing.T) {
			const replicas = 3
			v := running(t, service(replicas, update(&swarmv1.UpdateConfig{Parallelism: par, Order: startFirst})), nil)
			v = apply(t, v, Plan{}, deploy(imgNew))
			extra := int(par)
			if extra == 0 {
				extra = replicas
			}
			d := &driver{t: t, step: time.Second, invariant: func(v View) {
				if n := countServing(v); n < replicas {
					t.Errorf("t0%+v: %d tasks serving, want at least %d\n%s", v.Now.Sub(t0), n, replicas, dump(v))
				}
				n := 0
				for _, tk := range v.Tasks {
					if live(tk) {
						n++
					}
				}
				if n > replicas+extra {
					t.Errorf("t0%+v: %d live tasks, want at most %d", v.Now.Sub(t0), n, replicas+extra)
				}
			}}
			v = d.settle(v, 200)
			converged(t, v)
			if st := v.Service.GetUpdateStatus().GetState(); st != usCompleted {
				t.Errorf("update state %v, want COMPLETED", st)
			}
		})
	}
}

// TestRollingUpdateCompletesWhenEverySlotServes checks that an update is
// marked completed only once every slot serves the new spec: the last
// batch's tasks may still fail and trigger the failure action.
func TestRollingUpdateCompletesWhenEverySlotServes(t *testing.T) {
	for _, par := range []uint64{1, 0} {
		t.Run(fmt.Sprintf("par=%d", par), func(t *testing.T) {
			v := running(t, service(3, update(&swarmv1.UpdateConfig{Parallelism: par})), nil)
			v = apply(t, v, Plan{}, deploy(imgNew))
			d := &driver{t: t, step: time.Second, check: func(v View, p Plan) {
				if p.UpdateStatus.GetState() != usCompleted {
					return
				}
				for _, tk := range v.Tasks {
					if live(tk) && !v.current(tk) {
						t.Errorf("completed while task %s runs the old spec", tk.Id)
					}
				}
				if n := between(v); n > 0 {
					t.Errorf("t0%+v: update completed with %d slots not serving\n%s", v.Now.Sub(t0), n, dump(v))
				}
			}}
			converged(t, d.settle(v, 200))
		})
	}
}

func TestRollingUpdatePausesOnFailure(t *testing.T) {
	svc := service(3, restart(condAny, 5*time.Second, 0, 0), update(&swarmv1.UpdateConfig{Parallelism: 1, FailureAction: faPause}))
	v := running(t, svc, nil)
	oldIDs := make(map[string]bool)
	for _, tk := range v.Tasks {
		oldIDs[tk.Id] = true
	}
	v = apply(t, v, Plan{}, deploy(imgBad))
	pausedAt := time.Time{}
	d := &driver{t: t, step: time.Second, check: func(v View, p Plan) {
		if p.UpdateStatus.GetState() == usPaused && pausedAt.IsZero() {
			pausedAt = v.Now
		}
		if v.Service.GetUpdateStatus().GetState() != usPaused {
			return
		}
		if p.UpdateStatus != nil {
			t.Errorf("t0%+v: paused update moved to %v", v.Now.Sub(t0), p.UpdateStatus.State)
		}
		for _, ds := range p.Desire {
			if oldIDs[ds.TaskId] {
				t.Errorf("t0%+v: paused update shuts down old task %s", v.Now.Sub(t0), ds.TaskId)
			}
		}
	}}
	v = d.rounds(v, 60)
	if pausedAt.IsZero() {
		t.Fatalf("update never paused:\n%s", dump(v))
	}
	if n := between(v); n != 1 {
		t.Errorf("%d slots without a serving task, want only the first one\n%s", n, dump(v))
	}
}

func TestRollingUpdateRollsBackOnFailure(t *testing.T) {
	svc := service(3, restart(condAny, 5*time.Second, 0, 0),
		update(&swarmv1.UpdateConfig{Parallelism: 1, FailureAction: faRollback}),
		rollbackConfig(&swarmv1.UpdateConfig{Parallelism: 1}))
	v := running(t, svc, nil)
	v = apply(t, v, Plan{}, deploy(imgBad))
	rollbacks := 0
	d := &driver{t: t, step: time.Second, check: func(v View, p Plan) {
		if p.Rollback {
			rollbacks++
			if p.UpdateStatus.GetState() != usRollback {
				t.Errorf("rollback with update state %v, want ROLLBACK_STARTED", p.UpdateStatus.GetState())
			}
		}
	}}
	d.invariant = func(v View) {
		if n := between(v); n > 1 {
			t.Errorf("t0%+v: %d slots between tasks, parallelism 1\n%s", v.Now.Sub(t0), n, dump(v))
		}
	}
	v = d.settle(v, 200)
	if rollbacks != 1 {
		t.Errorf("%d rollbacks, want 1", rollbacks)
	}
	if img := v.Service.Spec.Task.Image; img != imgOld {
		t.Errorf("service runs %s after the rollback, want %s", img, imgOld)
	}
	if st := v.Service.GetUpdateStatus().GetState(); st != usRollbackDone {
		t.Errorf("update state %v, want ROLLBACK_COMPLETED", st)
	}
	converged(t, v)
}

func TestRollingUpdateGlobal(t *testing.T) {
	for _, order := range []swarmv1.UpdateOrder{stopFirst, startFirst} {
		t.Run(order.String(), func(t *testing.T) {
			v := running(t, service(0, global, update(&swarmv1.UpdateConfig{Parallelism: 1, Order: order})), threeNodes())
			v = apply(t, v, Plan{}, deploy(imgNew))
			d := &driver{t: t, step: time.Second, invariant: func(v View) {
				n := between(v)
				if order == stopFirst && n > 1 {
					t.Errorf("t0%+v: %d nodes between tasks, parallelism 1\n%s", v.Now.Sub(t0), n, dump(v))
				}
				if order == startFirst && n > 0 {
					t.Errorf("t0%+v: start-first left %d nodes without a serving task\n%s", v.Now.Sub(t0), n, dump(v))
				}
			}}
			v = d.settle(v, 200)
			converged(t, v)
		})
	}
}

// TestRestartMaxAttemptsOutlivesHistory checks that a slot whose tasks keep
// failing stops being restarted after max_attempts, also when that is more
// than the history a slot keeps.
func TestRestartMaxAttemptsOutlivesHistory(t *testing.T) {
	for _, maxAttempts := range []uint64{3, 5, 7} {
		t.Run(fmt.Sprintf("max=%d", maxAttempts), func(t *testing.T) {
			svc := service(1, restart(condAny, 0, maxAttempts, 0))
			svc.Spec.Task.Image = imgBad
			v := view(svc, nil)
			d := &driver{t: t, step: time.Second}
			v = d.rounds(v, 120)
			// Whether max_attempts counts runs or restarts, at most
			// max_attempts+1 tasks run.
			if n := d.creates["1"]; n < int(maxAttempts) || n > int(maxAttempts)+1 {
				t.Errorf("slot 1 got %d tasks, want %d (or %d)", n, maxAttempts, maxAttempts+1)
			}
		})
	}
}

// ---- property test ----

// TestReconcileConverges plays a seeded random sequence of events (nodes
// going down and up, drained and activated, tasks failing and completing,
// scaling, new specs) through the simulator, lets it settle, and checks
// that the service converged: one live task per slot, on the current
// spec, running, on a usable node, and history trimmed. A quarter of the
// seeds run a global service.
func TestReconcileConverges(t *testing.T) {
	seeds := []int64{*reconcileSeed}
	if *reconcileSeed == 0 {
		seeds = seeds[:0]
		for s := int64(1); s <= int64(*reconcileSeeds); s++ {
			seeds = append(seeds, s)
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Logf("seed %d (rerun with -reconcile.seed=%d)", seed, seed)
			rng := rand.New(rand.NewSource(seed))
			orders := []swarmv1.UpdateOrder{stopFirst, startFirst}
			svc := service(uint64(1+rng.Intn(5)),
				restart(condAny, time.Duration(rng.Intn(4))*time.Second, 0, 0),
				update(&swarmv1.UpdateConfig{Parallelism: uint64(rng.Intn(3)), Order: orders[rng.Intn(2)], FailureAction: faContinue, DelayNano: int64(time.Duration(rng.Intn(3)) * time.Second)}))
			if rng.Intn(4) == 0 {
				global(svc)
			}
			nodes := []*swarmv1.Node{node("n1"), node("n2"), node("n3"), node("n4"), node("n5")}
			v := running(t, svc, nodes)
			d := &driver{t: t, step: time.Second}
			var events []string
			for i := 0; i < 60; i++ {
				ev, tr := randomEvent(rng, v)
				if tr != nil {
					events = append(events, ev)
					v = apply(t, v, Plan{}, tr)
				}
				v, _ = d.round(v)
				v.Now = v.Now.Add(time.Duration(rng.Intn(3)) * time.Second)
			}
			v = d.settle(v, 500)
			converged(t, v)
			for key, ts := range bySlot(v.Tasks, isGlobal(v)) {
				deletable := 0
				for _, tk := range ts {
					if terminal(tk.Status.GetState()) && !runnable(tk) {
						deletable++
					}
				}
				if len(ts) > DefaultHistory && deletable > 0 {
					t.Errorf("slot %s keeps %d tasks, %d of them deletable", key, len(ts), deletable)
				}
			}
			if t.Failed() {
				t.Logf("events: %s", strings.Join(events, ", "))
			}
		})
	}
}

// randomEvent picks something that happens to the cluster; it keeps at
// least one node usable so that the service can converge.
func randomEvent(rng *rand.Rand, v View) (string, transition) {
	ids := make([]string, 0, len(v.Nodes))
	usable := 0
	for id := range v.Nodes {
		ids = append(ids, id)
		if nodeUsable(v.Nodes, id) {
			usable++
		}
	}
	sort.Strings(ids)
	pick := func(ok func(*swarmv1.Node) bool) string {
		var c []string
		for _, id := range ids {
			if ok(v.Nodes[id]) {
				c = append(c, id)
			}
		}
		if len(c) == 0 {
			return ""
		}
		return c[rng.Intn(len(c))]
	}
	runningTask := func() string {
		var c []string
		for _, tk := range v.Tasks {
			if serving(tk) {
				c = append(c, tk.Id)
			}
		}
		sort.Strings(c)
		if len(c) == 0 {
			return ""
		}
		return c[rng.Intn(len(c))]
	}
	isUsable := func(n *swarmv1.Node) bool { return nodeUsable(v.Nodes, n.Id) }
	switch rng.Intn(9) {
	case 0:
		if id := pick(isUsable); id != "" && usable > 1 {
			return "down " + id, setNode(id, nodeDownS, v.Nodes[id].Spec.Availability)
		}
	case 1:
		if id := pick(func(n *swarmv1.Node) bool { return n.Status.State == nodeDownS }); id != "" {
			return "up " + id, setNode(id, nodeReady, v.Nodes[id].Spec.Availability)
		}
	case 2:
		if id := pick(isUsable); id != "" && usable > 1 {
			return "drain " + id, setNode(id, v.Nodes[id].Status.State, avDrain)
		}
	case 3:
		if id := pick(func(n *swarmv1.Node) bool { return n.Spec.Availability == avDrain }); id != "" {
			return "activate " + id, setNode(id, v.Nodes[id].Status.State, avActive)
		}
	case 4, 5:
		if id := runningTask(); id != "" {
			return "fail " + id, reach(id, stFailed)
		}
	case 6:
		if id := runningTask(); id != "" {
			return "complete " + id, reach(id, stComplete)
		}
	case 7:
		n := uint64(rng.Intn(6))
		return fmt.Sprintf("scale %d", n), scaleTo(n)
	case 8:
		im := fmt.Sprintf("web:%d", 10+rng.Intn(90))
		return "deploy " + im, deploy(im)
	}
	return "", nil
}

// TestReconcileUpdateMonitor checks the monitor period: an update is
// complete only once its last new task has run that long, and a new task
// that fails after it does not count against the update.
func TestReconcileUpdateMonitor(t *testing.T) {
	monitored := update(&swarmv1.UpdateConfig{Parallelism: 1, MonitorNano: int64(5 * time.Second), FailureAction: swarmv1.FailureAction_FAILURE_ACTION_PAUSE})
	updating := func() *swarmv1.Service {
		return service(1, monitored, updateStatus(swarmv1.UpdateState_UPDATE_STATE_UPDATING, time.Minute))
	}
	t.Run("still monitoring", func(t *testing.T) {
		v := view(updating(), nil, task("new", 1, "n1", stRunning, created(2*time.Second)))
		p := Reconcile(v)
		if p.UpdateStatus != nil {
			t.Fatalf("update status %v while the new task ran 2s of a 5s monitor", p.UpdateStatus)
		}
		if want := t0.Add(3 * time.Second); !p.Wake.Equal(want) {
			t.Fatalf("wake %v, want %v (end of the monitor period)", p.Wake, want)
		}
	})
	t.Run("monitor over", func(t *testing.T) {
		v := view(updating(), nil, task("new", 1, "n1", stRunning, created(6*time.Second)))
		p := Reconcile(v)
		if p.UpdateStatus.GetState() != swarmv1.UpdateState_UPDATE_STATE_COMPLETED {
			t.Fatalf("update status %v after the monitor period, want COMPLETED", p.UpdateStatus)
		}
	})
	t.Run("late failure does not pause", func(t *testing.T) {
		svc := service(2, monitored, updateStatus(swarmv1.UpdateState_UPDATE_STATE_UPDATING, time.Minute))
		v := view(svc, nil,
			task("late", 1, "n1", stFailed, created(30*time.Second), since(time.Second)),
			task("old", 2, "n2", stRunning, img(imgOld+"-previous")))
		if p := Reconcile(v); p.UpdateStatus.GetState() == swarmv1.UpdateState_UPDATE_STATE_PAUSED {
			t.Fatalf("a failure 29s after start paused a 5s-monitored update: %v", p.UpdateStatus)
		}
	})
	t.Run("early failure pauses", func(t *testing.T) {
		svc := service(2, monitored, updateStatus(swarmv1.UpdateState_UPDATE_STATE_UPDATING, time.Minute))
		v := view(svc, nil,
			task("early", 1, "n1", stFailed, created(3*time.Second), since(2*time.Second)),
			task("old", 2, "n2", stRunning, img(imgOld+"-previous")))
		if p := Reconcile(v); p.UpdateStatus.GetState() != swarmv1.UpdateState_UPDATE_STATE_PAUSED {
			t.Fatalf("a failure 1s after start did not pause the update: %v", p.UpdateStatus)
		}
	})
}

// TestReconcileRebalance moves one task at a time toward a node that came
// back, start-first, and only when the service is otherwise stable.
func TestReconcileRebalance(t *testing.T) {
	busy := []*swarmv1.Task{
		task("a", 1, "n1", stRunning), task("b", 2, "n1", stRunning),
		task("c", 3, "n2", stRunning), task("d", 4, "n2", stRunning),
	}
	t.Run("off", func(t *testing.T) {
		v := view(service(4), nil, busy...)
		if p := Reconcile(v); !p.Empty() {
			t.Fatalf("plan %v with rebalancing off", summarize(v, p))
		}
	})
	t.Run("one move toward the empty node", func(t *testing.T) {
		v := view(service(4), nil, busy...)
		v.Rebalance = true
		p := Reconcile(v)
		if len(p.Create) != 1 || len(p.Desire) != 0 || p.Create[0].NodeId != "" {
			t.Fatalf("plan %v, want one new pending task and nothing stopped yet", summarize(v, p))
		}
		if slot := p.Create[0].Slot; slot != 2 {
			t.Fatalf("moved slot %d, want 2 (the highest on n1, the busiest by ID)", slot)
		}
	})
	t.Run("old task stops once the new one runs", func(t *testing.T) {
		tasks := append(append([]*swarmv1.Task(nil), busy...), task("b2", 2, "n3", stRunning, created(time.Second)))
		v := view(service(4), nil, tasks...)
		v.Rebalance = true
		p := Reconcile(v)
		if len(p.Desire) != 1 || p.Desire[0].TaskId != "b" || p.Desire[0].Reason != "rebalanced" {
			t.Fatalf("plan %v, want b shut down as rebalanced", summarize(v, p))
		}
	})
	t.Run("old task serves while the new one starts", func(t *testing.T) {
		tasks := append(append([]*swarmv1.Task(nil), busy...), task("b2", 2, "n3", stAssigned, created(time.Second)))
		v := view(service(4), nil, tasks...)
		v.Rebalance = true
		if p := Reconcile(v); len(p.Desire) != 0 || len(p.Create) != 0 {
			t.Fatalf("plan %v while the moved task starts, want nothing", summarize(v, p))
		}
	})
	// Found by swarmbench clock-jump: a node where tasks of the service
	// failed five times lately (placement avoids it) had one task fewer
	// than the others; every reconcile moved a task "toward" it, which
	// placement put on another node, and the next moved it back, several
	// times a second, for good.
	t.Run("not toward a node placement avoids", func(t *testing.T) {
		tasks := []*swarmv1.Task{
			task("a", 1, "n1", stRunning), task("b", 2, "n1", stRunning), task("c", 3, "n1", stRunning),
			task("d", 4, "n2", stRunning), task("e", 5, "n2", stRunning), task("f", 6, "n3", stRunning),
		}
		for i := range failuresToAvoid {
			tasks = append(tasks, task(fmt.Sprintf("x%d", i), 6, "n3", stFailed, stopped, created(time.Minute), since(time.Minute)))
		}
		v := view(service(6), nil, tasks...)
		v.Rebalance = true
		if !FailingNodes(v)["n3"] {
			t.Fatal("n3 is not a failing node: the test's premise is wrong")
		}
		if p := Reconcile(v); len(p.Create) != 0 || len(p.Desire) != 0 {
			t.Fatalf("plan %v for counts 3/2/1 with n3 avoided, want no move (3/2 differ by one)", summarize(v, p))
		}
		// Without the failures the same counts call for a move.
		v = view(service(6), nil, tasks[:6]...)
		v.Rebalance = true
		if p := Reconcile(v); len(p.Create) != 1 {
			t.Fatalf("plan %v for counts 3/2/1, want one move", summarize(v, p))
		}
	})
	// Found by swarmbench clock-jump: the running task of a slot was made
	// by a leader whose clock ran an hour ahead; the task a later move
	// made for the slot was dated before it, taken for the older one and
	// shut down, and the next reconcile moved the slot again, for an hour.
	t.Run("newest by creation, not by date", func(t *testing.T) {
		old := task("b", 2, "n1", stRunning, created(-time.Hour))
		old.CreatedIndex = 2
		moved := task("b2", 2, "n3", stAssigned, created(time.Second))
		moved.CreatedIndex = 5
		tasks := []*swarmv1.Task{busy[0], old, busy[2], busy[3], moved}
		v := view(service(4), nil, tasks...)
		v.Rebalance = true
		if p := Reconcile(v); len(p.Desire) != 0 || len(p.Create) != 0 {
			t.Fatalf("plan %v while the moved task starts, want nothing (b2 is the slot's newest)", summarize(v, p))
		}
	})
	// Found by e2e TestDockerRuntime: a task killed on n2 left n1 with
	// the service's other two; during the restart delay a move took one
	// of them to n2, and the restarted task then went to n1: a task
	// restarted for nothing.
	t.Run("not while a slot waits out its restart delay", func(t *testing.T) {
		svc := service(3, restart(condAny, 5*time.Second, 0, 0))
		nodes := []*swarmv1.Node{node("n1"), node("n2")}
		tasks := []*swarmv1.Task{
			task("a", 1, "n1", stRunning), task("b", 2, "n2", stFailed, since(time.Second), stopped), task("c", 3, "n1", stRunning),
		}
		v := view(svc, nodes, tasks...)
		v.Rebalance = true
		p := Reconcile(v)
		if len(p.Create) != 0 || !p.Wake.Equal(t0.Add(4*time.Second)) {
			t.Fatalf("plan %v waking at %v, want nothing until the restart in 4s", summarize(v, p), p.Wake.Sub(t0))
		}
		// Once due, the slot's new task is the only one made, placed by
		// the scheduler (on n2, where the service has none).
		v = view(svc, nodes, tasks...)
		v.Rebalance, v.Now = true, t0.Add(4*time.Second)
		p = Reconcile(v)
		if len(p.Create) != 1 || p.Create[0].Slot != 2 || p.Create[0].NodeId != "" {
			t.Fatalf("plan %v at the restart, want slot 2's new task, to be placed", summarize(v, p))
		}
		// A slot that will not restart (the policy says none) does not
		// hold a move back.
		v = view(service(3, restart(condNone, 0, 0, 0)), nodes, tasks...)
		v.Rebalance = true
		if p := Reconcile(v); len(p.Create) != 1 || p.Create[0].Slot != 3 {
			t.Fatalf("plan %v with no restart due, want slot 3 moved", summarize(v, p))
		}
	})
	// In a swarm of 10,000 nodes every reconcile of a stable service
	// looked at each node for a move that no count could call for.
	t.Run("one task per node: no node looked at", func(t *testing.T) {
		v := view(service(3), nil, task("a", 1, "n1", stRunning), task("b", 2, "n2", stRunning), task("c", 3, "n3", stRunning))
		v.Rebalance = true
		looked := 0
		v.Eligible = func(*swarmv1.Node) bool { looked++; return true }
		if p := Reconcile(v); !p.Empty() || looked != 0 {
			t.Fatalf("plan %v after looking at %d nodes, want nothing and none", summarize(v, p), looked)
		}
	})
	// Tasks getting further in starting are looked at only when a
	// decision waits for them: here, a move once none starts.
	t.Run("a move waits for starting tasks, watching them", func(t *testing.T) {
		tasks := append(append([]*swarmv1.Task(nil), busy[:3]...), task("d", 4, "n2", stStarting))
		v := view(service(4), nil, tasks...)
		v.Rebalance = true
		if p := Reconcile(v); !p.Empty() || !p.WatchStarts {
			t.Fatalf("plan %v, watch starts %v; want nothing yet, watching the starts", summarize(v, p), p.WatchStarts)
		}
		v.Rebalance = false
		if p := Reconcile(v); p.WatchStarts {
			t.Fatal("watching starts with rebalancing off")
		}
		v = view(service(3), nil, task("a", 1, "n1", stRunning), task("b", 2, "n2", stRunning), task("c", 3, "n3", stStarting))
		v.Rebalance = true
		if p := Reconcile(v); !p.Empty() || p.WatchStarts {
			t.Fatalf("plan %v, watch starts %v, for one task per node; want nothing, not watching", summarize(v, p), p.WatchStarts)
		}
	})
	t.Run("balanced enough", func(t *testing.T) {
		v := view(service(4), nil, task("a", 1, "n1", stRunning), task("b", 2, "n1", stRunning), task("c", 3, "n2", stRunning), task("d", 4, "n3", stRunning))
		v.Rebalance = true
		if p := Reconcile(v); !p.Empty() {
			t.Fatalf("plan %v for counts 2/1/1, want nothing", summarize(v, p))
		}
	})
}

// TestPlanAvoidingFailures checks Swarm's down-ranking: a node where the
// service failed five times in five minutes gets new tasks only when no
// other node can take them.
func TestPlanAvoidingFailures(t *testing.T) {
	var tasks []*swarmv1.Task
	for i := 0; i < 5; i++ {
		tasks = append(tasks, task(fmt.Sprintf("f%d", i), 1, "n1", stFailed, created(time.Minute), since(time.Minute)))
	}
	pending := task("p", 1, "", stPending)
	nodes := []*swarmv1.Node{node("n1"), node("n2")}
	v := view(service(1), nodes, tasks...)
	if got := FailingNodes(v); !got["n1"] || len(got) != 1 {
		t.Fatalf("failing nodes %v, want n1", got)
	}
	pending.Spec = v.Service.Spec.Task
	res := planAvoidingFailures(v, nil, []*swarmv1.Task{pending})
	if len(res.Assignments) != 1 || res.Assignments[0].NodeID != "n2" {
		t.Fatalf("assignments %v, want the task on n2, away from the failing n1", res.Assignments)
	}
	// With n1 the only node, it still gets the task.
	v = view(service(1), []*swarmv1.Node{node("n1")}, tasks...)
	res = planAvoidingFailures(v, nil, []*swarmv1.Task{pending})
	if len(res.Assignments) != 1 || res.Assignments[0].NodeID != "n1" {
		t.Fatalf("assignments %v, want the task on n1, the only node", res.Assignments)
	}
	// Old failures do not count.
	var old []*swarmv1.Task
	for i := 0; i < 5; i++ {
		old = append(old, task(fmt.Sprintf("o%d", i), 1, "n1", stFailed, created(time.Hour), since(time.Hour)))
	}
	if got := FailingNodes(view(service(1), nodes, old...)); len(got) != 0 {
		t.Fatalf("failing nodes %v from failures an hour old", got)
	}
}

// TestLastStartedIgnoresTheFuture: a task dated after now (a clock went
// back) does not make a rolling update wait until that date.
func TestLastStartedIgnoresTheFuture(t *testing.T) {
	svc := service(2)
	v := &View{Service: svc, Now: t0, Tasks: []*swarmv1.Task{
		task("a", 1, "n1", stRunning, since(time.Minute)),
		task("b", 2, "n1", stRunning, since(-time.Hour)),
	}}
	for _, tk := range v.Tasks {
		tk.Spec = svc.GetSpec().GetTask()
	}
	if got, want := lastStarted(v), t0.Add(-time.Minute); !got.Equal(want) {
		t.Fatalf("lastStarted %s, want %s (the task dated an hour ahead left out)", got, want)
	}
	v.Tasks = v.Tasks[1:]
	if got := lastStarted(v); !got.IsZero() {
		t.Fatalf("lastStarted %s with only a task dated ahead, want none", got)
	}
}

// TestRestartDelayFromFirstSight: with the supervisor's memo, a failure
// waits its restart delay from when the supervisor first saw it, whatever
// its date: an hour ahead (this manager's clock went back, or the one that
// dated it runs ahead), an hour behind (this one runs ahead), or a moment
// ago.
func TestRestartDelayFromFirstSight(t *testing.T) {
	svc := service(1, restart(condAny, 5*time.Second, 0, 0))
	for _, dated := range []time.Duration{-time.Hour, time.Hour, 2 * time.Second} {
		failed := task("a", 1, "n1", stFailed, since(dated))
		seen := map[string]time.Time{}
		v := view(svc, nil, failed)
		v.EndedSeen = seen
		p := Reconcile(v)
		if len(p.Create) != 0 || !p.Wake.Equal(t0.Add(5*time.Second)) {
			t.Fatalf("dated %s ago, first look: plan %v, wake %s; want no new task and a wake 5s later", dated, summarize(v, p), p.Wake)
		}
		v = view(svc, nil, failed)
		v.EndedSeen, v.Now = seen, t0.Add(3*time.Second)
		if p := Reconcile(v); len(p.Create) != 0 || !p.Wake.Equal(t0.Add(5*time.Second)) {
			t.Fatalf("dated %s ago, 3s later: plan %v, wake %s; want still waiting until 5s after the first look", dated, summarize(v, p), p.Wake)
		}
		v = view(svc, nil, failed)
		v.EndedSeen, v.Now = seen, t0.Add(5*time.Second)
		if p := Reconcile(v); len(p.Create) != 1 {
			t.Fatalf("dated %s ago, 5s later: plan %v, want the task replaced", dated, summarize(v, p))
		}
	}
}

// TestReconcileMaxCreate: a plan creates at most MaxCreate tasks and says
// there are more; the next plans, once the first is applied, create the
// rest, the slots in order; without a bound every empty slot gets one,
// with a negative one none.
func TestReconcileMaxCreate(t *testing.T) {
	if p := reconcile(t, view(service(10), nil)); len(p.Create) != 10 || p.More {
		t.Fatalf("without a bound: %d created, more %v; want 10, false", len(p.Create), p.More)
	}
	v := view(service(10), nil)
	v.MaxCreate = -1
	if p := reconcile(t, v); len(p.Create) != 0 || !p.More {
		t.Fatalf("with a negative bound: %d created, more %v; want 0, true", len(p.Create), p.More)
	}
	v.MaxCreate = 4
	var slots []uint64
	for i, want := range []int{4, 4, 2} {
		p := reconcile(t, v)
		if len(p.Create) != want || p.More != (i < 2) {
			t.Fatalf("plan %d: %d created, more %v; want %d, %v", i+1, len(p.Create), p.More, want, i < 2)
		}
		for _, c := range p.Create {
			slots = append(slots, c.Slot)
		}
		v = apply(t, v, p)
	}
	if want := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}; !slices.Equal(slots, want) {
		t.Errorf("slots created %v, want %v", slots, want)
	}
	if p := reconcile(t, v); len(p.Create) != 0 || p.More {
		t.Errorf("with every slot filled: %d created, more %v; want none", len(p.Create), p.More)
	}
}

// TestPlanAvoidingFailuresCountsItsFirstPass: what fits nowhere but on a
// node the service keeps failing on is placed in a second pass over every
// node, which counts what the first pass placed: a task that no longer
// fits stays pending rather than overcommit a node.
func TestPlanAvoidingFailuresCountsItsFirstPass(t *testing.T) {
	var tasks []*swarmv1.Task
	for i := 0; i < 5; i++ {
		tasks = append(tasks, task(fmt.Sprintf("f%d", i), 1, "n1", stFailed, created(time.Minute), since(time.Minute)))
	}
	withMemory := func(b int64) nodeOpt { return func(n *swarmv1.Node) { n.Description.MemoryBytes = b } }
	svc := service(2, func(s *swarmv1.Service) { s.Spec.Task.Reservations = &swarmv1.Resources{MemoryBytes: 60} })
	v := view(svc, []*swarmv1.Node{node("n1", withMemory(50)), node("n2", withMemory(100))}, tasks...)
	p1, p2 := task("p1", 1, "", stPending), task("p2", 2, "", stPending)
	p1.Spec, p2.Spec = svc.Spec.Task, svc.Spec.Task
	res := planAvoidingFailures(v, nil, []*swarmv1.Task{p1, p2})
	if len(res.Assignments) != 1 || res.Assignments[0] != (scheduler.Assignment{TaskID: "p1", NodeID: "n2"}) {
		t.Fatalf("assignments %v, want p1 on n2 only", res.Assignments)
	}
	if _, ok := res.Unplaced["p2"]; !ok {
		t.Fatalf("p2 not left pending (unplaced %v): the second pass did not count p1 on n2", res.Unplaced)
	}
}
