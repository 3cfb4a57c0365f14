package task

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

const (
	httpID = "gujo969xnzkru2qa12rq1zo6j"
	pubID  = "w7zbifxbghkji34xlayks7rnp"
	node1  = "k3olwtdqx9xkisqb4ldl2jqsg"
	node2  = "doc9is0j8ht9lgmxg9edn581u"
)

type taskState struct {
	desired, state swarmv1.TaskState
	ago            time.Duration
	err            string
}

func testTask(id, service string, slot uint64, node string, st taskState) *swarmv1.Task {
	now := clitest.Now()
	return &swarmv1.Task{
		Id:              id,
		ServiceId:       service,
		Slot:            slot,
		NodeId:          node,
		Spec:            &swarmv1.TaskSpec{Image: "local/busybox:2"},
		DesiredState:    st.desired,
		Status:          &swarmv1.TaskStatus{State: st.state, TimestampUnixNano: now.Add(-st.ago).UnixNano(), Err: st.err},
		CreatedUnixNano: now.Add(-st.ago - time.Second).UnixNano(),
	}
}

var (
	runningNow = taskState{desired: swarmv1.TaskState_TASK_STATE_RUNNING, state: swarmv1.TaskState_TASK_STATE_RUNNING, ago: 11 * time.Second}
	pendingNow = taskState{desired: swarmv1.TaskState_TASK_STATE_RUNNING, state: swarmv1.TaskState_TASK_STATE_PENDING, ago: 2 * time.Second}
)

// testTasks is a cluster with a replicated service http (slot 2 restarted
// twice, slot 10 pending) and a global service pub publishing a host port.
func testTasks() *swarmv1.TaskListResponse {
	const (
		running  = swarmv1.TaskState_TASK_STATE_RUNNING
		shutdown = swarmv1.TaskState_TASK_STATE_SHUTDOWN
		failed   = swarmv1.TaskState_TASK_STATE_FAILED
	)
	pub1 := testTask("ppvmljcae28yq1k8fgn2o9dx4", pubID, 0, node1, runningNow)
	pub2 := testTask("y4ub2xl1e3dmmq2xsf1vme0ek", pubID, 0, node2, runningNow)
	for _, t := range []*swarmv1.Task{pub1, pub2} {
		t.Ports = []*swarmv1.PortConfig{{Protocol: swarmv1.Protocol_PROTOCOL_TCP, TargetPort: 8080, PublishedPort: 8090, Mode: swarmv1.PublishMode_PUBLISH_MODE_HOST}}
	}
	return &swarmv1.TaskListResponse{
		Tasks: []*swarmv1.Task{
			testTask("x1k2m3n4b5v6c7x8z9l0k1j2h", httpID, 2, node2, taskState{desired: shutdown, state: failed, ago: 3 * time.Minute, err: "task: non-zero exit (1): starting container failed: no such image"}),
			pub1,
			testTask("cjfba1tl1g20pk1ny3a2nc1m4", httpID, 2, node1, runningNow),
			testTask("wt0fjqy8g4n6m8wq6r0k9pbh4", httpID, 1, node1, runningNow),
			testTask("abcdefghijklmnopqrstuvwxy", httpID, 10, "", pendingNow),
			testTask("q9w8e7r6t5y4u3i2o1p0a9s8d", httpID, 2, node2, taskState{desired: shutdown, state: shutdown, ago: 10 * time.Minute}),
			pub2,
		},
		NodeNames:    map[string]string{node1: "vm", node2: "node-2"},
		ServiceNames: map[string]string{httpID: "http", pubID: "pub"},
	}
}

func TestWrite(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		filters []string
	}{
		{name: "default"},
		{name: "no-trunc", opts: Options{NoTrunc: true}},
		{name: "quiet", opts: Options{Quiet: true}},
		{name: "quiet-no-trunc", opts: Options{Quiet: true, NoTrunc: true}},
		{name: "format-table", opts: Options{Format: `table {{.Name}}\t{{.Node}}\t{{.CurrentState}}`}},
		{name: "format-plain", opts: Options{Format: "{{.Name}} {{.DesiredState}}"}},
		{name: "format-json", opts: Options{Format: "json"}},
		{name: "filter-desired-running", filters: []string{"desired-state=running"}},
		{name: "filter-desired-shutdown", filters: []string{"desired-state=shutdown"}},
		{name: "filter-name", filters: []string{"name=http.2"}},
		{name: "filter-node-hostname", filters: []string{"node=vm"}},
		{name: "filter-node-id", filters: []string{"node=doc9"}},
		{name: "filter-id", filters: []string{"id=wt0", "id=ppv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f cli.Filters
			for _, s := range tt.filters {
				if err := f.Set(s); err != nil {
					t.Fatal(err)
				}
			}
			if err := CheckFilters(&f); err != nil {
				t.Fatal(err)
			}
			r := testTasks()
			var out bytes.Buffer
			if err := Write(&out, r, Filter(r, r.GetTasks(), &f), tt.opts, clitest.Now()); err != nil {
				t.Fatal(err)
			}
			clitest.Golden(t, "ps-"+tt.name, out.String())
		})
	}
}

