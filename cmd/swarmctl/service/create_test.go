package service

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// createdSpec is the spec `create -d local/busybox:2` sends, written out
// here rather than taken from defaultSpec, then changed by edit.
func createdSpec(edit func(s *swarmv1.ServiceSpec)) *swarmv1.ServiceSpec {
	update := func() *swarmv1.UpdateConfig {
		return &swarmv1.UpdateConfig{Parallelism: 1, FailureAction: swarmv1.FailureAction_FAILURE_ACTION_PAUSE, MonitorNano: 5e9, Order: swarmv1.UpdateOrder_UPDATE_ORDER_STOP_FIRST}
	}
	spec := &swarmv1.ServiceSpec{
		Mode:     swarmv1.ServiceMode_SERVICE_MODE_REPLICATED,
		Replicas: 1,
		Task: &swarmv1.TaskSpec{
			Image:         "local/busybox:2",
			Runtime:       "process",
			Restart:       &swarmv1.RestartPolicy{Condition: swarmv1.RestartCondition_RESTART_CONDITION_ANY, DelayNano: 5e9},
			StopGraceNano: 10e9,
		},
		Update:   update(),
		Rollback: update(),
	}
	if edit != nil {
		edit(spec)
	}
	return spec
}

// sentSpec runs `service create -d ARGS...` and returns the spec sent.
func sentSpec(t *testing.T, args ...string) (*swarmv1.ServiceSpec, clitest.Result) {
	t.Helper()
	conn := newDaemon().conn()
	res := clitest.Run(conn, nouns, append([]string{"service", "create", "-d"}, args...)...)
	for _, req := range conn.Requests {
		if c := req.GetServiceCreate(); c != nil {
			return c.GetSpec(), res
		}
	}
	return nil, res
}

