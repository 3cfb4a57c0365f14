package task

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/internal/clock"
	"github.com/actorswarm/swarm/internal/deadline"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Messages between a runner and its parent (local only).
type (
	// Stop tells a runner to stop its task.
	Stop struct{}
	// Report is a runner's state change for its parent to send on. Instance
	// is set once the task runs, so that the parent can read its logs.
	Report struct {
		Update   *swarmv1.TaskStatusUpdate
		Instance Instance
	}
	started struct {
		inst Instance
		err  error
	}
	adopted struct {
		inst  Instance
		found bool
		err   error
	}
	exited struct {
		code int
		err  error
	}
	stopped struct{}
	// probed is the result of one health check.
	probed struct{ healthy bool }
)

// Runner is the actor of one task on its node: it starts the task through
// a runtime, reports each state (ACCEPTED, PREPARING, STARTING, RUNNING,
// then COMPLETE, FAILED, REJECTED or SHUTDOWN) to its parent, and stops it
// when told. Blocking runtime calls run in goroutines that answer with
// messages. A runner whose task ended stays until its parent stops it, so
// that the task's output can still be read.
type Runner struct {
	task     *swarmv1.Task
	rt       Runtime
	port     uint32
	host     string
	net      Networker
	inst     Instance
	stopping bool
	ended    bool
	state    swarmv1.TaskState
	// unhealthy is set once the health check failed retries times in a row:
	// the task is stopped and reported failed.
	unhealthy bool
	failures  uint32
	probeStop chan struct{}
	// adopt is set for a task a previous swarmd started: the runner looks
	// for it through the runtime instead of starting it again.
	adopt bool
}

// NewRunner returns the runner of t through rt; port is its $PORT (0:
// none) and host its $HOST ("": none); net plumbs its overlay networks
// (nil: a task with attachments is rejected). The runner keeps t without
// copying it (a node may run many tasks) and never changes it; the caller
// must not change it either.
func NewRunner(t *swarmv1.Task, rt Runtime, port uint32, host string, net Networker) *Runner {
	return &Runner{task: t, rt: rt, port: port, host: host, net: net}
}

// NewAdopter returns the runner of a task that a previous swarmd of this
// node started, through a runtime that can find it (an Adopter): it
// re-attaches to the task without restarting it, or reports it lost.
// It keeps t as NewRunner does.
func NewAdopter(t *swarmv1.Task, rt Runtime) *Runner {
	return &Runner{task: t, rt: rt, port: t.GetStatus().GetPort(), adopt: true}
}

// Receive implements actor.Actor.
func (r *Runner) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		r.onStarted(ctx)
	case *started:
		r.onRunning(ctx, msg)
	case *adopted:
		r.onAdopted(ctx, msg)
	case *exited:
		r.onExited(ctx, msg)
	case *Stop:
		r.onStop(ctx)
	case *stopped:
	case *probed:
		r.onProbed(ctx, msg)
	case *actor.Stopping:
		r.stopProbes()
	}
}

func (r *Runner) report(ctx actor.Context, st *swarmv1.TaskStatus, inst Instance) {
	r.state = st.State
	if st.TimestampUnixNano == 0 {
		st.TimestampUnixNano = clock.Now().UnixNano()
	}
	if st.Port == 0 {
		st.Port = r.port
	}
	ctx.Send(ctx.Parent(), &Report{Update: &swarmv1.TaskStatusUpdate{TaskId: r.task.Id, Status: st}, Instance: inst})
}

// Name is the task's docker-style name: service.slot.taskid, or
// service.nodeid.taskid for a global task.
func Name(t *swarmv1.Task) string {
	mid := strconv.FormatUint(t.Slot, 10)
	if t.Slot == 0 {
		mid = t.NodeId
	}
	return t.ServiceName + "." + mid + "." + t.Id
}

func (r *Runner) spec() Spec {
	ts := r.task.GetSpec()
	return Spec{
		TaskID: r.task.Id, ServiceID: r.task.ServiceId, ServiceName: r.task.ServiceName,
		Slot: r.task.Slot, NodeID: r.task.NodeId, Name: Name(r.task),
		Image: ts.GetImage(), Args: ts.GetArgs(), Env: ts.GetEnv(), Hostname: ts.GetHostname(),
		Labels: ts.GetLabels(), Port: r.port, Host: r.host, Limits: ts.GetLimits(),
	}
}

