package swarm

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

const (
	workerToken  = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx"
	managerToken = "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-7p73s1dx5in4tatdymyhg9hu2"
	gatewayAddr  = "127.0.0.11:2377"
)

func TestWriteInit(t *testing.T) {
	var out bytes.Buffer
	err := writeInit(&out, &swarmv1.SwarmInitResponse{NodeId: "k3olwtdqx9xkisqb4ldl2jqsg", WorkerToken: workerToken, GatewayAddr: gatewayAddr})
	if err != nil {
		t.Fatal(err)
	}
	clitest.Golden(t, "init", out.String())
}

func TestWriteJoinToken(t *testing.T) {
	const (
		worker  = swarmv1.NodeRole_NODE_ROLE_WORKER
		manager = swarmv1.NodeRole_NODE_ROLE_MANAGER
	)
	tests := []struct {
		name  string
		role  swarmv1.NodeRole
		token string
		opts  joinTokenOptions
	}{
		{"worker", worker, workerToken, joinTokenOptions{}},
		{"manager", manager, managerToken, joinTokenOptions{}},
		{"quiet", worker, workerToken, joinTokenOptions{quiet: true}},
		{"rotate", manager, managerToken, joinTokenOptions{rotate: true}},
		{"rotate-quiet", worker, workerToken, joinTokenOptions{rotate: true, quiet: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := writeJoinToken(&out, tt.role, &swarmv1.JoinTokenResponse{Token: tt.token, GatewayAddr: gatewayAddr}, tt.opts); err != nil {
				t.Fatal(err)
			}
			clitest.Golden(t, "join-token-"+tt.name, out.String())
		})
	}
}