func TestCheckFilters(t *testing.T) {
	tests := map[string]string{
		"desired-state=paused": "invalid filter 'desired-state=paused': want running, shutdown or accepted",
		"label=x":              "invalid filter 'label'",
	}
	for filter, want := range tests {
		var f cli.Filters
		if err := f.Set(filter); err != nil {
			t.Fatal(err)
		}
		if err := CheckFilters(&f); err == nil || err.Error() != want {
			t.Errorf("%s: err = %v, want %q", filter, err, want)
		}
	}
}

// The `docker service ps http` and `docker node ps` of
// /work/shared/reference/docker-20.10-outputs.txt, byte for byte, but for
// docker's bug of printing a host-mode port twice.
func TestWriteMatchesDocker(t *testing.T) {
	httpTasks := []*swarmv1.Task{
		testTask("wt0fjqy8g4n6m8wq6r0k9pbh4", httpID, 1, node1, runningNow),
		testTask("cjfba1tl1g20pk1ny3a2nc1m4", httpID, 2, node1, runningNow),
	}
	pub := testTask("ppvmljcae28yq1k8fgn2o9dx4", pubID, 1, node1, taskState{desired: runningNow.desired, state: runningNow.state, ago: 5 * time.Second})
	pub.Ports = []*swarmv1.PortConfig{{TargetPort: 8080, PublishedPort: 8090, Mode: swarmv1.PublishMode_PUBLISH_MODE_HOST}}
	r := &swarmv1.TaskListResponse{
		NodeNames:    map[string]string{node1: "vm"},
		ServiceNames: map[string]string{httpID: "http", pubID: "pub"},
	}
	const header = "ID             NAME      IMAGE             NODE      DESIRED STATE   CURRENT STATE            ERROR     PORTS\n"
	const rows = "wt0fjqy8g4n6   http.1    local/busybox:2   vm        Running         Running 11 seconds ago             \n" +
		"cjfba1tl1g20   http.2    local/busybox:2   vm        Running         Running 11 seconds ago             \n"
	for _, tt := range []struct {
		tasks []*swarmv1.Task
		want  string
	}{
		{httpTasks, header + rows},
		{append([]*swarmv1.Task{pub}, httpTasks...), header + rows +
			"ppvmljcae28y   pub.1     local/busybox:2   vm        Running         Running 5 seconds ago              *:8090->8080/tcp\n"},
	} {
		var out bytes.Buffer
		if err := Write(&out, r, tt.tasks, Options{}, clitest.Now()); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want {
			t.Errorf("got:\n%s\nwant:\n%s", out.String(), tt.want)
		}
	}
}

func TestDisplayImage(t *testing.T) {
	const digest = "@sha256:4b3f8f1a3f0f7b1f8c8a0b0f3f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2"
	tests := []struct {
		image   string
		noTrunc bool
		want    string
	}{
		{"nginx:1.25" + digest, false, "nginx:1.25"},
		{"nginx:1.25" + digest, true, "nginx:1.25" + digest},
		{"nginx" + digest, false, "nginx" + digest},
		{"localhost:5000/app" + digest, false, "localhost:5000/app" + digest},
		{"localhost:5000/app:v2" + digest, false, "localhost:5000/app:v2"},
		{"local/busybox:2", false, "local/busybox:2"},
	}
	for _, tt := range tests {
		if got := DisplayImage(tt.image, tt.noTrunc); got != tt.want {
			t.Errorf("DisplayImage(%q, %v) = %q, want %q", tt.image, tt.noTrunc, got, tt.want)
		}
	}
}

func TestCurrentStateWording(t *testing.T) {
	now := clitest.Now()
	for ago, want := range map[time.Duration]string{
		0:                "Running less than a second ago",
		90 * time.Second: "Running about a minute ago",
		3 * time.Hour:    "Running 3 hours ago",
	} {
		tk := testTask("t", httpID, 1, node1, taskState{state: swarmv1.TaskState_TASK_STATE_RUNNING, ago: ago})
		if got := CurrentState(tk, now); got != want {
			t.Errorf("%v ago: %q, want %q", ago, got, want)
		}
	}
	if got := strings.Count(CurrentState(&swarmv1.Task{}, now), "ago"); got != 1 {
		t.Errorf("a task without status: %q", CurrentState(&swarmv1.Task{}, now))
	}
}