// startTimeout bounds a task's start: its network attachment and its
// runtime's Start.
const startTimeout = 5 * time.Minute

// starts hands out the starts' contexts: a node starts thousands of tasks
// a second in a big swarm (a million in a simulation), and a context
// with a timer of its own for each cost a few percent of all the work.
var starts = deadline.Shared{Grain: time.Second}

func (r *Runner) onStarted(ctx actor.Context) {
	if r.adopt {
		r.startAdoption(ctx)
		return
	}
	r.report(ctx, &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ACCEPTED, Message: "accepted"}, nil)
	r.report(ctx, &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_STARTING, Message: "starting"}, nil)
	self, root, rt, spec, nw, t := ctx.Self(), ctx.ActorSystem().Root, r.rt, r.spec(), r.net, r.task
	if as, ok := rt.(AsyncStarter); ok && len(t.GetAttachments()) == 0 {
		as.StartAsync(starts.Within(startTimeout), spec, func(inst Instance, err error) {
			root.Send(self, &started{inst: inst, err: err})
		})
		return
	}
	go func() {
		c := starts.Within(startTimeout)
		if len(t.GetAttachments()) > 0 {
			if nw == nil {
				root.Send(self, &started{err: errors.New("this node cannot attach tasks to overlay networks")})
				return
			}
			ns, err := nw.Attach(c, t)
			if err != nil {
				nw.Detach(t)
				root.Send(self, &started{err: fmt.Errorf("network attachment: %w", err)})
				return
			}
			spec.NetNS = ns
		}
		inst, err := rt.Start(c, spec)
		if err != nil && len(t.GetAttachments()) > 0 {
			nw.Detach(t)
		}
		root.Send(self, &started{inst: inst, err: err})
	}()
}

func (r *Runner) onRunning(ctx actor.Context, msg *started) {
	if msg.err != nil {
		r.ended = true
		r.report(ctx, &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_REJECTED, Message: "starting failed", Err: msg.err.Error()}, nil)
		return
	}
	r.inst = msg.inst
	r.report(ctx, &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_RUNNING, Message: "started", ContainerId: idIfContainer(msg.inst.ID())}, msg.inst)
	watchExit(ctx, msg.inst)
	if r.stopping {
		r.stopInstance(ctx)
		return
	}
	r.startProbes(ctx)
}

// Health check defaults, Docker's.
const (
	defaultHealthInterval = 30 * time.Second
	defaultHealthTimeout  = 30 * time.Second
	defaultHealthRetries  = 3
)

// healthCommand turns a health test into a command: ["CMD", args...] or
// ["CMD-SHELL", script]; nil when there is none.
func healthCommand(h *swarmv1.HealthCheck) []string {
	test := h.GetTest()
	if len(test) < 2 {
		return nil
	}
	switch test[0] {
	case "CMD":
		return test[1:]
	case "CMD-SHELL":
		return []string{"/bin/sh", "-c", test[1]}
	}
	return nil
}

// startProbes runs the task's health check every interval in a goroutine
// that reports each result; runtimes that cannot exec get none.
func (r *Runner) startProbes(ctx actor.Context) {
	h := r.task.GetSpec().GetHealth()
	cmd := healthCommand(h)
	ex, ok := r.inst.(Execer)
	if cmd == nil || !ok {
		return
	}
	interval := time.Duration(h.GetIntervalNano())
	if interval <= 0 {
		interval = defaultHealthInterval
	}
	timeout := time.Duration(h.GetTimeoutNano())
	if timeout <= 0 {
		timeout = defaultHealthTimeout
	}
	start := time.Duration(h.GetStartPeriodNano())
	r.probeStop = make(chan struct{})
	self, root, stop := ctx.Self(), ctx.ActorSystem().Root, r.probeStop
	go func() {
		select {
		case <-stop:
			return
		case <-time.After(start):
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			c, cancel := context.WithTimeout(context.Background(), timeout)
			code, err := ex.Exec(c, cmd)
			cancel()
			root.Send(self, &probed{healthy: err == nil && code == 0})
		}
	}()
}

func (r *Runner) stopProbes() {
	if r.probeStop != nil {
		close(r.probeStop)
		r.probeStop = nil
	}
}

