package docker

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"

	"github.com/actorswarm/swarm/actors/task"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func TestContainerConfig(t *testing.T) {
	const id = "0123456789abcdefghijklmno"
	base := task.Spec{TaskID: id, ServiceID: "svc", ServiceName: "web", NodeID: "spec-node", Image: "web:1"}
	for _, tc := range []struct {
		name     string
		spec     func(s *task.Spec)
		cmd      []string
		env      []string
		hostname string
		labels   map[string]string
		cpus     int64
		memory   int64
	}{
		{
			name:     "defaults",
			spec:     func(*task.Spec) {},
			env:      []string{"HOSTNAME=0123456789ab"},
			hostname: "0123456789ab",
		},
		{
			name: "service settings",
			spec: func(s *task.Spec) {
				s.Args = []string{"--port", "8080"}
				s.Env = []string{"A=1", "PORT=1", "HOSTNAME=x", "A=2"}
				s.Hostname = "web-host"
				s.Port = 30001
				s.Labels = map[string]string{"team": "web", LabelTaskID: "spoofed"}
				s.Limits = &swarmv1.Resources{NanoCpus: 1_500_000_000, MemoryBytes: 1 << 30}
			},
			cmd:      []string{"--port", "8080"},
			env:      []string{"A=2", "PORT=30001", "HOSTNAME=web-host"},
			hostname: "web-host",
			labels:   map[string]string{"team": "web"},
			cpus:     1_500_000_000,
			memory:   1 << 30,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			tc.spec(&s)
			cfg, hc := containerConfig(s, "node-1")
			if cfg.Image != "web:1" || !slices.Equal(cfg.Cmd, tc.cmd) || len(cfg.Entrypoint) != 0 {
				t.Errorf("image %s entrypoint %q cmd %q, want web:1, the image's, %q", cfg.Image, cfg.Entrypoint, cfg.Cmd, tc.cmd)
			}
			if !slices.Equal(cfg.Env, tc.env) {
				t.Errorf("env %q, want %q", cfg.Env, tc.env)
			}
			if cfg.Hostname != tc.hostname {
				t.Errorf("hostname %q, want %q", cfg.Hostname, tc.hostname)
			}
			labels := map[string]string{LabelTaskID: id, LabelServiceID: "svc", LabelServiceName: "web", LabelNodeID: "node-1"}
			maps.Copy(labels, tc.labels)
			labels[LabelTaskID] = id
			if !maps.Equal(cfg.Labels, labels) {
				t.Errorf("labels %v, want %v", cfg.Labels, labels)
			}
			if hc.NetworkMode != "host" || hc.NanoCPUs != tc.cpus || hc.Memory != tc.memory {
				t.Errorf("network %s cpus %d memory %d, want host %d %d", hc.NetworkMode, hc.NanoCPUs, hc.Memory, tc.cpus, tc.memory)
			}
		})
	}
}

func TestNodeID(t *testing.T) {
	s := task.Spec{NodeID: "spec-node"}
	if got := (&Runtime{cfg: Config{NodeID: "runtime-node"}}).nodeID(s); got != "runtime-node" {
		t.Errorf("nodeID = %s, want the runtime's", got)
	}
	if got := (&Runtime{}).nodeID(s); got != "spec-node" {
		t.Errorf("nodeID without one configured = %s, want the spec's", got)
	}
}

func TestContainerName(t *testing.T) {
	if got := containerName(task.Spec{TaskID: "t1", Name: "web.1.t1"}); got != "web.1.t1" {
		t.Errorf("containerName = %s, want the task's name", got)
	}
	if got := containerName(task.Spec{TaskID: "t1"}); got != "t1" {
		t.Errorf("containerName without a name = %s, want the task ID", got)
	}
}

func TestAdoptable(t *testing.T) {
	c := func(id string, st container.ContainerState) container.Summary {
		return container.Summary{ID: id, State: st}
	}
	for _, tc := range []struct {
		name string
		list []container.Summary
		want string // "" for none
	}{
		{"none", nil, ""},
		{"never started", []container.Summary{c("a", container.StateCreated)}, ""},
		{"exited", []container.Summary{c("a", container.StateCreated), c("b", container.StateExited)}, "b"},
		{"running first", []container.Summary{c("a", container.StateExited), c("b", container.StateRunning)}, "b"},
		{"paused is live", []container.Summary{c("a", container.StateDead), c("b", container.StatePaused)}, "b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := adoptable(tc.list)
			if ok != (tc.want != "") || got.ID != tc.want {
				t.Errorf("adoptable = %s, %v, want %q", got.ID, ok, tc.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{LogLines: -1}).Validate(); err == nil {
		t.Error("Validate of LogLines -1: nil error")
	}
	if _, err := New(Config{LogLines: -1}); err == nil {
		t.Error("New with LogLines -1: nil error")
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("Validate of the zero Config: %v", err)
	}
}

// TestStartRefusesOverlay: a task on overlay networks whose interfaces
// cannot be moved into a container is refused, not run on the host's
// network.
func TestStartRefusesOverlay(t *testing.T) {
	r := &Runtime{ctx: context.Background()}
	_, err := r.Start(context.Background(), task.Spec{TaskID: "t1", NetNS: task.NetNS{Path: "/run/netns/as-t1"}})
	if err == nil || !strings.Contains(err.Error(), "cannot move a task's interfaces") {
		t.Fatalf("Start = %v", err)
	}
}

// TestContainerConfigOverlay: a task on overlay networks gets a container
// with no network and the networks' resolv.conf.
func TestContainerConfigOverlay(t *testing.T) {
	s := task.Spec{TaskID: "t1", Image: "img", NetNS: task.NetNS{Path: "/run/netns/as-t1", ResolvConf: "/d/tasks/t1.resolv.conf", Join: func(int) error { return nil }}}
	_, hc := containerConfig(s, "n1")
	if hc.NetworkMode != "none" || len(hc.Binds) != 1 || hc.Binds[0] != "/d/tasks/t1.resolv.conf:/etc/resolv.conf:ro" {
		t.Fatalf("network %s binds %v", hc.NetworkMode, hc.Binds)
	}
	s.NetNS = task.NetNS{}
	if _, hc := containerConfig(s, "n1"); hc.NetworkMode != "host" || len(hc.Binds) != 0 {
		t.Fatalf("without networks: network %s binds %v", hc.NetworkMode, hc.Binds)
	}
}
