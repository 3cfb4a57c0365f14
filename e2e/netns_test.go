//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// netnsPrefix names the namespaces of the netns tests: a hub holding the
// bridge, and one namespace per host.
const netnsPrefix = "asw-e2e-"

// NewNetnsCluster returns a cluster whose nodes 1..hosts each run in their
// own network namespace, with a veth to a bridge in a hub namespace and the
// address 10.199.0.(10+i)/24: traffic between nodes crosses real links
// that a test can cut. Every address lives inside namespaces the test
// created; they are deleted when the test ends. Needs root and iproute2.
func NewNetnsCluster(t *testing.T, hosts int) *Cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netns hosts need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("netns hosts need iproute2 (ip)")
	}
	hub := netnsPrefix + "hub"
	var c *Cluster
	cleanup := func() {
		for i := 1; i <= hosts; i++ {
			_ = exec.Command("ip", "netns", "del", fmt.Sprintf("%sh%d", netnsPrefix, i)).Run()
		}
		_ = exec.Command("ip", "netns", "del", hub).Run()
		if c != nil {
			removeTaskNamespaces(c, hosts)
		}
	}
	cleanup() // leftovers of a run that was killed
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			cleanup()
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", hub)
	run("-n", hub, "link", "set", "lo", "up")
	run("-n", hub, "link", "add", "br0", "type", "bridge")
	run("-n", hub, "link", "set", "br0", "up")
	for i := 1; i <= hosts; i++ {
		ns := fmt.Sprintf("%sh%d", netnsPrefix, i)
		veth := fmt.Sprintf("veth%d", i)
		run("netns", "add", ns)
		run("-n", ns, "link", "set", "lo", "up")
		run("link", "add", veth, "netns", hub, "type", "veth", "peer", "name", "eth0", "netns", ns)
		run("-n", hub, "link", "set", veth, "master", "br0", "up")
		run("-n", ns, "addr", "add", fmt.Sprintf("10.199.0.%d/24", 10+i), "dev", "eth0")
		run("-n", ns, "link", "set", "eth0", "up")
	}
	c = newCluster(t, 240)
	c.netns = netnsPrefix + "h"
	// Registered after NewCluster's cleanup, so it runs before it: the
	// processes die with their namespaces either way.
	t.Cleanup(cleanup)
	return c
}

// removeTaskNamespaces removes the network namespaces of the overlay tasks
// of the cluster's swarmd, killed by the test before they could: swarmd
// names them "as-" and 12 characters of the task ID, and keeps a
// resolv.conf per task in its data directory.
func removeTaskNamespaces(c *Cluster, hosts int) {
	for i := 1; i <= hosts; i++ {
		files, _ := filepath.Glob(filepath.Join(c.Node(i).DataDir, "tasks", "*.resolv.conf"))
		for _, f := range files {
			id := strings.TrimSuffix(filepath.Base(f), ".resolv.conf")
			_ = exec.Command("ip", "netns", "del", "as-"+id[:min(12, len(id))]).Run()
		}
	}
}

// setLink brings host i's link to the bridge down or up: a network cut.
func setLink(t *testing.T, i int, up bool) {
	t.Helper()
	state := "down"
	if up {
		state = "up"
	}
	if out, err := exec.Command("ip", "-n", netnsPrefix+"hub", "link", "set", fmt.Sprintf("veth%d", i), state).CombinedOutput(); err != nil {
		t.Fatalf("link %d %s: %v: %s", i, state, err, out)
	}
}

// TestNetnsFormation forms a swarm of three hosts in their own network
// namespaces (three managers, so that one may be cut off from the others),
// then cuts one host off the bridge and heals it.
func TestNetnsFormation(t *testing.T) {
	c := NewNetnsCluster(t, 3)
	s := formSwarm(t, c, []int{1, 2, 3}, nil)
	for i := 1; i <= 3; i++ {
		rows := c.MustNodes(i)
		if err := checkNodes(rows, s.allReady()); err != nil {
			t.Fatalf("node ls on host %d: %v", i, err)
		}
		if _, err := leaderRow(rows); err != nil {
			t.Fatalf("node ls on host %d: %v", i, err)
		}
	}

	// Cut host 3 off: the majority side marks it Down and keeps writing;
	// host 3 alone cannot write and says so.
	setLink(t, 3, false)
	Eventually(t, 5*time.Second, func() error {
		rows, err := c.Nodes(1)
		if err != nil {
			return err
		}
		r, ok := rowOf(rows, "node-3")
		if !ok || r.Status != "Down" {
			return fmt.Errorf("node-3 not Down yet: %v", rows)
		}
		return nil
	})
	c.MustCtl(2, "node", "update", "--label-add", "cut=yes", "node-1")
	_, stderr, code := c.CtlWithin(15*time.Second, 3, "node", "update", "--label-add", "minority=yes", "node-1")
	if code == 0 || !strings.Contains(stderr, "does not have a leader") {
		t.Fatalf("write on the cut-off manager: exit %d, stderr %q; want a no-leader error", code, stderr)
	}

	// Heal: host 3 is Ready again and sees the majority's write.
	setLink(t, 3, true)
	Eventually(t, 10*time.Second, func() error {
		rows, err := c.Nodes(3)
		if err != nil {
			return err
		}
		return checkNodes(rows, s.allReady())
	})
	out := c.MustCtl(3, "node", "inspect", "--format", "{{json .Spec.Labels}}", "node-1")
	if !strings.Contains(out, `"cut":"yes"`) || strings.Contains(out, "minority") {
		t.Fatalf("labels of node-1 seen from host 3 after healing: %s", out)
	}
}
