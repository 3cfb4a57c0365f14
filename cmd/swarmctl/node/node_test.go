package node

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func nouns(c *cli.CLI) []*cobra.Command { return []*cobra.Command{NewCommand(c)} }

// gateway answers like a daemon holding testNodeList, refusing refs named
// "missing".
func gateway() *clitest.Conn {
	return &clitest.Conn{Reply: func(req *swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
		ref := ""
		switch r := req.GetReq().(type) {
		case *swarmv1.GatewayRequest_NodeList:
			return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_NodeList{NodeList: testNodeList()}}, nil
		case *swarmv1.GatewayRequest_NodeInspect:
			ref = r.NodeInspect.GetRef()
			if ref == "self" {
				ref = selfID
			}
			if ref != "missing" {
				return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_Node{Node: nodeResponse(findNode(ref))}}, nil
			}
		case *swarmv1.GatewayRequest_NodePromote:
			ref = r.NodePromote.GetRef()
		case *swarmv1.GatewayRequest_NodeDemote:
			ref = r.NodeDemote.GetRef()
		case *swarmv1.GatewayRequest_NodeRemove:
			ref = r.NodeRemove.GetRef()
		case *swarmv1.GatewayRequest_NodeUpdate:
			ref = r.NodeUpdate.GetRef()
		}
		if ref == "missing" {
			return &swarmv1.GatewayResponse{Error: "node missing not found", Code: 5}, nil
		}
		return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_Empty{Empty: &swarmv1.EmptyResponse{}}}, nil
	}}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
		wantReqs   []*swarmv1.GatewayRequest
	}{
		{
			name:       "promote continues after an error",
			args:       []string{"node", "promote", "n1", "missing", "n2"},
			wantCode:   1,
			wantStdout: "Node n1 promoted to a manager in the swarm.\nNode n2 promoted to a manager in the swarm.\n",
			wantStderr: "Error response from daemon: node missing not found\n",
			wantReqs: []*swarmv1.GatewayRequest{
				{Req: &swarmv1.GatewayRequest_NodePromote{NodePromote: &swarmv1.NodePromoteRequest{Ref: "n1"}}},
				{Req: &swarmv1.GatewayRequest_NodePromote{NodePromote: &swarmv1.NodePromoteRequest{Ref: "missing"}}},
				{Req: &swarmv1.GatewayRequest_NodePromote{NodePromote: &swarmv1.NodePromoteRequest{Ref: "n2"}}},
			},
		},
		{
			name:       "demote",
			args:       []string{"node", "demote", "n1"},
			wantStdout: "Manager n1 demoted in the swarm.\n",
			wantReqs:   []*swarmv1.GatewayRequest{{Req: &swarmv1.GatewayRequest_NodeDemote{NodeDemote: &swarmv1.NodeDemoteRequest{Ref: "n1"}}}},
		},
		{
			name:       "rm force, errors joined",
			args:       []string{"node", "rm", "-f", "missing", "n1", "missing"},
			wantCode:   1,
			wantStdout: "n1\n",
			wantStderr: "Error response from daemon: node missing not found\nError response from daemon: node missing not found\n",
			wantReqs: []*swarmv1.GatewayRequest{
				{Req: &swarmv1.GatewayRequest_NodeRemove{NodeRemove: &swarmv1.NodeRemoveRequest{Ref: "missing", Force: true}}},
				{Req: &swarmv1.GatewayRequest_NodeRemove{NodeRemove: &swarmv1.NodeRemoveRequest{Ref: "n1", Force: true}}},
				{Req: &swarmv1.GatewayRequest_NodeRemove{NodeRemove: &swarmv1.NodeRemoveRequest{Ref: "missing", Force: true}}},
			},
		},
		{
			name:       "update",
			args:       []string{"node", "update", "--availability", "Drain", "--label-add", "zone=c", "--label-add", "ssd", "--label-rm", "old", "n1"},
			wantStdout: "n1\n",
			wantReqs: []*swarmv1.GatewayRequest{{Req: &swarmv1.GatewayRequest_NodeUpdate{NodeUpdate: &swarmv1.NodeUpdateRequest{
				Ref:          "n1",
				Availability: swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN,
				LabelAdd:     map[string]string{"zone": "c", "ssd": ""},
				LabelRm:      []string{"old"},
			}}}},
		},
		{
			name:       "update without changes",
			args:       []string{"node", "update", "n1"},
			wantCode:   1,
			wantStderr: "no changes requested: give --availability, --label-add or --label-rm\n",
		},
		{
			name:       "update bad availability",
			args:       []string{"node", "update", "--availability", "sleep", "n1"},
			wantCode:   1,
			wantStderr: "invalid availability \"sleep\": must be active, pause or drain\n",
		},
		{
			name:       "update bad label",
			args:       []string{"node", "update", "--label-add", "=x", "n1"},
			wantCode:   1,
			wantStderr: "invalid label \"=x\": want key=value\n",
		},
		{
			name:       "ls bad filter key is refused before calling",
			args:       []string{"node", "ls", "--filter", "status=ready"},
			wantCode:   1,
			wantStderr: "invalid filter 'status'\n",
		},
		{
			name:       "ls filter without value",
			args:       []string{"node", "ls", "-f", "role"},
			wantCode:   1,
			wantStderr: "invalid argument \"role\" for \"-f, --filter\" flag: bad format of filter \"role\" (expected name=value)\nSee 'swarmctl node ls --help'.\n",
		},
		{
			name:       "ls extra argument",
			args:       []string{"node", "ls", "extra"},
			wantCode:   1,
			wantStderr: "\"swarmctl node ls\" accepts no arguments.\nSee 'swarmctl node ls --help'.\n\nUsage:  swarmctl node ls [OPTIONS]\n\nList nodes in the swarm\n",
		},
		{
			name:       "promote without node",
			args:       []string{"node", "promote"},
			wantCode:   1,
			wantStderr: "\"swarmctl node promote\" requires at least 1 argument.\nSee 'swarmctl node promote --help'.\n\nUsage:  swarmctl node promote NODE [NODE...]\n\nPromote one or more nodes to manager in the swarm\n",
		},
		{
			name:       "update takes one node",
			args:       []string{"node", "update", "--availability", "drain", "n1", "n2"},
			wantCode:   1,
			wantStderr: "\"swarmctl node update\" requires exactly 1 argument.\nSee 'swarmctl node update --help'.\n\nUsage:  swarmctl node update [OPTIONS] NODE\n\nUpdate a node\n",
		},
		{
			name:       "unknown verb",
			args:       []string{"node", "frobnicate"},
			wantCode:   1,
			wantStderr: "unknown command \"frobnicate\" for \"swarmctl node\"\nSee 'swarmctl node --help'.\n",
		},
		{
			name:       "inspect pretty and format",
			args:       []string{"node", "inspect", "--pretty", "--format", "{{.Id}}", "n1"},
			wantCode:   1,
			wantStderr: "--format and --pretty cannot be used together\n",
		},
		{
			name:       "inspect prints what it found, then the errors",
			args:       []string{"node", "inspect", "--format", "{{.Description.Hostname}}", "self", "missing", leaderID},
			wantCode:   1,
			wantStdout: "node-2\nnode-1\n",
			wantStderr: "Error response from daemon: node missing not found\n",
			wantReqs: []*swarmv1.GatewayRequest{
				{Req: &swarmv1.GatewayRequest_NodeInspect{NodeInspect: &swarmv1.NodeInspectRequest{Ref: "self"}}},
				{Req: &swarmv1.GatewayRequest_NodeInspect{NodeInspect: &swarmv1.NodeInspectRequest{Ref: "missing"}}},
				{Req: &swarmv1.GatewayRequest_NodeInspect{NodeInspect: &swarmv1.NodeInspectRequest{Ref: leaderID}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := gateway()
			res := clitest.Run(conn, nouns, tt.args...)
			if res.Code != tt.wantCode || res.Stdout != tt.wantStdout || res.Stderr != tt.wantStderr {
				t.Errorf("swarmctl %s:\ncode %d, want %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q",
					strings.Join(tt.args, " "), res.Code, tt.wantCode, res.Stdout, tt.wantStdout, res.Stderr, tt.wantStderr)
			}
			if len(conn.Requests) != len(tt.wantReqs) {
				t.Fatalf("sent %d requests, want %d: %v", len(conn.Requests), len(tt.wantReqs), conn.Requests)
			}
			for i := range tt.wantReqs {
				if !proto.Equal(conn.Requests[i], tt.wantReqs[i]) {
					t.Errorf("request %d = %v, want %v", i, conn.Requests[i], tt.wantReqs[i])
				}
			}
		})
	}
}

// The commands print what the pure functions print: the golden files of
// those tests hold for the command lines too.
func TestCommandsOutput(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"ls-default", []string{"node", "ls"}},
		{"ls-filter-and", []string{"node", "list", "-f", "role=worker", "--filter", "node.label=zone=a"}},
		{"ls-filter-quiet", []string{"node", "ls", "-q", "-f", "role=manager"}},
		{"ls-format-table", []string{"node", "ls", "--format", `table {{.ID}}\t{{.Hostname}}`}},
		{"inspect-pretty-several", []string{"node", "inspect", "--pretty", "self", edgeAID}},
		{"inspect-json", []string{"node", "inspect", leaderID, drainID}},
		{"help-ls", []string{"node", "ls", "--help"}},
		{"help-node", []string{"node"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			res := clitest.Run(gateway(), nouns, tt.args...)
			if res.Code != 0 || res.Stderr != "" {
				t.Fatalf("exit %d, stderr %q", res.Code, res.Stderr)
			}
			clitest.Golden(t, tt.golden, res.Stdout)
		})
	}
}

func TestTransportError(t *testing.T) {
	conn := &clitest.Conn{Reply: func(*swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
		return nil, errors.New("cannot connect to the swarmd daemon: connection refused")
	}}
	res := clitest.Run(conn, nouns, "-H", "unix:///run/x.sock", "node", "ls")
	want := "error during connect: unix:///run/x.sock: cannot connect to the swarmd daemon: connection refused\n"
	if res.Code != 1 || res.Stdout != "" || res.Stderr != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 1, stderr %q", res.Code, res.Stdout, res.Stderr, want)
	}
	if !conn.Closed {
		t.Error("connection left open")
	}
}

func TestUnexpectedResponse(t *testing.T) {
	conn := &clitest.Conn{Reply: func(*swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
		return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_Empty{Empty: &swarmv1.EmptyResponse{}}}, nil
	}}
	res := clitest.Run(conn, nouns, "node", "ls")
	if res.Code != 1 || res.Stderr != cli.ErrUnexpectedResponse.Error()+"\n" {
		t.Errorf("exit %d, stderr %q", res.Code, res.Stderr)
	}
}
