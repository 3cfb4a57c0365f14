//go:build linux

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// get fetches the page of a published port on one node, without keeping
// connections alive (each request is a new connection through the mesh).
func get(addr string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestRoutingMesh publishes a port and sends requests to every node's
// address: every request is answered, by both tasks from every node; when
// a node that runs a task dies, the others answer again within seconds.
func TestRoutingMesh(t *testing.T) {
	c := NewCluster(t, 190)
	formSwarm(t, c, []int{1}, []int{2, 3})
	httpBin := filepath.Join(c.bin.dir, "swarm-http")
	c.MustCtl(1, "service", "create", "-d", "--name", "web", "--replicas", "2", "--replicas-max-per-node", "1",
		"--constraint", "node.role==worker", "-p", "18190:80", httpBin)
	rows := waitRunning(t, c, 1, "web", 2, 10*time.Second)
	addr := func(i int) string { return c.Node(i).IP + ":18190" }
	Eventually(t, 5*time.Second, func() error {
		for i := 1; i <= 3; i++ {
			seen := map[string]bool{}
			for k := 0; k < 20; k++ {
				body, err := get(addr(i))
				if err != nil {
					return fmt.Errorf("node-%d request %d: %v", i, k, err)
				}
				seen[body] = true
			}
			if len(seen) != 2 {
				return fmt.Errorf("node-%d answered by %d tasks, want both: %v", i, len(seen), seen)
			}
		}
		return nil
	})
	for _, r := range rows {
		if r.Node != "node-2" && r.Node != "node-3" {
			t.Fatalf("task on %s despite the worker constraint", r.Node)
		}
	}

	// node-3 dies with its task: the survivors answer again, from the task
	// that lives and the replacement.
	start := time.Now()
	c.Kill(3)
	Eventually(t, 5*time.Second, func() error {
		for _, i := range []int{1, 2} {
			for k := 0; k < 5; k++ {
				body, err := get(addr(i))
				if err != nil {
					return err
				}
				if !strings.Contains(body, "processed by host") {
					return fmt.Errorf("node-%d answered %q", i, body)
				}
			}
		}
		return nil
	})
	t.Logf("requests through the survivors succeed again %s after the kill", time.Since(start).Round(time.Millisecond))
}