// The reference output of `docker swarm join-token worker`, with swarmctl
// in place of docker.
func TestWriteJoinTokenMatchesDocker(t *testing.T) {
	const want = "To add a worker to this swarm, run the following command:\n\n" +
		"    swarmctl swarm join --token SWMTKN-1-<digest>-<secret> 127.0.0.1:2377\n\n"
	var out bytes.Buffer
	err := writeJoinToken(&out, swarmv1.NodeRole_NODE_ROLE_WORKER, &swarmv1.JoinTokenResponse{Token: "SWMTKN-1-<digest>-<secret>", GatewayAddr: "127.0.0.1:2377"}, joinTokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestWriteJoin(t *testing.T) {
	for role, want := range map[swarmv1.NodeRole]string{
		swarmv1.NodeRole_NODE_ROLE_WORKER:  "This node joined a swarm as a worker.\n",
		swarmv1.NodeRole_NODE_ROLE_MANAGER: "This node joined a swarm as a manager.\n",
	} {
		var out bytes.Buffer
		if err := writeJoin(&out, &swarmv1.SwarmJoinResponse{NodeId: "n", Role: role}); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Errorf("%v: got %q, want %q", role, out.String(), want)
		}
	}
}

func TestNormalizeRemoteAddr(t *testing.T) {
	tests := []struct {
		in, want, wantErr string
	}{
		{in: "10.0.0.1:2377", want: "10.0.0.1:2377"},
		{in: "10.0.0.1:4000", want: "10.0.0.1:4000"},
		{in: "10.0.0.1", want: "10.0.0.1:2377"},
		{in: "manager-1", want: "manager-1:2377"},
		{in: "::1", want: "[::1]:2377"},
		{in: "[::1]", want: "[::1]:2377"},
		{in: "[fd00::1]:2380", want: "[fd00::1]:2380"},
		{in: "", wantErr: `invalid address "": want HOST:PORT, e.g. 192.168.1.10:2377`},
		{in: ":2377", wantErr: `invalid address ":2377": want HOST:PORT, e.g. 192.168.1.10:2377`},
		{in: "10.0.0.1:", wantErr: `invalid address "10.0.0.1:": port must be a number from 1 to 65535`},
		{in: "10.0.0.1:http", wantErr: `invalid address "10.0.0.1:http": port must be a number from 1 to 65535`},
		{in: "10.0.0.1:70000", wantErr: `invalid address "10.0.0.1:70000": port must be a number from 1 to 65535`},
		{in: "10.0.0.1:2377:1", wantErr: `invalid address "10.0.0.1:2377:1": want HOST:PORT, e.g. 192.168.1.10:2377`},
		{in: "tcp://10.0.0.1:2377", wantErr: `invalid address "tcp://10.0.0.1:2377": want HOST:PORT, e.g. 192.168.1.10:2377`},
	}
	for _, tt := range tests {
		got, err := normalizeRemoteAddr(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("normalizeRemoteAddr(%q) = %q, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("normalizeRemoteAddr(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func nouns(c *cli.CLI) []*cobra.Command { return []*cobra.Command{NewCommand(c)} }

func TestCommands(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		reply      *swarmv1.GatewayResponse
		wantCode   int
		wantStdout string
		wantStderr string
		wantReq    *swarmv1.GatewayRequest // nil: no request may be sent
	}{
		{
			name:       "init",
			args:       []string{"swarm", "init", "--advertise-addr", "127.0.0.11", "--force-new-cluster"},
			reply:      &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_SwarmInit{SwarmInit: &swarmv1.SwarmInitResponse{NodeId: "k3olwtdqx9xkisqb4ldl2jqsg", WorkerToken: workerToken, GatewayAddr: gatewayAddr}}},
			wantStdout: "Swarm initialized: current node (k3olwtdqx9xkisqb4ldl2jqsg) is now a manager.\n\nTo add a worker to this swarm, run the following command:\n\n    swarmctl swarm join --token " + workerToken + " 127.0.0.11:2377\n\nTo add a manager to this swarm, run 'swarmctl swarm join-token manager' and follow the instructions.\n\n",
			wantReq:    &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmInit{SwarmInit: &swarmv1.SwarmInitRequest{AdvertiseAddr: "127.0.0.11", ForceNewCluster: true}}},
		},
		{
			name:       "init refused",
			args:       []string{"swarm", "init"},
			reply:      &swarmv1.GatewayResponse{Error: "This node is already part of a swarm. Use \"swarmctl swarm leave\" to leave this swarm and join another one."},
			wantCode:   1,
			wantStderr: "Error response from daemon: This node is already part of a swarm. Use \"swarmctl swarm leave\" to leave this swarm and join another one.\n",
			wantReq:    &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmInit{SwarmInit: &swarmv1.SwarmInitRequest{}}},
		},
		{
			name:       "init bad advertise address",
			args:       []string{"swarm", "init", "--advertise-addr", "eth0"},
			wantCode:   1,
			wantStderr: "invalid --advertise-addr \"eth0\": must be an IP address\n",
		},
		{
			name:       "join adds the default port",
			args:       []string{"swarm", "join", "--token", workerToken, "--advertise-addr", "127.0.0.12", "127.0.0.11"},
			reply:      &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_SwarmJoin{SwarmJoin: &swarmv1.SwarmJoinResponse{NodeId: "n2", Role: swarmv1.NodeRole_NODE_ROLE_WORKER}}},
			wantStdout: "This node joined a swarm as a worker.\n",
			wantReq:    &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmJoin{SwarmJoin: &swarmv1.SwarmJoinRequest{Token: workerToken, RemoteAddr: "127.0.0.11:2377", AdvertiseAddr: "127.0.0.12"}}},
		},
		{
			name:       "join as manager",
			args:       []string{"swarm", "join", "--token", managerToken, "127.0.0.11:2377"},
			reply:      &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_SwarmJoin{SwarmJoin: &swarmv1.SwarmJoinResponse{NodeId: "n2", Role: swarmv1.NodeRole_NODE_ROLE_MANAGER}}},
			wantStdout: "This node joined a swarm as a manager.\n",
			wantReq:    &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmJoin{SwarmJoin: &swarmv1.SwarmJoinRequest{Token: managerToken, RemoteAddr: "127.0.0.11:2377"}}},
		},
		{
			name:       "join bad address",
			args:       []string{"swarm", "join", "--token", workerToken, "127.0.0.11:twenty"},
			wantCode:   1,
			wantStderr: "invalid address \"127.0.0.11:twenty\": port must be a number from 1 to 65535\n",
		},
		{
			name:       "join without token",
			args:       []string{"swarm", "join", "127.0.0.11:2377"},
			wantCode:   1,
			wantStderr: "--token is required: run 'swarmctl swarm join-token worker' on a manager to get one\n",
		},
		{
			name:       "join without address",
			args:       []string{"swarm", "join", "--token", workerToken},
			wantCode:   1,
			wantStderr: "\"swarmctl swarm join\" requires exactly 1 argument.\nSee 'swarmctl swarm join --help'.\n\nUsage:  swarmctl swarm join [OPTIONS] HOST:PORT\n\nJoin a swarm as a node and/or manager\n",
		},
		{
			name:       "join-token rotate",
			args:       []string{"swarm", "join-token", "--rotate", "manager"},
			reply:      &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_JoinToken{JoinToken: &swarmv1.JoinTokenResponse{Token: managerToken, GatewayAddr: gatewayAddr}}},
			wantStdout: "Successfully rotated manager join token.\n\nTo add a manager to this swarm, run the following command:\n\n    swarmctl swarm join --token " + managerToken + " 127.0.0.11:2377\n\n",
			wantReq:    &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_JoinToken{JoinToken: &swarmv1.JoinTokenRequest{Role: swarmv1.NodeRole_NODE_ROLE_MANAGER, Rotate: true}}},
		},
		{
			name:       "join-token quiet",
			args:       []string{"swarm", "join-token", "-q", "worker"},
			reply:      &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_JoinToken{JoinToken: &swarmv1.JoinTokenResponse{Token: workerToken, GatewayAddr: gatewayAddr}}},
			wantStdout: workerToken + "\n",
			wantReq:    &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_JoinToken{JoinToken: &swarmv1.JoinTokenRequest{Role: swarmv1.NodeRole_NODE_ROLE_WORKER}}},
		},
		{
			name:       "join-token unknown role",
			args:       []string{"swarm", "join-token", "admin"},
			wantCode:   1,
			wantStderr: "unknown role admin\n",
		},
		{
			name:       "leave",
			args:       []string{"swarm", "leave"},
			reply:      &swarmv1.GatewayResponse{},
			wantStdout: "Node left the swarm.\n",
			wantReq:    &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmLeave{SwarmLeave: &swarmv1.SwarmLeaveRequest{}}},
		},
		{
			name:       "leave force",
			args:       []string{"swarm", "leave", "-f"},
			reply:      &swarmv1.GatewayResponse{},
			wantStdout: "Node left the swarm.\n",
			wantReq:    &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmLeave{SwarmLeave: &swarmv1.SwarmLeaveRequest{Force: true}}},
		},
		{
			name:       "update heartbeat only",
			args:       []string{"swarm", "update", "--heartbeat", "250ms"},
			reply:      &swarmv1.GatewayResponse{},
			wantStdout: "Swarm updated.\n",
			wantReq:    &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmUpdate{SwarmUpdate: &swarmv1.SwarmUpdateRequest{HeartbeatPeriodNano: int64(250 * time.Millisecond)}}},
		},
		{
			name:       "update rebalance off",
			args:       []string{"swarm", "update", "--rebalance=false"},
			reply:      &swarmv1.GatewayResponse{},
			wantStdout: "Swarm updated.\n",
			wantReq:    &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmUpdate{SwarmUpdate: &swarmv1.SwarmUpdateRequest{SetRebalance: true, Rebalance: false}}},
		},
		{
			name:       "update rebalance on",
			args:       []string{"swarm", "update", "--rebalance"},
			reply:      &swarmv1.GatewayResponse{},
			wantStdout: "Swarm updated.\n",
			wantReq:    &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmUpdate{SwarmUpdate: &swarmv1.SwarmUpdateRequest{SetRebalance: true, Rebalance: true}}},
		},
		{
			name:       "update negative heartbeat",
			args:       []string{"swarm", "update", "--heartbeat", "-1s"},
			wantCode:   1,
			wantStderr: "invalid --heartbeat -1s: must be positive\n",
		},
		{
			name:       "update bad heartbeat",
			args:       []string{"swarm", "update", "--heartbeat", "soon"},
			wantCode:   1,
			wantStderr: "invalid argument \"soon\" for \"--heartbeat\" flag: time: invalid duration \"soon\"\nSee 'swarmctl swarm update --help'.\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn := &clitest.Conn{Reply: func(*swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) { return tt.reply, nil }}
			res := clitest.Run(conn, nouns, tt.args...)
			if res.Code != tt.wantCode || res.Stdout != tt.wantStdout || res.Stderr != tt.wantStderr {
				t.Errorf("swarmctl %s:\ncode %d, want %d\nstdout %q\nwant   %q\nstderr %q\nwant   %q",
					strings.Join(tt.args, " "), res.Code, tt.wantCode, res.Stdout, tt.wantStdout, res.Stderr, tt.wantStderr)
			}
			switch {
			case tt.wantReq == nil && len(conn.Requests) > 0:
				t.Errorf("sent %v, want no request", conn.Requests)
			case tt.wantReq != nil && (len(conn.Requests) != 1 || !proto.Equal(conn.Requests[0], tt.wantReq)):
				t.Errorf("sent %v, want %v", conn.Requests, tt.wantReq)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"swarm", "--help"}, {"swarm", "join-token", "--help"}} {
		res := clitest.Run(&clitest.Conn{}, nouns, args...)
		if res.Code != 0 || res.Stderr != "" {
			t.Fatalf("%v: exit %d, stderr %q", args, res.Code, res.Stderr)
		}
		clitest.Golden(t, "help-"+strings.Join(args[:len(args)-1], "-"), res.Stdout)
	}
}
