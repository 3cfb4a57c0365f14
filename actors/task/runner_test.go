package task_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/actors/task"
	"github.com/actorswarm/swarm/actors/task/tasktest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// parent spawns a runner and forwards its reports to a channel.
type parent struct {
	props   *actor.Props
	reports chan *swarmv1.TaskStatus
	child   chan *actor.PID
}

func (p *parent) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		p.child <- ctx.Spawn(p.props)
	case *task.Report:
		p.reports <- msg.Update.Status
	}
}

func newTask(health *swarmv1.HealthCheck) *swarmv1.Task {
	return &swarmv1.Task{Id: "t1234567890abcdef", ServiceId: "s1", ServiceName: "web", Slot: 2,
		Spec: &swarmv1.TaskSpec{Image: "img", Health: health, StopGraceNano: int64(time.Second)}}
}

func run(t *testing.T, rt task.Runtime, tk *swarmv1.Task) (chan *swarmv1.TaskStatus, *actor.PID, *actor.ActorSystem) {
	t.Helper()
	sys := actor.NewActorSystem()
	t.Cleanup(sys.Shutdown)
	p := &parent{
		props:   actor.PropsFromProducer(func() actor.Actor { return task.NewRunner(tk, rt, 31000, "", nil) }),
		reports: make(chan *swarmv1.TaskStatus, 16),
		child:   make(chan *actor.PID, 1),
	}
	sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return p }))
	return p.reports, <-p.child, sys
}

// expect reads reports until one in state want, failing on a timeout.
func expect(t *testing.T, reports chan *swarmv1.TaskStatus, want swarmv1.TaskState) *swarmv1.TaskStatus {
	t.Helper()
	deadline := time.After(5 * time.Second)
	var seen []string
	for {
		select {
		case st := <-reports:
			seen = append(seen, st.State.String())
			if st.State == want {
				return st
			}
		case <-deadline:
			t.Fatalf("no %s report; saw %v", want, seen)
		}
	}
}

