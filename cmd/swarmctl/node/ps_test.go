package node

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// taskGateway is gateway() that also lists the tasks of the nodes asked
// for: two on node-2 (one of them an older task of its slot) and one on
// node-1.
func taskGateway() *clitest.Conn {
	conn := gateway()
	nodes := conn.Reply
	conn.Reply = func(req *swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
		list := req.GetTaskList()
		if list == nil {
			return nodes(req)
		}
		now := clitest.Now()
		task := func(id string, slot uint64, node string, state swarmv1.TaskState, ago time.Duration, err string) *swarmv1.Task {
			return &swarmv1.Task{
				Id: id, ServiceId: "gujo969xnzkru2qa12rq1zo6j", Slot: slot, NodeId: node,
				Spec:            &swarmv1.TaskSpec{Image: "local/busybox:2"},
				DesiredState:    map[bool]swarmv1.TaskState{true: swarmv1.TaskState_TASK_STATE_RUNNING, false: swarmv1.TaskState_TASK_STATE_SHUTDOWN}[err == ""],
				Status:          &swarmv1.TaskStatus{State: state, TimestampUnixNano: now.Add(-ago).UnixNano(), Err: err},
				CreatedUnixNano: now.Add(-ago).UnixNano(),
			}
		}
		all := []*swarmv1.Task{
			task("wt0fjqy8g4n6m8wq6r0k9pbh4", 1, selfID, swarmv1.TaskState_TASK_STATE_RUNNING, 11*time.Second, ""),
			task("x1k2m3n4b5v6c7x8z9l0k1j2h", 1, selfID, swarmv1.TaskState_TASK_STATE_FAILED, 3*time.Minute, "task: non-zero exit (137)"),
			task("cjfba1tl1g20pk1ny3a2nc1m4", 2, leaderID, swarmv1.TaskState_TASK_STATE_RUNNING, 11*time.Second, ""),
		}
		r := &swarmv1.TaskListResponse{
			NodeNames:    map[string]string{selfID: "node-2", leaderID: "node-1"},
			ServiceNames: map[string]string{"gujo969xnzkru2qa12rq1zo6j": "http"},
		}
		for _, t := range all {
			for _, n := range list.GetNodeRefs() {
				if t.GetNodeId() == n {
					r.Tasks = append(r.Tasks, t)
				}
			}
		}
		return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_TaskList{TaskList: r}}, nil
	}
	return conn
}

func TestPs(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{name: "self", args: nil},
		{name: "several", args: []string{selfID, leaderID}},
		{name: "missing", args: []string{"missing", leaderID}, wantCode: 1},
		{name: "quiet", args: []string{"-q", "self"}},
		{name: "filter", args: []string{"-f", "desired-state=running", "self"}},
		{name: "format", args: []string{"--format", "{{.Name}} {{.Node}} {{.Error}}", "self"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := taskGateway()
			res := clitest.Run(conn, nouns, append([]string{"node", "ps"}, tt.args...)...)
			if res.Code != tt.wantCode {
				t.Errorf("exit %d, want %d", res.Code, tt.wantCode)
			}
			clitest.Golden(t, "ps-"+tt.name, "stdout:\n"+res.Stdout+"stderr:\n"+res.Stderr)
		})
	}
}

func TestPsAsksForTheNodesFound(t *testing.T) {
	conn := taskGateway()
	if res := clitest.Run(conn, nouns, "node", "ps"); res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	want := []*swarmv1.GatewayRequest{
		{Req: &swarmv1.GatewayRequest_NodeInspect{NodeInspect: &swarmv1.NodeInspectRequest{Ref: "self"}}},
		{Req: &swarmv1.GatewayRequest_TaskList{TaskList: &swarmv1.TaskListRequest{NodeRefs: []string{selfID}}}},
	}
	if len(conn.Requests) != len(want) || !proto.Equal(conn.Requests[0], want[0]) || !proto.Equal(conn.Requests[1], want[1]) {
		t.Errorf("requests %v, want %v", conn.Requests, want)
	}
}
