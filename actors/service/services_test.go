package service

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/cluster"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// TestServicesRespawnOnceTheOldChildStopped: a manager that loses a
// shard's leadership tells its supervisors to quit waiting for a
// reconcile slot; winning it back while one is still busy stopping, it
// gives the service a new supervisor once the old one is gone, instead of
// failing to spawn one over its name at every tick.
func TestServicesRespawnOnceTheOldChildStopped(t *testing.T) {
	e := newStoreEnv(t, 1, 1)
	release := make(chan struct{})
	var made atomic.Int32
	firstQuit := make(chan (<-chan struct{}), 1)
	old := childProps
	childProps = func(_ string, _ uint64, _ Env, quit <-chan struct{}) *actor.Props {
		n := made.Add(1)
		if n == 1 {
			firstQuit <- quit
		}
		return actor.PropsFromFunc(func(ctx actor.Context) {
			if _, ok := ctx.Message().(*actor.Started); ok && n == 1 {
				<-release // busy: a stop waits for this
			}
		})
	}
	t.Cleanup(func() { childProps = old })
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	system.Root.Spawn(Props(e))
	waitUntil(t, "a supervisor", func() bool { return made.Load() == 1 })
	e.notLeading.Store(true)
	time.Sleep(4 * leadershipPeriod) // told to stop, still busy
	select {
	case <-<-firstQuit:
	default:
		t.Fatal("a supervisor told to stop was not told to quit waiting for a reconcile slot")
	}
	e.notLeading.Store(false)
	time.Sleep(6 * leadershipPeriod) // leading again
	if n := made.Load(); n != 1 {
		t.Fatalf("%d supervisors made while the old one had not stopped", n)
	}
	close(release)
	waitUntil(t, "a new supervisor once the old one stopped", func() bool { return made.Load() == 2 })
	time.Sleep(4 * leadershipPeriod)
	if n := made.Load(); n != 2 {
		t.Fatalf("%d supervisors made, want 2", n)
	}
	if logs := e.logs.String(); strings.Contains(logs, "spawn supervisor") {
		t.Fatalf("spawn errors logged:\n%s", logs)
	}
}

// TestServicesWakeOnSwarmChanges: supervisors are told of changes of the
// nodes and of the swarm's settings (the rebalance setting: a quiet
// supervisor would otherwise see it only at its next look), not of other
// control-shard entries.
func TestServicesWakeOnSwarmChanges(t *testing.T) {
	e := newStoreEnv(t, 1, 1)
	var told, made atomic.Int32
	old := childProps
	childProps = func(string, uint64, Env, <-chan struct{}) *actor.Props {
		made.Add(1)
		return actor.PropsFromFunc(func(ctx actor.Context) {
			if _, ok := ctx.Message().(*Changed); ok {
				told.Add(1)
			}
		})
	}
	t.Cleanup(func() { childProps = old })
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	pid := system.Root.Spawn(Props(e))
	waitUntil(t, "a supervisor", func() bool { return made.Load() == 1 })
	for _, c := range []struct {
		cmd  *swarmv1.Command
		want int32
	}{
		{&swarmv1.Command{Cmd: &swarmv1.Command_ReserveService{ReserveService: &swarmv1.ReserveService{}}}, 0},
		{&swarmv1.Command{Cmd: &swarmv1.Command_UpdateClusterSettings{UpdateClusterSettings: &swarmv1.UpdateClusterSettings{}}}, 1},
		{&swarmv1.Command{Cmd: &swarmv1.Command_SetNodeStates{SetNodeStates: &swarmv1.SetNodeStates{}}}, 2},
	} {
		system.Root.Send(pid, &cluster.Applied{ShardID: cluster.ControlShard, Command: c.cmd})
		time.Sleep(50 * time.Millisecond)
		if n := told.Load(); n != c.want {
			t.Errorf("after %T: told %d times, want %d", c.cmd.Cmd, n, c.want)
		}
	}
}

// TestOnlyProgress: a batch whose only news is tasks getting further in
// starting (reports from assigned up to running) wakes no supervisor
// without an update waiting for it; anything else does: a task created
// (whole or from its service), placed, told to stop, deleted, or a state
// past running or before assigned.
func TestOnlyProgress(t *testing.T) {
	report := func(st swarmv1.TaskState) []*swarmv1.TaskStatusUpdate {
		return []*swarmv1.TaskStatusUpdate{{TaskId: "t1", Status: &swarmv1.TaskStatus{State: st}}}
	}
	for _, tc := range []struct {
		name string
		b    *swarmv1.TaskBatch
		want bool
	}{
		{"starting and running", &swarmv1.TaskBatch{Status: append(report(swarmv1.TaskState_TASK_STATE_STARTING), report(swarmv1.TaskState_TASK_STATE_RUNNING)...)}, true},
		{"failed", &swarmv1.TaskBatch{Status: report(swarmv1.TaskState_TASK_STATE_FAILED)}, false},
		{"pending", &swarmv1.TaskBatch{Status: report(swarmv1.TaskState_TASK_STATE_PENDING)}, false},
		{"created whole", &swarmv1.TaskBatch{Create: []*swarmv1.Task{{Id: "t2"}}}, false},
		{"created from the service", &swarmv1.TaskBatch{NewTasks: []*swarmv1.NewTasks{{Tasks: []*swarmv1.NewTask{{Id: "t2", NodeId: "n1"}}}}}, false},
		{"placed", &swarmv1.TaskBatch{Assign: []*swarmv1.TaskAssignment{{TaskId: "t1", NodeId: "n1"}}}, false},
		{"told to stop", &swarmv1.TaskBatch{Desire: []*swarmv1.TaskDesire{{TaskId: "t1", DesiredState: swarmv1.TaskState_TASK_STATE_SHUTDOWN}}}, false},
		{"deleted", &swarmv1.TaskBatch{Delete: []string{"t1"}}, false},
	} {
		if got := onlyProgress(tc.b); got != tc.want {
			t.Errorf("%s: only progress %v, want %v", tc.name, got, tc.want)
		}
	}
}