func waitStarted(t *testing.T, rt *tasktest.Runtime) *tasktest.Instance {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if s := rt.Started(); len(s) > 0 {
			return s[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("task never started")
	return nil
}

func TestRunnerLifecycle(t *testing.T) {
	tests := []struct {
		name    string
		end     func(*actor.ActorSystem, *actor.PID, *tasktest.Instance)
		want    swarmv1.TaskState
		wantErr string
	}{
		{"exits 0", func(_ *actor.ActorSystem, _ *actor.PID, in *tasktest.Instance) { in.Exit(0) }, swarmv1.TaskState_TASK_STATE_COMPLETE, ""},
		{"exits 1", func(_ *actor.ActorSystem, _ *actor.PID, in *tasktest.Instance) { in.Exit(1) }, swarmv1.TaskState_TASK_STATE_FAILED, "task: non-zero exit (1)"},
		{"stopped", func(sys *actor.ActorSystem, pid *actor.PID, _ *tasktest.Instance) { sys.Root.Send(pid, &task.Stop{}) }, swarmv1.TaskState_TASK_STATE_SHUTDOWN, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := &tasktest.Runtime{}
			reports, pid, sys := run(t, rt, newTask(nil))
			expect(t, reports, swarmv1.TaskState_TASK_STATE_ACCEPTED)
			st := expect(t, reports, swarmv1.TaskState_TASK_STATE_RUNNING)
			if st.Port != 31000 {
				t.Errorf("running report port %d, want 31000", st.Port)
			}
			in := waitStarted(t, rt)
			if in.Spec.Name != "web.2.t1234567890abcdef" || in.Spec.Port != 31000 {
				t.Errorf("spec name %q port %d", in.Spec.Name, in.Spec.Port)
			}
			tc.end(sys, pid, in)
			got := expect(t, reports, tc.want)
			if got.Err != tc.wantErr {
				t.Errorf("err %q, want %q", got.Err, tc.wantErr)
			}
		})
	}
}

func TestRunnerStartFailureIsRejected(t *testing.T) {
	rt := &tasktest.Runtime{StartErr: errors.New(`program "nope" not found in PATH`)}
	reports, _, _ := run(t, rt, newTask(nil))
	st := expect(t, reports, swarmv1.TaskState_TASK_STATE_REJECTED)
	if st.Err != `program "nope" not found in PATH` {
		t.Fatalf("err %q", st.Err)
	}
}

func TestRunnerUnhealthyTaskFails(t *testing.T) {
	rt := &tasktest.Runtime{}
	health := &swarmv1.HealthCheck{Test: []string{"CMD-SHELL", "true"}, IntervalNano: int64(10 * time.Millisecond), Retries: 2}
	reports, _, _ := run(t, rt, newTask(health))
	expect(t, reports, swarmv1.TaskState_TASK_STATE_RUNNING)
	in := waitStarted(t, rt)
	in.SetHealthy(false)
	st := expect(t, reports, swarmv1.TaskState_TASK_STATE_FAILED)
	if st.Err != "task: unhealthy container" || in.Stops() != 1 {
		t.Fatalf("err %q after %d stops; want an unhealthy failure after one stop", st.Err, in.Stops())
	}
}

func TestName(t *testing.T) {
	for _, tc := range []struct {
		task *swarmv1.Task
		want string
	}{
		{&swarmv1.Task{Id: "abc", ServiceName: "web", Slot: 3}, "web.3.abc"},
		{&swarmv1.Task{Id: "abc", ServiceName: "agent", NodeId: "n1"}, "agent.n1.abc"},
	} {
		if got := task.Name(tc.task); got != tc.want {
			t.Errorf("Name = %q, want %q", got, tc.want)
		}
	}
	if got := task.ShortID("0123456789abcdefghij"); got != "0123456789ab" {
		t.Errorf("ShortID = %q", got)
	}
}

// asyncRuntime is a tasktest.Runtime that also starts asynchronously:
// the runner must use StartAsync, done called on a goroutine of its own,
// and Start not at all.
type asyncRuntime struct {
	tasktest.Runtime
	blocking, async chan struct{}
}

func (r *asyncRuntime) Start(ctx context.Context, s task.Spec) (task.Instance, error) {
	close(r.blocking)
	return r.Runtime.Start(ctx, s)
}

func (r *asyncRuntime) StartAsync(ctx context.Context, s task.Spec, done func(task.Instance, error)) {
	close(r.async)
	if _, ok := ctx.Deadline(); !ok {
		done(nil, errors.New("a start without a deadline"))
		return
	}
	go func() { done(r.Runtime.Start(ctx, s)) }()
}

// TestRunnerStartsAsynchronously: a runtime that starts asynchronously is
// asked to, with a bounded context; its task runs and is reported so. A
// task on overlay networks (attached first) starts the usual way.
func TestRunnerStartsAsynchronously(t *testing.T) {
	rt := &asyncRuntime{blocking: make(chan struct{}), async: make(chan struct{})}
	reports, _, _ := run(t, rt, newTask(nil))
	expect(t, reports, swarmv1.TaskState_TASK_STATE_RUNNING)
	select {
	case <-rt.async:
	default:
		t.Fatal("StartAsync not called")
	}
	select {
	case <-rt.blocking:
		t.Fatal("Start called too")
	default:
	}

	rt = &asyncRuntime{blocking: make(chan struct{}), async: make(chan struct{})}
	tk := newTask(nil)
	tk.Attachments = []*swarmv1.Attachment{{NetworkId: "n1", Address: "10.0.0.2/24"}}
	reports, _, _ = run(t, rt, tk)
	expect(t, reports, swarmv1.TaskState_TASK_STATE_REJECTED) // no networker in this test
	select {
	case <-rt.async:
		t.Fatal("an attached task started asynchronously")
	default:
	}
}
