package cli_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

const (
	running  = swarmv1.TaskState_TASK_STATE_RUNNING
	pending  = swarmv1.TaskState_TASK_STATE_PENDING
	starting = swarmv1.TaskState_TASK_STATE_STARTING
	failed   = swarmv1.TaskState_TASK_STATE_FAILED
	shutdown = swarmv1.TaskState_TASK_STATE_SHUTDOWN
)

var taskSpec = &swarmv1.TaskSpec{Image: "local/busybox:2", Runtime: "process"}

// service is http at spec version 2 (scaled from 2 to replicas); its
// tasks of version 1 run the same spec.
func service(replicas uint64) *swarmv1.Service {
	return &swarmv1.Service{
		Id:          "gujo969xnzkru2qa12rq1zo6j",
		SpecVersion: 2,
		Spec:        &swarmv1.ServiceSpec{Name: "http", Mode: swarmv1.ServiceMode_SERVICE_MODE_REPLICATED, Replicas: replicas, Task: taskSpec},
	}
}

func task(slot uint64, state swarmv1.TaskState) *swarmv1.Task {
	return &swarmv1.Task{
		Id:           fmt.Sprintf("task%d", slot),
		ServiceId:    "gujo969xnzkru2qa12rq1zo6j",
		Slot:         slot,
		SpecVersion:  1,
		Spec:         taskSpec,
		DesiredState: running,
		Status:       &swarmv1.TaskStatus{State: state},
	}
}

func tasks(states ...swarmv1.TaskState) []*swarmv1.Task {
	out := make([]*swarmv1.Task, len(states))
	for i, s := range states {
		out[i] = task(uint64(i+1), s)
	}
	return out
}

// script is the daemon a progress display polls: on poll n (counted by
// service inspections) it shows the service svc(n) with tasks(n). cancel,
// when set, is called at the poll numbered interruptAt.
type script struct {
	svc         func(poll int) *swarmv1.Service
	tasks       func(poll int) []*swarmv1.Task
	interruptAt int
	cancel      context.CancelFunc
	poll        int
}

func (s *script) reply(req *swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
	switch req.GetReq().(type) {
	case *swarmv1.GatewayRequest_ServiceInspect:
		s.poll++
		if s.poll > 1000 {
			return nil, errors.New("the progress display does not end")
		}
		if s.cancel != nil && s.poll-1 == s.interruptAt {
			s.cancel()
		}
		return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_Service{Service: &swarmv1.ServiceResponse{Service: s.svc(s.poll - 1)}}}, nil
	case *swarmv1.GatewayRequest_TaskList:
		return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_TaskList{TaskList: &swarmv1.TaskListResponse{Tasks: s.tasks(s.poll - 1)}}}, nil
	}
	return nil, clitest.ErrUnscripted
}

// steps plays one task list per poll, the last one for ever after.
func steps(lists ...[]*swarmv1.Task) func(int) []*swarmv1.Task {
	return func(poll int) []*swarmv1.Task { return lists[min(poll, len(lists)-1)] }
}

func always(svc *swarmv1.Service) func(int) *swarmv1.Service {
	return func(int) *swarmv1.Service { return svc }
}

// waitOn runs WaitOnService("http") against s, on a terminal of width
// columns when tty, and returns what it printed.
func waitOn(t *testing.T, s *script, tty bool, width int, opts cli.WaitOptions) (string, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if s.interruptAt > 0 {
		s.cancel = cancel
	}
	var out bytes.Buffer
	c := cli.New(&out, io.Discard)
	clock := clitest.NewClock(clitest.Now())
	c.Now, c.Sleep = clock.Now, clock.Sleep
	c.Terminal = func() (bool, int) { return tty, width }
	c.Connect = func(string, string) (cli.Conn, error) { return &clitest.Conn{Reply: s.reply}, nil }
	err := c.WaitOnService(ctx, "http", opts)
	return out.String(), err
}

// catV shows terminal output as the reference files do: `cat -v` of what
// a terminal received, where each \n arrives as \r\n.
func catV(s string) string {
	return strings.NewReplacer("\n", "^M\n", "\r", "^M", "\x1b", "^[").Replace(s)
}