func TestCreateFlags(t *testing.T) {
	const image = "local/busybox:2"
	tcp, udp := swarmv1.Protocol_PROTOCOL_TCP, swarmv1.Protocol_PROTOCOL_UDP
	ingress, host := swarmv1.PublishMode_PUBLISH_MODE_INGRESS, swarmv1.PublishMode_PUBLISH_MODE_HOST
	tests := []struct {
		name string
		args []string
		edit func(s *swarmv1.ServiceSpec)
	}{
		{"defaults", []string{image}, nil},
		{"name and replicas", []string{"--name", "http", "--replicas", "3", image}, func(s *swarmv1.ServiceSpec) {
			s.Name, s.Replicas = "http", 3
		}},
		{"command", []string{image, "sh", "-c", "echo ok"}, func(s *swarmv1.ServiceSpec) { s.Task.Args = []string{"sh", "-c", "echo ok"} }},
		{"flags after the image are the command's", []string{image, "httpd", "-p", "8080"}, func(s *swarmv1.ServiceSpec) {
			s.Task.Args = []string{"httpd", "-p", "8080"}
		}},
		{"global", []string{"--mode", "global", image}, func(s *swarmv1.ServiceSpec) {
			s.Mode, s.Replicas = swarmv1.ServiceMode_SERVICE_MODE_GLOBAL, 0
		}},
		{"publish short", []string{"-p", "8080:80", "-p", "443", "--publish", "5353:53/udp", image}, func(s *swarmv1.ServiceSpec) {
			s.Ports = []*swarmv1.PortConfig{
				{Protocol: tcp, TargetPort: 80, PublishedPort: 8080, Mode: ingress},
				{Protocol: tcp, TargetPort: 443, Mode: ingress},
				{Protocol: udp, TargetPort: 53, PublishedPort: 5353, Mode: ingress},
			}
		}},
		{"publish long", []string{"-p", "mode=host,target=80,published=8080,protocol=udp", "-p", "target=443,lb=leastconn,proxy-protocol=v2", image}, func(s *swarmv1.ServiceSpec) {
			s.Ports = []*swarmv1.PortConfig{
				{Protocol: udp, TargetPort: 80, PublishedPort: 8080, Mode: host},
				{Protocol: tcp, TargetPort: 443, Mode: ingress, Lb: "leastconn", ProxyProtocol: true},
			}
		}},
		{"networks", []string{"--network", "skynet", "--network", "backend", image}, func(s *swarmv1.ServiceSpec) { s.Networks = []string{"skynet", "backend"} }},
		{"env", []string{"-e", "A=1", "--env", "SWARMCTL_TEST_UNSET_VARIABLE", "-e", "C=x=y", image}, func(s *swarmv1.ServiceSpec) {
			s.Task.Env = []string{"A=1", "SWARMCTL_TEST_UNSET_VARIABLE", "C=x=y"}
		}},
		{"labels", []string{"--label", "tier=front", "-l", "canary", "--container-label", "com.example=1", image}, func(s *swarmv1.ServiceSpec) {
			s.Labels = map[string]string{"tier": "front", "canary": ""}
			s.Task.Labels = map[string]string{"com.example": "1"}
		}},
		{"hostname", []string{"--hostname", "web-1", image}, func(s *swarmv1.ServiceSpec) { s.Task.Hostname = "web-1" }},
		{"placement", []string{"--constraint", "node.role == manager", "--constraint", "node.labels.zone!=c", "--placement-pref", "spread=node.labels.rack", "--replicas-max-per-node", "2", image}, func(s *swarmv1.ServiceSpec) {
			s.Task.Placement = &swarmv1.Placement{Constraints: []string{"node.role==manager", "node.labels.zone!=c"}, SpreadLabels: []string{"rack"}, MaxReplicasPerNode: 2}
		}},
		{"every constraint key", []string{"--constraint", "node.id==k3o", "--constraint", "node.hostname!=vm", "--constraint", "node.platform.os==linux", "--constraint", "node.platform.arch==x86_64", image}, func(s *swarmv1.ServiceSpec) {
			s.Task.Placement = &swarmv1.Placement{Constraints: []string{"node.id==k3o", "node.hostname!=vm", "node.platform.os==linux", "node.platform.arch==x86_64"}}
		}},
		{"resources", []string{"--reserve-cpu", "0.5", "--reserve-memory", "512m", "--limit-cpu", "2", "--limit-memory", "1g", image}, func(s *swarmv1.ServiceSpec) {
			s.Task.Reservations = &swarmv1.Resources{NanoCpus: 500_000_000, MemoryBytes: 512 << 20}
			s.Task.Limits = &swarmv1.Resources{NanoCpus: 2_000_000_000, MemoryBytes: 1 << 30}
		}},
		{"memory in bytes", []string{"--limit-memory", "1048576", image}, func(s *swarmv1.ServiceSpec) {
			s.Task.Limits = &swarmv1.Resources{MemoryBytes: 1 << 20}
		}},
		{"restart", []string{"--restart-condition", "on-failure", "--restart-delay", "3s", "--restart-max-attempts", "4", "--restart-window", "1m", image}, func(s *swarmv1.ServiceSpec) {
			s.Task.Restart = &swarmv1.RestartPolicy{Condition: swarmv1.RestartCondition_RESTART_CONDITION_ON_FAILURE, DelayNano: 3e9, MaxAttempts: 4, WindowNano: int64(time.Minute)}
		}},
		{"restart none", []string{"--restart-condition", "none", image}, func(s *swarmv1.ServiceSpec) {
			s.Task.Restart.Condition = swarmv1.RestartCondition_RESTART_CONDITION_NONE
		}},
		{"update", []string{"--update-parallelism", "2", "--update-delay", "10s", "--update-failure-action", "rollback", "--update-monitor", "30s", "--update-max-failure-ratio", "0.25", "--update-order", "start-first", image}, func(s *swarmv1.ServiceSpec) {
			s.Update = &swarmv1.UpdateConfig{Parallelism: 2, DelayNano: 10e9, FailureAction: swarmv1.FailureAction_FAILURE_ACTION_ROLLBACK, MonitorNano: 30e9, MaxFailureRatio: 0.25, Order: swarmv1.UpdateOrder_UPDATE_ORDER_START_FIRST}
		}},
		{"update all at once", []string{"--update-parallelism", "0", "--update-failure-action", "continue", image}, func(s *swarmv1.ServiceSpec) {
			s.Update.Parallelism, s.Update.FailureAction = 0, swarmv1.FailureAction_FAILURE_ACTION_CONTINUE
		}},
		{"rollback", []string{"--rollback-parallelism", "3", "--rollback-delay", "1s", "--rollback-failure-action", "continue", "--rollback-monitor", "2s", "--rollback-max-failure-ratio", "0.5", "--rollback-order", "start-first", image}, func(s *swarmv1.ServiceSpec) {
			s.Rollback = &swarmv1.UpdateConfig{Parallelism: 3, DelayNano: 1e9, FailureAction: swarmv1.FailureAction_FAILURE_ACTION_CONTINUE, MonitorNano: 2e9, MaxFailureRatio: 0.5, Order: swarmv1.UpdateOrder_UPDATE_ORDER_START_FIRST}
		}},
		{"stop grace period", []string{"--stop-grace-period", "30s", image}, func(s *swarmv1.ServiceSpec) { s.Task.StopGraceNano = 30e9 }},
		{"health", []string{"--health-cmd", "wget -q -O- localhost:8080", "--health-interval", "10s", "--health-timeout", "2s", "--health-retries", "3", "--health-start-period", "1m", image}, func(s *swarmv1.ServiceSpec) {
			s.Task.Health = &swarmv1.HealthCheck{Test: []string{"CMD-SHELL", "wget -q -O- localhost:8080"}, IntervalNano: 10e9, TimeoutNano: 2e9, Retries: 3, StartPeriodNano: int64(time.Minute)}
		}},
		{"no healthcheck", []string{"--no-healthcheck", image}, func(s *swarmv1.ServiceSpec) { s.Task.Health = &swarmv1.HealthCheck{Test: []string{"NONE"}} }},
		{"runtime", []string{"--runtime", "docker", image}, func(s *swarmv1.ServiceSpec) { s.Task.Runtime = "docker" }},
		{"runtime sim", []string{"--runtime=sim", image}, func(s *swarmv1.ServiceSpec) { s.Task.Runtime = "sim" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, res := sentSpec(t, tt.args...)
			if res.Code != 0 {
				t.Fatalf("exit %d: %s", res.Code, res.Stderr)
			}
			if want := createdSpec(tt.edit); !proto.Equal(got, want) {
				t.Errorf("sent:\n%s\nwant:\n%s", prototext.Format(got), prototext.Format(want))
			}
		})
	}
}

