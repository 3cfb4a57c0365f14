package service

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// sentUpdate runs `service update -d ARGS... SERVICE` against svc and
// returns the update request sent.
func sentUpdate(t *testing.T, svc *swarmv1.Service, args ...string) (*swarmv1.ServiceUpdateRequest, clitest.Result, *clitest.Conn) {
	t.Helper()
	conn := newDaemon(svc).conn()
	res := clitest.Run(conn, nouns, append(append([]string{"service", "update", "-d"}, args...), svc.GetSpec().GetName())...)
	for _, req := range conn.Requests {
		if u := req.GetServiceUpdate(); u != nil {
			return u, res, conn
		}
	}
	return nil, res, conn
}

func TestUpdateFlags(t *testing.T) {
	tcp := swarmv1.Protocol_PROTOCOL_TCP
	ingress, host := swarmv1.PublishMode_PUBLISH_MODE_INGRESS, swarmv1.PublishMode_PUBLISH_MODE_HOST
	tests := []struct {
		name string
		args []string
		edit func(s *swarmv1.ServiceSpec)
	}{
		{"nothing", nil, func(*swarmv1.ServiceSpec) {}},
		{"image", []string{"--image", "nginx:1.26"}, func(s *swarmv1.ServiceSpec) { s.Task.Image = "nginx:1.26" }},
		{"args", []string{"--args", `sh -c 'echo "hi there"' \$HOME`}, func(s *swarmv1.ServiceSpec) {
			s.Task.Args = []string{"sh", "-c", `echo "hi there"`, "$HOME"}
		}},
		{"env", []string{"--env-add", "MODE=dev", "--env-add", "NEW=1", "--env-rm", "DEBUG"}, func(s *swarmv1.ServiceSpec) {
			s.Task.Env = []string{"MODE=dev", "NEW=1"}
		}},
		{"labels", []string{"--label-add", "tier=back", "--label-add", "owner=ops", "--label-rm", "canary", "--container-label-add", "c=1", "--container-label-rm", "none"}, func(s *swarmv1.ServiceSpec) {
			s.Labels = map[string]string{"tier": "back", "owner": "ops"}
			s.Task.Labels = map[string]string{"c": "1"}
		}},
		{"replicas", []string{"--replicas", "3"}, func(s *swarmv1.ServiceSpec) { s.Replicas = 3 }},
		{"resources keep what is not given", []string{"--reserve-cpu", "1", "--limit-memory", "2g"}, func(s *swarmv1.ServiceSpec) {
			s.Task.Reservations.NanoCpus = 1e9
			s.Task.Limits.MemoryBytes = 2 << 30
		}},
		{"constraints", []string{"--constraint-add", "node.labels.ssd==true", "--constraint-add", "node.role==worker", "--constraint-rm", "node.role==worker"}, func(s *swarmv1.ServiceSpec) {
			s.Task.Placement.Constraints = []string{"node.labels.ssd==true", "node.labels.zone!=c"}
		}},
		{"placement preferences", []string{"--placement-pref-add", "spread=node.labels.rack", "--placement-pref-rm", "spread=node.labels.zone", "--replicas-max-per-node", "0"}, func(s *swarmv1.ServiceSpec) {
			s.Task.Placement.SpreadLabels = []string{"rack"}
			s.Task.Placement.MaxReplicasPerNode = 0
		}},
		{"ports", []string{"--publish-add", "8443:443", "--publish-add", "8080:8080", "--publish-rm", "80", "--publish-rm", "mode=host,target=9000"}, func(s *swarmv1.ServiceSpec) {
			s.Ports = []*swarmv1.PortConfig{
				{TargetPort: 8080, PublishedPort: 8080, Mode: ingress},
				{TargetPort: 8081, PublishedPort: 8081, Mode: ingress},
				{Protocol: tcp, TargetPort: 443, PublishedPort: 8443, Mode: ingress},
				{Protocol: swarmv1.Protocol_PROTOCOL_UDP, TargetPort: 53, PublishedPort: 30001, Mode: ingress},
			}
		}},
		{"ports of another mode stay", []string{"--publish-rm", "9000"}, func(s *swarmv1.ServiceSpec) {
			s.Ports = []*swarmv1.PortConfig{
				{TargetPort: 80, PublishedPort: 80, Mode: ingress},
				{TargetPort: 8080, PublishedPort: 8080, Mode: ingress},
				{TargetPort: 8081, PublishedPort: 8081, Mode: ingress},
				{TargetPort: 9000, PublishedPort: 9000, Mode: host},
				{Protocol: swarmv1.Protocol_PROTOCOL_UDP, TargetPort: 53, PublishedPort: 30001, Mode: ingress},
			}
		}},
		{"networks", []string{"--network-add", "frontend", "--network-rm", "skynet"}, func(s *swarmv1.ServiceSpec) { s.Networks = []string{"backend", "frontend"} }},
		{"update config", []string{"--update-parallelism", "3", "--update-monitor", "1m", "--update-failure-action", "pause"}, func(s *swarmv1.ServiceSpec) {
			s.Update.Parallelism, s.Update.MonitorNano, s.Update.FailureAction = 3, int64(time.Minute), swarmv1.FailureAction_FAILURE_ACTION_PAUSE
		}},
		{"rollback config", []string{"--rollback-monitor", "10s", "--rollback-order", "start-first"}, func(s *swarmv1.ServiceSpec) {
			s.Rollback.MonitorNano, s.Rollback.Order = 10e9, swarmv1.UpdateOrder_UPDATE_ORDER_START_FIRST
		}},
		{"restart", []string{"--restart-condition", "none", "--restart-max-attempts", "2"}, func(s *swarmv1.ServiceSpec) {
			s.Task.Restart.Condition, s.Task.Restart.MaxAttempts = swarmv1.RestartCondition_RESTART_CONDITION_NONE, 2
		}},
		{"force", []string{"--force"}, func(s *swarmv1.ServiceSpec) { s.Task.ForceUpdate = 1 }},
		{"health", []string{"--health-cmd", "true", "--health-retries", "5"}, func(s *swarmv1.ServiceSpec) {
			s.Task.Health = &swarmv1.HealthCheck{Test: []string{"CMD-SHELL", "true"}, Retries: 5}
		}},
		{"no healthcheck", []string{"--no-healthcheck"}, func(s *swarmv1.ServiceSpec) { s.Task.Health = &swarmv1.HealthCheck{Test: []string{"NONE"}} }},
		{"task", []string{"--hostname", "web", "--stop-grace-period", "1m", "--runtime", "sim"}, func(s *swarmv1.ServiceSpec) {
			s.Task.Hostname, s.Task.StopGraceNano, s.Task.Runtime = "web", int64(time.Minute), "sim"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, res, _ := sentUpdate(t, webService(), tt.args...)
			if res.Code != 0 || req == nil {
				t.Fatalf("exit %d: %s", res.Code, res.Stderr)
			}
			if req.GetRef() != webID || req.GetVersion() != 7 {
				t.Errorf("ref %q version %d, want the ID and the version read", req.GetRef(), req.GetVersion())
			}
			want := webService().GetSpec()
			tt.edit(want)
			if !proto.Equal(req.GetSpec(), want) {
				t.Errorf("sent:\n%s\nwant:\n%s", prototext.Format(req.GetSpec()), prototext.Format(want))
			}
			if res.Stdout != "web\n" {
				t.Errorf("stdout %q", res.Stdout)
			}
		})
	}
}