// The reference of `docker service scale http=3` on a pipe, with the
// lines docker repeats on every poll printed once.
func TestProgressPipeMatchesDocker(t *testing.T) {
	ref, err := os.ReadFile("testdata/docker-scale-progress-pipe.txt")
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	prev := ""
	for _, line := range strings.SplitAfter(string(ref), "\n")[1:] { // after "http scaled to 3"
		if line != prev {
			want.WriteString(line)
		}
		prev = line
	}
	s := &script{svc: always(service(3)), tasks: steps(
		tasks(running, running, pending),
		tasks(running, running, starting),
		tasks(running, running, running),
	)}
	got, err := waitOn(t, s, false, 0, cli.WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got != want.String() {
		t.Errorf("got:\n%s\nwant:\n%s", got, want.String())
	}
}

// The reference of `docker service scale http=4` on a terminal 80 columns
// wide: byte for byte, except that docker draws the slots of the third
// poll in map order, and this display in slot order.
func TestProgressTTYMatchesDocker(t *testing.T) {
	ref, err := os.ReadFile("testdata/docker-scale-progress-tty.txt")
	if err != nil {
		t.Fatal(err)
	}
	s := &script{svc: always(service(4)), tasks: steps(
		tasks(running, pending, running, running),
		tasks(running, starting, running, running),
		tasks(running, running, running, running),
	)}
	out, err := waitOn(t, s, true, 80, cli.WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := "http scaled to 4^M\n" + catV(out)
	want := string(ref)

	// Up to the end of the second poll.
	second := strings.Index(want, "overall progress: 3 out of 4 tasks ^M^[[5B^[[4A")
	head := len(want[:second]) + len("overall progress: 3 out of 4 tasks ^M^[[5B")
	head = strings.Index(want[head:], "overall progress: 3 out of 4 tasks ^M^[[5B") + head + len("overall progress: 3 out of 4 tasks ^M^[[5B")
	if !strings.HasPrefix(got, want[:head]) {
		t.Fatalf("first two polls differ:\ngot:\n%s\nwant:\n%s", got[:min(len(got), head)], want[:head])
	}
	// The third poll: the same line updates, in another order.
	const converged = "^[[5A^[[2K^Moverall progress: 4 out of 4 tasks ^M^[[5B"
	wantTail, gotTail := strings.Index(want, converged), strings.Index(got, converged)
	if wantTail < 0 || gotTail < 0 {
		t.Fatalf("no converged line: got %d, want %d", gotTail, wantTail)
	}
	updates := regexp.MustCompile(`\^\[\[\dA\^\[\[2K\^M\d/4: running   \^M\^\[\[\dB`)
	gotPoll, wantPoll := updates.FindAllString(got[head:gotTail], -1), updates.FindAllString(want[head:wantTail], -1)
	slices.Sort(gotPoll)
	slices.Sort(wantPoll)
	if !slices.Equal(gotPoll, wantPoll) || len(wantPoll) != 4 {
		t.Errorf("third poll:\ngot  %q\nwant %q", gotPoll, wantPoll)
	}
	// From the converged line to where the reference was cut.
	if !strings.HasPrefix(got[gotTail:], want[wantTail:]) {
		t.Errorf("verification differs:\ngot:\n%s\nwant:\n%s", got[gotTail:], want[wantTail:])
	}
	if end := "^[[1A^[[2K^Mverify: Service http converged ^M^[[1B"; !strings.HasSuffix(got, end) {
		t.Errorf("output does not end with %q:\n%s", end, got[max(0, len(got)-200):])
	}
}

func failedTask(slot uint64, msg string) *swarmv1.Task {
	t := task(slot, failed)
	t.Id += "-failed"
	t.DesiredState = shutdown
	t.Status.Err = msg
	return t
}

func withStatus(svc *swarmv1.Service, state swarmv1.UpdateState, msg string) *swarmv1.Service {
	svc.UpdateStatus = &swarmv1.UpdateStatus{State: state, Message: msg}
	return svc
}

func globalTask(node string, state swarmv1.TaskState) *swarmv1.Task {
	t := task(0, state)
	t.Id, t.NodeId = "task-"+node, node
	return t
}

func TestProgress(t *testing.T) {
	const longErr = "task: non-zero exit (1): the process wrote a very long message\nthat goes on and on past the end of a narrow terminal"
	global := service(0)
	global.Spec.Mode = swarmv1.ServiceMode_SERVICE_MODE_GLOBAL
	stale := withStatus(service(2), swarmv1.UpdateState_UPDATE_STATE_COMPLETED, "update completed")
	tests := []struct {
		name    string
		s       *script
		tty     bool
		width   int
		opts    cli.WaitOptions
		wantErr string
	}{
		{name: "tty-bars", tty: true, width: 120, s: &script{svc: always(service(3)), tasks: steps(
			tasks(pending, starting, running), tasks(running, running, running))}},
		{name: "tty-failure", tty: true, width: 80, s: &script{svc: always(service(2)), tasks: steps(
			tasks(running, starting),
			[]*swarmv1.Task{task(1, running), failedTask(2, longErr)},
			[]*swarmv1.Task{task(1, running), failedTask(2, longErr), task(2, running)})}},
		{name: "pipe-failure-during-verify", s: &script{svc: always(service(2)), tasks: steps(
			tasks(running, running), tasks(running, running), tasks(running, running), tasks(running, running), tasks(running, running),
			tasks(running, running), []*swarmv1.Task{task(1, running), failedTask(2, "task: non-zero exit (1)")},
			[]*swarmv1.Task{task(1, running), failedTask(2, "task: non-zero exit (1)"), task(2, running)})}},
		{name: "pipe-global", s: &script{svc: always(global), tasks: steps(
			nil,
			[]*swarmv1.Task{globalTask("k3olwtdqx9xkisqb4ldl2jqsg", pending), globalTask("w7zbifxbghkji34xlayks7rnp", running)},
			[]*swarmv1.Task{globalTask("k3olwtdqx9xkisqb4ldl2jqsg", running), globalTask("w7zbifxbghkji34xlayks7rnp", running)})}},
		{name: "tty-global", tty: true, width: 120, s: &script{svc: always(global), tasks: steps(
			[]*swarmv1.Task{globalTask("k3olwtdqx9xkisqb4ldl2jqsg", pending), globalTask("w7zbifxbghkji34xlayks7rnp", running)},
			[]*swarmv1.Task{globalTask("k3olwtdqx9xkisqb4ldl2jqsg", running), globalTask("w7zbifxbghkji34xlayks7rnp", running)})}},
		{name: "pipe-many-replicas", s: &script{svc: always(service(21)), tasks: steps(
			tasks(slices.Repeat([]swarmv1.TaskState{running}, 20)...), tasks(slices.Repeat([]swarmv1.TaskState{running}, 21)...))}},
		{name: "tty-rollback", tty: true, width: 120, opts: cli.WaitOptions{Rollback: true}, s: &script{
			svc:   always(withStatus(service(2), swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_STARTED, "manually requested rollback")),
			tasks: steps(tasks(running, starting), tasks(running, running))}},
		{name: "pipe-update-rolled-back", s: &script{
			svc: func(poll int) *swarmv1.Service {
				switch {
				case poll < 2:
					return withStatus(service(2), swarmv1.UpdateState_UPDATE_STATE_UPDATING, "update in progress")
				case poll < 4:
					return withStatus(service(2), swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_STARTED, "update rolled back due to failure or early termination of task task2")
				}
				return withStatus(service(2), swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_COMPLETED, "rollback completed")
			},
			tasks: steps(tasks(running, starting), []*swarmv1.Task{task(1, running), failedTask(2, "task: non-zero exit (2)")})}},
		{name: "pipe-update-paused", wantErr: "service update paused: update paused due to failure or early termination of task task2", s: &script{
			svc: func(poll int) *swarmv1.Service {
				if poll < 2 {
					return withStatus(service(2), swarmv1.UpdateState_UPDATE_STATE_UPDATING, "update in progress")
				}
				return withStatus(service(2), swarmv1.UpdateState_UPDATE_STATE_PAUSED, "update paused due to failure or early termination of task task2")
			},
			tasks: steps(tasks(running, starting))}},
		{name: "pipe-update-completed", s: &script{
			svc: func(poll int) *swarmv1.Service {
				if poll < 2 {
					return withStatus(service(2), swarmv1.UpdateState_UPDATE_STATE_UPDATING, "update in progress")
				}
				return withStatus(service(2), swarmv1.UpdateState_UPDATE_STATE_COMPLETED, "update completed")
			},
			tasks: steps(tasks(running, starting))}},
		{name: "pipe-stale-status", s: &script{svc: always(stale), tasks: steps(tasks(running, starting), tasks(running, running))}},
		{name: "pipe-interrupted", s: &script{svc: always(service(2)), tasks: steps(tasks(running, pending)), interruptAt: 3}},
		{name: "pipe-interrupted-while-verifying", s: &script{svc: always(service(2)), tasks: steps(tasks(running, running)), interruptAt: 3}},
		{name: "quiet", opts: cli.WaitOptions{Quiet: true}, s: &script{svc: always(service(2)), tasks: steps(tasks(running, running))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := waitOn(t, tt.s, tt.tty, tt.width, tt.opts)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if tt.tty {
				out = catV(out)
			}
			clitest.Golden(t, "progress-"+tt.name, out)
		})
	}
}

// Tasks of an older spec are not counted: an update waits for their
// replacements.
func TestProgressIgnoresOutdatedTasks(t *testing.T) {
	svc := service(1)
	svc.Spec.Task = &swarmv1.TaskSpec{Image: "local/busybox:3"}
	old := task(1, running)
	replacement := task(1, running)
	replacement.Id, replacement.SpecVersion, replacement.Spec = "new", 2, svc.Spec.Task
	s := &script{svc: always(svc), tasks: steps([]*swarmv1.Task{old}, []*swarmv1.Task{old}, []*swarmv1.Task{replacement})}
	out, err := waitOn(t, s, false, 0, cli.WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "overall progress: 0 out of 1 tasks\n1/1:  \noverall progress: 1 out of 1 tasks\n"
	if !strings.HasPrefix(out, want) || strings.Count(out, "overall progress") != 2 {
		t.Errorf("got:\n%s\nwant it to start with:\n%s", out, want)
	}
}

func TestProgressDaemonError(t *testing.T) {
	c := cli.New(io.Discard, io.Discard)
	c.Connect = func(string, string) (cli.Conn, error) {
		return &clitest.Conn{Reply: func(*swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
			return &swarmv1.GatewayResponse{Error: "no such service: http", Code: cli.CodeNotFound}, nil
		}}, nil
	}
	err := c.WaitOnService(context.Background(), "http", cli.WaitOptions{})
	if !cli.IsNotFound(err) {
		t.Errorf("err = %v, want the daemon's not found", err)
	}
}

// A scale down counts the tasks of the slots that stay, and converges
// once the tasks of the other slots stopped.
func TestProgressScaleDown(t *testing.T) {
	four := tasks(running, running, running, running)
	stopping := tasks(running, running, running, running)
	stopping[2].DesiredState, stopping[3].DesiredState = swarmv1.TaskState_TASK_STATE_SHUTDOWN, swarmv1.TaskState_TASK_STATE_SHUTDOWN
	stopped := tasks(running, running, swarmv1.TaskState_TASK_STATE_SHUTDOWN, swarmv1.TaskState_TASK_STATE_SHUTDOWN)
	stopped[2].DesiredState, stopped[3].DesiredState = swarmv1.TaskState_TASK_STATE_SHUTDOWN, swarmv1.TaskState_TASK_STATE_SHUTDOWN
	s := &script{svc: always(service(2)), tasks: steps(four, four, stopping, stopped)}
	out, err := waitOn(t, s, false, 0, cli.WaitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "overall progress") && line != "overall progress: 0 out of 2 tasks" && line != "overall progress: 2 out of 2 tasks" {
			t.Errorf("progress line %q counts more than the 2 slots that stay", line)
		}
	}
	if !strings.Contains(out, "verify: Service ") {
		t.Errorf("no convergence after the surplus stopped:\n%s", out)
	}
}
