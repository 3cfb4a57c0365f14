package node

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func TestWriteInspect(t *testing.T) {
	bare := testNode("bare0000000000000000000000", "bare", "", swarmv1.NodeRole_NODE_ROLE_WORKER, swarmv1.NodeState_NODE_STATE_DOWN, swarmv1.NodeAvailability_NODE_AVAILABILITY_UNSPECIFIED, nil)
	bare.CreatedUnixNano = 0
	bare.Addr = ""
	bare.Status.Message = "heartbeat failure"
	bare.Description = &swarmv1.NodeDescription{Hostname: "bare"}

	tests := []struct {
		name  string
		nodes []*swarmv1.Node
		opts  inspectOptions
	}{
		{name: "pretty-leader", nodes: []*swarmv1.Node{findNode(leaderID)}, opts: inspectOptions{pretty: true}},
		{name: "pretty-unreachable-manager", nodes: []*swarmv1.Node{findNode(unreachableID)}, opts: inspectOptions{pretty: true}},
		{name: "pretty-worker-labels", nodes: []*swarmv1.Node{findNode(drainID)}, opts: inspectOptions{pretty: true}},
		{name: "pretty-bare", nodes: []*swarmv1.Node{bare}, opts: inspectOptions{pretty: true}},
		{name: "pretty-several", nodes: []*swarmv1.Node{findNode(selfID), findNode(edgeAID)}, opts: inspectOptions{pretty: true}},
		{name: "json", nodes: []*swarmv1.Node{findNode(leaderID), findNode(drainID)}},
		{name: "json-none"},
		{name: "format", nodes: []*swarmv1.Node{findNode(leaderID), findNode(drainID)}, opts: inspectOptions{format: "{{.Id}} {{.Description.Hostname}} {{.Role}} {{index .Spec.Labels \"zone\"}}"}},
		{name: "format-json", nodes: []*swarmv1.Node{findNode(drainID)}, opts: inspectOptions{format: "{{json .Spec}}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resps []*swarmv1.NodeResponse
			for _, n := range tt.nodes {
				resps = append(resps, nodeResponse(n))
			}
			var out bytes.Buffer
			if err := writeInspect(&out, resps, tt.opts); err != nil {
				t.Fatal(err)
			}
			clitest.Golden(t, "inspect-"+tt.name, out.String())
		})
	}
}

// The JSON must be valid and hold the nodes in order, whatever the golden
// file says.
func TestWriteInspectJSONIsAnArrayOfNodes(t *testing.T) {
	var out bytes.Buffer
	if err := writeInspect(&out, []*swarmv1.NodeResponse{nodeResponse(findNode(leaderID)), nodeResponse(findNode(drainID))}, inspectOptions{}); err != nil {
		t.Fatal(err)
	}
	var got []struct {
		ID   string `json:"id"`
		Spec struct {
			Labels map[string]string `json:"labels"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if len(got) != 2 || got[0].ID != leaderID || got[1].ID != drainID || got[1].Spec.Labels["zone"] != "b" {
		t.Errorf("decoded %+v", got)
	}
}