func TestCreateFlagsTakeEnvironment(t *testing.T) {
	t.Setenv("SWARMCTL_TEST_TOKEN", "s3cret")
	got, res := sentSpec(t, "-e", "SWARMCTL_TEST_TOKEN", "local/busybox:2")
	if res.Code != 0 || !slices.Equal(got.GetTask().GetEnv(), []string{"SWARMCTL_TEST_TOKEN=s3cret"}) {
		t.Errorf("exit %d (%s), env %q", res.Code, res.Stderr, got.GetTask().GetEnv())
	}
}

func TestCreateRejects(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--replicas", "-1"}, `invalid argument "-1" for "--replicas" flag: invalid replicas value -1: want a whole number`},
		{[]string{"--replicas", "two"}, "invalid replicas value two"},
		{[]string{"--mode", "job"}, "unknown mode: job, only replicated and global supported"},
		{[]string{"--mode", "global", "--replicas", "2"}, "replicas can only be used with replicated mode"},
		{[]string{"--mode", "global", "--replicas-max-per-node", "2"}, "replicas-max-per-node can only be used with replicated mode"},
		{[]string{"-p", "0:80"}, `invalid published port "0": ports are 1-65535`},
		{[]string{"-p", "70000"}, `invalid target port "70000": ports are 1-65535`},
		{[]string{"-p", "80/sctp"}, "invalid protocol value sctp: want tcp or udp"},
		{[]string{"-p", "127.0.0.1:80:80"}, "hostip is not supported"},
		{[]string{"-p", "mode=mesh,target=80"}, "invalid publish mode value mesh: want ingress or host"},
		{[]string{"-p", "target=80,color=red"}, "invalid field key color"},
		{[]string{"-p", "target=80,published"}, "invalid field published"},
		{[]string{"-p", "published=8080"}, `missing mandatory field "target"`},
		{[]string{"-p", "target=80,published=0"}, `invalid published port "0": ports are 1-65535`},
		{[]string{"-p", "target=80,protocol=sctp"}, "invalid protocol value sctp"},
		{[]string{"-p", "target=80,lb=random"}, "invalid lb value random: want roundrobin, leastconn, p2c"},
		{[]string{"-p", "target=80,proxy-protocol=v1"}, "invalid proxy-protocol value v1: only v2 is supported"},
		{[]string{"--constraint", "node.role=manager"}, `invalid constraint "node.role=manager": want KEY==VALUE or KEY!=VALUE`},
		{[]string{"--constraint", "node.role=="}, `invalid constraint "node.role==": want KEY==VALUE or KEY!=VALUE`},
		{[]string{"--constraint", "engine.labels.ssd==true"}, `invalid constraint "engine.labels.ssd==true": unknown key engine.labels.ssd`},
		{[]string{"--constraint", "node.labels.==x"}, "unknown key node.labels."},
		{[]string{"--placement-pref", "spread=zone"}, `invalid placement preference "spread=zone": want spread=node.labels.<label>`},
		{[]string{"--placement-pref", "pack=node.labels.zone"}, "unsupported placement preference pack (only spread is supported)"},
		{[]string{"--reserve-cpu", "half"}, "failed to parse half as a rational number"},
		{[]string{"--limit-cpu", "0.0000000001"}, "value is too precise"},
		{[]string{"--limit-cpu", "-1"}, "invalid CPU value -1: must not be negative"},
		{[]string{"--limit-memory", "12x"}, "invalid size: '12x'"},
		{[]string{"--restart-condition", "sometimes"}, `invalid restart condition "sometimes": want none, on-failure or any`},
		{[]string{"--restart-delay", "soon"}, `invalid argument "soon" for "--restart-delay" flag`},
		{[]string{"--update-failure-action", "explode"}, `invalid update failure action "explode": want pause, continue or rollback`},
		{[]string{"--rollback-failure-action", "rollback"}, `invalid rollback failure action "rollback": want pause or continue`},
		{[]string{"--update-order", "random"}, `invalid update order "random": want stop-first or start-first`},
		{[]string{"--update-max-failure-ratio", "2"}, "invalid ratio 2: want a number from 0 to 1"},
		{[]string{"--stop-grace-period", "-1s"}, "duration cannot be negative"},
		{[]string{"--health-retries", "-1"}, "invalid --health-retries -1: must not be negative"},
		{[]string{"--no-healthcheck", "--health-cmd", "true"}, "--no-healthcheck conflicts with --health-* options"},
		{[]string{"--runtime", "vm"}, `invalid runtime "vm": want process, docker, sim`},
		{[]string{"-e", "=x"}, "invalid environment variable: =x"},
		{[]string{"--label", "=x"}, `invalid label "=x": want KEY=VALUE or KEY`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			spec, res := sentSpec(t, append(tt.args, "local/busybox:2")...)
			if res.Code != 1 || !strings.Contains(res.Stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want it to contain %q", res.Code, res.Stderr, tt.want)
			}
			if spec != nil {
				t.Errorf("sent a spec: %v", spec)
			}
		})
	}
}

