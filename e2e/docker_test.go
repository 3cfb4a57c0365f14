//go:build linux

package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// needDocker skips the test unless a Docker engine answers, and builds the
// demo image from swarm-http (no registry is needed).
func needDocker(t *testing.T) {
	t.Helper()
	if err := exec.Command("docker", "info").Run(); err != nil {
		t.Skip("the docker runtime tests need a Docker engine (.ci/run starts dockerd): docker info failed")
	}
	script, err := filepath.Abs(filepath.Join("..", "scripts", "build-http-image.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", script).CombinedOutput(); err != nil {
		t.Fatalf("build the actorswarm/http image: %v\n%s", err, out)
	}
}

// containersOf lists the IDs of a service's running containers.
func containersOf(t *testing.T, service string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-q", "--no-trunc", "--filter", "label=com.actorswarm.service.name="+service).Output()
	if err != nil {
		t.Fatalf("docker ps: %v", err)
	}
	ids := strings.Fields(string(out))
	sort.Strings(ids)
	return ids
}

// TestDockerRuntime runs a service as Docker containers: create, scale,
// a killed container replaced, and a restarted swarmd that adopts its
// containers instead of restarting them.
func TestDockerRuntime(t *testing.T) {
	needDocker(t)
	c := NewCluster(t, 150)
	formSwarm(t, c, []int{1}, []int{2})
	t.Cleanup(func() {
		// The nodes go first: a live swarm would replace what is removed.
		for i := 1; i <= 2; i++ {
			if c.Running(i) {
				c.Kill(i)
			}
		}
		ids := containersOf(t, "dweb")
		if len(ids) > 0 {
			_ = exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
		}
	})

	c.MustCtl(1, "service", "create", "-d", "--name", "dweb", "--runtime", "docker", "--replicas", "2", "actorswarm/http:latest")
	waitRunning(t, c, 1, "dweb", 2, 30*time.Second)
	c.MustCtl(1, "service", "scale", "-d", "dweb=3")
	waitRunning(t, c, 1, "dweb", 3, 30*time.Second)
	if ids := containersOf(t, "dweb"); len(ids) != 3 {
		t.Fatalf("%d containers for 3 tasks: %v", len(ids), ids)
	}

	// A container killed behind the swarm's back is replaced.
	victim := containersOf(t, "dweb")[0]
	if out, err := exec.Command("docker", "kill", victim).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v: %s", err, out)
	}
	Eventually(t, 30*time.Second, func() error {
		out := c.MustCtl(1, "service", "ps", "dweb")
		rows, err := parseTasks(out)
		if err != nil {
			return err
		}
		if len(running(rows)) != 3 || !strings.Contains(out, "Failed") {
			return fmt.Errorf("killed container not replaced yet:\n%s", out)
		}
		ids := containersOf(t, "dweb")
		for _, id := range ids {
			if id == victim {
				return fmt.Errorf("killed container %s still listed", victim)
			}
		}
		// The swarm and the engine agree: three tasks meant to run, three
		// containers running (the replacement's container may start
		// after ps shows it running, a late report may end a task).
		desired := strings.Fields(c.MustCtl(1, "service", "ps", "-q", "--filter", "desired-state=running", "dweb"))
		if len(ids) != 3 || len(desired) != 3 {
			return fmt.Errorf("%d containers running, %d tasks meant to run, want 3 each", len(ids), len(desired))
		}
		return nil
	})

	// swarmd restarts: its containers are adopted, not restarted.
	before := containersOf(t, "dweb")
	tasksBefore := c.MustCtl(1, "service", "ps", "-q", "--filter", "desired-state=running", "dweb")
	c.Stop(1)
	c.Stop(2)
	c.Restart(1)
	c.Restart(2)
	Eventually(t, 15*time.Second, func() error {
		if err := checkNodes(c.MustNodes(1), map[string]string{"node-1": "Ready manager", "node-2": "Ready worker"}); err != nil {
			return err
		}
		rows, err := parseTasks(c.MustCtl(1, "service", "ps", "dweb"))
		if err != nil {
			return err
		}
		if len(running(rows)) != 3 {
			return fmt.Errorf("%d running tasks after the restart", len(running(rows)))
		}
		return nil
	})
	// Give a wrong adoption the time to show.
	time.Sleep(2 * time.Second)
	if after := containersOf(t, "dweb"); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("containers changed across the swarmd restart:\nbefore %v\nafter  %v", before, after)
	}
	if tasksAfter := c.MustCtl(1, "service", "ps", "-q", "--filter", "desired-state=running", "dweb"); tasksAfter != tasksBefore {
		t.Errorf("tasks changed across the swarmd restart:\nbefore %s\nafter  %s", tasksBefore, tasksAfter)
	}
	if t.Failed() {
		t.Logf("service ps:\n%s", c.MustCtl(1, "service", "ps", "--no-trunc", "dweb"))
	}
}