// onProbed counts consecutive failed health checks; past the retries the
// task is unhealthy: stopped, and reported failed so that it is replaced.
func (r *Runner) onProbed(ctx actor.Context, msg *probed) {
	if r.ended || r.stopping {
		return
	}
	if msg.healthy {
		r.failures = 0
		return
	}
	r.failures++
	retries := r.task.GetSpec().GetHealth().GetRetries()
	if retries == 0 {
		retries = defaultHealthRetries
	}
	if r.failures < retries {
		return
	}
	r.unhealthy, r.stopping = true, true
	r.stopProbes()
	r.stopInstance(ctx)
}

func (r *Runner) startAdoption(ctx actor.Context) {
	ad, ok := r.rt.(Adopter)
	self, root, spec := ctx.Self(), ctx.ActorSystem().Root, r.spec()
	go func() {
		if !ok {
			root.Send(self, &adopted{})
			return
		}
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		inst, found, err := ad.Adopt(c, spec)
		root.Send(self, &adopted{inst: inst, found: found, err: err})
	}()
}

// onAdopted takes over a task found still running (its state in the
// swarm does not change: it never stopped), or reports it lost.
func (r *Runner) onAdopted(ctx actor.Context, msg *adopted) {
	if msg.err != nil || !msg.found {
		r.ended = true
		errText := "task lost: its node restarted"
		if msg.err != nil {
			errText += ": " + msg.err.Error()
		}
		r.report(ctx, &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ORPHANED, Message: "lost", Err: errText}, nil)
		return
	}
	r.inst = msg.inst
	r.state = r.task.GetStatus().GetState()
	// The parent needs the instance (logs); the status is the one the
	// swarm has.
	st := proto.Clone(r.task.GetStatus()).(*swarmv1.TaskStatus)
	ctx.Send(ctx.Parent(), &Report{Update: &swarmv1.TaskStatusUpdate{TaskId: r.task.Id, Status: st}, Instance: msg.inst})
	watchExit(ctx, msg.inst)
	if r.stopping {
		r.stopInstance(ctx)
		return
	}
	r.startProbes(ctx)
}

// idIfContainer keeps container IDs (long hex) and drops pids.
func idIfContainer(id string) string {
	if _, err := strconv.Atoi(id); err == nil {
		return ""
	}
	return id
}

func (r *Runner) onExited(ctx actor.Context, msg *exited) {
	r.ended = true
	r.stopProbes()
	if len(r.task.GetAttachments()) > 0 && r.net != nil && !r.adopt {
		nw, t := r.net, r.task
		go nw.Detach(t)
	}
	switch {
	case r.unhealthy:
		r.report(ctx, &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_FAILED, Message: "failed", Err: "task: unhealthy container", ExitCode: int32(msg.code)}, r.inst)
	case r.stopping:
		r.report(ctx, &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_SHUTDOWN, Message: "shutdown", ExitCode: int32(msg.code)}, r.inst)
	case msg.code == 0 && msg.err == nil:
		r.report(ctx, &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_COMPLETE, Message: "finished"}, r.inst)
	default:
		errText := fmt.Sprintf("task: non-zero exit (%d)", msg.code)
		if msg.err != nil && msg.code == 0 {
			errText = "task: " + msg.err.Error()
		}
		r.report(ctx, &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_FAILED, Message: "failed", Err: errText, ExitCode: int32(msg.code)}, r.inst)
	}
}

func (r *Runner) onStop(ctx actor.Context) {
	if r.stopping || r.ended {
		return
	}
	r.stopping = true
	if r.inst != nil {
		r.stopInstance(ctx)
	}
}

func (r *Runner) stopInstance(ctx actor.Context) {
	grace := time.Duration(r.task.GetSpec().GetStopGraceNano())
	if grace <= 0 {
		grace = 10 * time.Second
	}
	self, root, inst := ctx.Self(), ctx.ActorSystem().Root, r.inst
	go func() {
		_ = inst.Stop(grace)
		root.Send(self, &stopped{})
	}()
}

// watchExit tells the runner (exited) when inst ends: through the
// instance's callback when it has one, else from a goroutine.
func watchExit(ctx actor.Context, inst Instance) {
	self, root := ctx.Self(), ctx.ActorSystem().Root
	notify := func() {
		code, err := inst.ExitCode()
		root.Send(self, &exited{code: code, err: err})
	}
	if en, ok := inst.(ExitNotifier); ok {
		en.OnExit(notify)
		return
	}
	go func() {
		<-inst.Done()
		notify()
	}()
}