func TestCreateOutput(t *testing.T) {
	res := clitest.Run(newDaemon().conn(), nouns, "service", "create", "-d", "--name", "http", "local/busybox:2")
	if res.Code != 0 || res.Stdout != createID+"\n" || res.Stderr != "no suitable node yet offers runtime sim\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	res = clitest.Run(newDaemon().conn(), nouns, "service", "create", "--name", "http", "--replicas", "2", "local/busybox:2")
	if res.Code != 0 {
		t.Fatalf("exit %d: %s", res.Code, res.Stderr)
	}
	clitest.Golden(t, "create-progress", res.Stdout)
	res = clitest.Run(newDaemon().conn(), nouns, "service", "create", "-q", "--name", "http", "local/busybox:2")
	if res.Code != 0 || res.Stdout != createID+"\n" {
		t.Errorf("quiet: exit %d, stdout %q", res.Code, res.Stdout)
	}
	res = clitest.Run(newDaemon().conn(), nouns, "service", "create")
	if res.Code != 1 || !strings.HasPrefix(res.Stderr, "\"swarmctl service create\" requires at least 1 argument.\nSee 'swarmctl service create --help'.\n\nUsage:  swarmctl service create [OPTIONS] IMAGE [COMMAND] [ARG...]") {
		t.Errorf("no image: exit %d, stderr %q", res.Code, res.Stderr)
	}
}
