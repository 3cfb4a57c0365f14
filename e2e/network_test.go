//go:build linux

package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestNetworks walks `network create|ls|inspect|rm` against a real swarm:
// subnets and VNIs allocated in order, a subnet asked for, overlaps and
// unknown networks refused, a network in use kept until its service goes.
func TestNetworks(t *testing.T) {
	c := NewCluster(t, 230)
	formSwarm(t, c, []int{1}, []int{2})

	id := strings.TrimSpace(c.MustCtl(2, "network", "create", "-d", "overlay", "skynet"))
	if len(id) != 25 {
		t.Fatalf("network create printed %q, want the network ID", id)
	}
	c.MustCtl(1, "network", "create", "--subnet", "192.168.77.0/24", "--gateway", "192.168.77.254", "--label", "tier=db", "backend")
	out := c.MustCtl(1, "network", "ls")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 3 || lines[0] != "NETWORK ID     NAME      DRIVER    SCOPE" ||
		!strings.HasSuffix(lines[1], "   backend   overlay   swarm") || lines[2] != id[:12]+"   skynet    overlay   swarm" {
		t.Errorf("network ls:\n%s", out)
	}

	var got []struct {
		Name   string
		ID     string `json:"Id"`
		Driver string
		IPAM   struct {
			Config []struct{ Subnet, Gateway string }
		}
		Options map[string]string
		Labels  map[string]string
	}
	if err := json.Unmarshal([]byte(c.MustCtl(2, "network", "inspect", "skynet", "backend")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != id || got[0].IPAM.Config[0].Subnet != "10.0.0.0/24" || got[0].IPAM.Config[0].Gateway != "10.0.0.1" ||
		got[0].Options["com.docker.network.driver.overlay.vxlanid_list"] != "4097" {
		t.Errorf("inspect skynet: %+v", got)
	}
	if got[1].IPAM.Config[0].Subnet != "192.168.77.0/24" || got[1].IPAM.Config[0].Gateway != "192.168.77.254" || got[1].Labels["tier"] != "db" ||
		got[1].Options["com.docker.network.driver.overlay.vxlanid_list"] != "4098" {
		t.Errorf("inspect backend: %+v", got[1])
	}

	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"network", "create", "--subnet", "192.168.77.128/25", "x"}, "Pool overlaps with other one on this address space"},
		{[]string{"network", "create", "skynet"}, "network with name skynet already exists"},
		{[]string{"network", "create", "-d", "bridge", "x"}, `network driver "bridge" is not supported`},
		{[]string{"network", "create", "--subnet", "10.1.0.0/30", "x"}, "is too small"},
		{[]string{"network", "inspect", "nope"}, "No such network: nope"},
		{[]string{"service", "create", "-d", "--name", "lost", "--network", "nope", "/bin/sleep", "60"}, "network nope not found"},
	} {
		_, errOut, code := c.Ctl(1, bad.args...)
		if code != 1 || !strings.Contains(errOut, bad.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", cmdline(bad.args), code, errOut, bad.want)
		}
	}
	if out := c.MustCtl(1, "service", "ls", "-q"); out != "" {
		t.Errorf("a refused service create left a service: %q", out)
	}

	// No replica: loopback hosts share this machine's network stack, where
	// overlay tasks do not belong (TestNetnsOverlay runs them). Without
	// root no node can attach tasks to networks, and the service is
	// refused.
	if os.Geteuid() != 0 {
		_, errOut, code := c.Ctl(1, "service", "create", "-d", "--name", "http", "--network", "skynet", "/bin/sleep", "600")
		if code != 1 || !strings.Contains(errOut, "no node of the swarm can attach tasks to overlay networks") {
			t.Fatalf("service on a network with no capable node: exit %d, %q", code, errOut)
		}
		return
	}
	c.MustCtl(1, "service", "create", "-d", "--name", "http", "--network", "skynet", "--replicas", "0", "/bin/sleep", "600")
	_, errOut, code := c.Ctl(2, "network", "rm", "skynet")
	if code != 1 || !strings.Contains(errOut, "network skynet is in use by service http") {
		t.Errorf("network rm of a network in use: exit %d, %q", code, errOut)
	}
	c.MustCtl(1, "service", "rm", "http")
	Eventually(t, 5*time.Second, func() error {
		_, errOut, code := c.Ctl(2, "network", "rm", "skynet", "backend")
		if code != 0 {
			return oneLineError("", errOut, code)
		}
		return nil
	})
	if out := c.MustCtl(1, "network", "ls", "-q"); out != "" {
		t.Errorf("networks left after rm: %q", out)
	}
}
