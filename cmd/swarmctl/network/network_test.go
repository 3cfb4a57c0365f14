package network

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func nouns(c *cli.CLI) []*cobra.Command { return []*cobra.Command{NewCommand(c)} }

func testNetworks() []*swarmv1.Network {
	created := time.Date(2024, 3, 1, 11, 0, 0, 123456789, time.UTC).UnixNano()
	return []*swarmv1.Network{
		{Id: "k2hcvqb5w0x8j3r1m6t9y4n7a", Spec: &swarmv1.NetworkSpec{Name: "backend", Driver: "overlay", Labels: map[string]string{"tier": "db"}},
			Subnet: "10.0.1.0/24", Gateway: "10.0.1.1", Vni: 4098, CreatedUnixNano: created},
		{Id: "qugm0ugtr3lm5zx9fa8sv2p1d", Spec: &swarmv1.NetworkSpec{Name: "skynet", Driver: "overlay", Attachable: true},
			Subnet: "10.0.0.0/24", Gateway: "10.0.0.1", Vni: 4097, CreatedUnixNano: created},
	}
}

// fakeSwarm answers network requests from testNetworks.
func fakeSwarm() *clitest.Conn {
	return &clitest.Conn{Reply: func(req *swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
		find := func(ref string) *swarmv1.Network {
			for _, n := range testNetworks() {
				if n.Id == ref || n.Spec.Name == ref || strings.HasPrefix(n.Id, ref) {
					return n
				}
			}
			return nil
		}
		one := func(n *swarmv1.Network) *swarmv1.GatewayResponse {
			return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_Network{Network: &swarmv1.NetworkResponse{Network: n}}}
		}
		switch r := req.Req.(type) {
		case *swarmv1.GatewayRequest_NetworkList:
			return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_NetworkList{NetworkList: &swarmv1.NetworkListResponse{Networks: testNetworks()}}}, nil
		case *swarmv1.GatewayRequest_NetworkInspect:
			if n := find(r.NetworkInspect.Ref); n != nil {
				resp := one(n)
				if n.Spec.Name == "backend" {
					resp.GetNetwork().Attachments = []*swarmv1.Attachment{
						{NetworkId: n.Id, Address: "10.0.1.2", TaskId: "t0k1n2", ServiceName: "db", Slot: 1},
						{NetworkId: n.Id, Address: "10.0.1.3", TaskId: "node:n1"},
					}
				}
				return resp, nil
			}
			return &swarmv1.GatewayResponse{Error: "No such network: " + r.NetworkInspect.Ref, Code: 5}, nil
		case *swarmv1.GatewayRequest_NetworkRemove:
			if r.NetworkRemove.Ref == "skynet" {
				return &swarmv1.GatewayResponse{Error: "network skynet is in use by service http", Code: 9}, nil
			}
			if n := find(r.NetworkRemove.Ref); n != nil {
				return one(n), nil
			}
			return &swarmv1.GatewayResponse{Error: "No such network: " + r.NetworkRemove.Ref, Code: 5}, nil
		case *swarmv1.GatewayRequest_NetworkCreate:
			n := &swarmv1.Network{Id: "newnetworkid0000000000000", Spec: r.NetworkCreate.Spec}
			return one(n), nil
		}
		return nil, clitest.ErrUnscripted
	}}
}

func TestNetworkCommands(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"ls", []string{"network", "ls"}, 0},
		{"ls-quiet", []string{"network", "ls", "-q"}, 0},
		{"ls-no-trunc", []string{"network", "ls", "--no-trunc"}, 0},
		{"ls-filter-name", []string{"network", "ls", "--filter", "name=sky"}, 0},
		{"ls-filter-label", []string{"network", "ls", "-f", "label=tier=db"}, 0},
		{"ls-format", []string{"network", "ls", "--format", "{{.Name}}: {{.Driver}}"}, 0},
		{"ls-bad-filter", []string{"network", "ls", "--filter", "colour=red"}, 1},
		{"inspect", []string{"network", "inspect", "skynet"}, 0},
		{"inspect-format", []string{"network", "inspect", "--format", "{{.Name}} {{index .Options \"com.docker.network.driver.overlay.vxlanid_list\"}}", "skynet", "backend"}, 0},
		{"inspect-missing", []string{"network", "inspect", "skynet", "nope"}, 1},
		{"inspect-endpoints", []string{"network", "inspect", "backend"}, 0},
		{"rm", []string{"network", "rm", "backend", "nope", "skynet"}, 1},
		{"create", []string{"network", "create", "-d", "overlay", "--subnet", "10.9.0.0/24", "--attachable", "--label", "a=b", "new"}, 0},
		{"create-bridge", []string{"network", "create", "-d", "bridge", "new"}, 1},
		{"create-gateway-alone", []string{"network", "create", "--gateway", "10.9.0.1", "new"}, 1},
		{"create-no-name", []string{"network", "create"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := fakeSwarm()
			res := clitest.Run(conn, nouns, tc.args...)
			if res.Code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", res.Code, tc.code, res.Stderr)
			}
			clitest.Golden(t, tc.name, "stdout:\n"+res.Stdout+"stderr:\n"+res.Stderr)
			if tc.name == "create" {
				spec := conn.Requests[0].GetNetworkCreate().GetSpec()
				if spec.Subnet != "10.9.0.0/24" || !spec.Attachable || spec.Labels["a"] != "b" || spec.Name != "new" {
					t.Errorf("create sent %v", spec)
				}
			}
			if strings.HasPrefix(tc.name, "create-") && len(conn.Requests) > 0 {
				t.Errorf("bad create reached the daemon: %v", conn.Requests)
			}
		})
	}
}
