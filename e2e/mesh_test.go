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

// clientLoop sends requests round the given addresses, one connection
// each, until stop is closed, and counts them and the failures.
type clientLoop struct {
	stop     chan struct{}
	done     chan struct{}
	ok, fail int
	errs     []string
}

func startClientLoop(addrs []string) *clientLoop {
	l := &clientLoop{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for k := 0; ; k++ {
			select {
			case <-l.stop:
				return
			default:
			}
			body, err := get(addrs[k%len(addrs)])
			if err == nil && !strings.Contains(body, "processed by host") {
				err = fmt.Errorf("answered %q", body)
			}
			if err != nil {
				l.fail++
				if len(l.errs) < 10 {
					l.errs = append(l.errs, fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), addrs[k%len(addrs)], err))
				}
				continue
			}
			l.ok++
		}
	}()
	return l
}

func (l *clientLoop) finish() {
	close(l.stop)
	<-l.done
}

// TestRoutingMeshNoFailedRequests scales a published service 2→5→2 and
// updates it (rolling, one task at a time) while a client sends requests
// to every node: not one request may fail.
func TestRoutingMeshNoFailedRequests(t *testing.T) {
	c := NewCluster(t, 210)
	formSwarm(t, c, []int{1}, []int{2, 3})
	httpBin := filepath.Join(c.bin.dir, "swarm-http")
	c.MustCtl(1, "service", "create", "-d", "--name", "web", "--replicas", "2", "-p", "18210:80", httpBin)
	waitRunning(t, c, 1, "web", 2, 10*time.Second)
	var addrs []string
	for i := 1; i <= 3; i++ {
		addrs = append(addrs, c.Node(i).IP+":18210")
	}
	Eventually(t, 5*time.Second, func() error {
		for _, a := range addrs {
			if _, err := get(a); err != nil {
				return err
			}
		}
		return nil
	})

	loop := startClientLoop(addrs)
	step := func(what string) { t.Logf("%s %s", time.Now().Format("15:04:05.000"), what) }
	step("scale to 5")
	c.MustCtl(1, "service", "scale", "-d", "web=5")
	waitRunning(t, c, 1, "web", 5, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	step("scale to 2")
	c.MustCtl(1, "service", "scale", "-d", "web=2")
	waitRunning(t, c, 1, "web", 2, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	step("update")
	c.MustCtl(1, "service", "update", "--env-add", "COLOUR=blue", "--update-monitor", "1s", "web")
	time.Sleep(500 * time.Millisecond)
	step("done")
	loop.finish()

	t.Logf("%d requests answered, %d failed during scale 2→5→2 and a rolling update", loop.ok, loop.fail)
	if loop.fail > 0 {
		t.Errorf("%d of %d requests failed: %s", loop.fail, loop.ok+loop.fail, strings.Join(loop.errs, "; "))
	}
	if loop.ok < 50 {
		t.Errorf("only %d requests answered: the loop did not run", loop.ok)
	}
}