func TestUpdateForceIncrements(t *testing.T) {
	svc := httpService()
	svc.Spec.Task.ForceUpdate = 4
	req, res, _ := sentUpdate(t, svc, "--force")
	if res.Code != 0 || req.GetSpec().GetTask().GetForceUpdate() != 5 {
		t.Errorf("exit %d (%s), force_update %d", res.Code, res.Stderr, req.GetSpec().GetTask().GetForceUpdate())
	}
}

func TestUpdateRejects(t *testing.T) {
	tests := []struct {
		svc  *swarmv1.Service
		args []string
		want string
	}{
		{agentService(), []string{"--replicas", "2"}, "replicas can only be used with replicated mode"},
		{httpService(), []string{"--rollback", "--image", "x"}, "other flags may not be combined with --rollback"},
		{httpService(), []string{"--args", `sh -c 'echo`}, "invalid command line: unterminated quote or escape"},
		{httpService(), []string{"--constraint-add", "node.rack==1"}, "unknown key node.rack"},
		{httpService(), []string{"--update-failure-action", "retry"}, `invalid update failure action "retry"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			req, res, _ := sentUpdate(t, tt.svc, tt.args...)
			if res.Code != 1 || !strings.Contains(res.Stderr, tt.want) || req != nil {
				t.Errorf("exit %d, stderr %q, sent %v; want %q", res.Code, res.Stderr, req, tt.want)
			}
		})
	}
	res := clitest.Run(newDaemon().conn(), nouns, "service", "update", "--image", "x", "nope")
	if res.Code != 1 || res.Stderr != "Error response from daemon: no such service: nope\n" {
		t.Errorf("unknown service: exit %d, stderr %q", res.Code, res.Stderr)
	}
}

func TestUpdateRollbackFlag(t *testing.T) {
	conn := newDaemon(httpService()).conn()
	res := clitest.Run(conn, nouns, "service", "update", "--rollback", "-d", "http")
	if res.Code != 0 || res.Stdout != "http\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	if len(conn.Requests) != 1 || conn.Requests[0].GetServiceRollback().GetRef() != "http" {
		t.Errorf("requests %v, want one rollback of http", conn.Requests)
	}
}

func TestUpdateProgress(t *testing.T) {
	conn := newDaemon(httpService()).conn()
	res := clitest.Run(conn, nouns, "service", "update", "--image", "local/busybox:3", "--update-monitor", "2s", "http")
	if res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	clitest.Golden(t, "update-progress", res.Stdout)
}
