//go:build linux

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// taskRow is one row of `service ps` / `node ps`.
type taskRow struct {
	ID, Name, Image, Node, Desired, Current, Error string
}

// parseTasks reads the table of `service ps` or `node ps` (docker's
// columns) by the header's column offsets.
func parseTasks(out string) ([]taskRow, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "ID") {
		return nil, fmt.Errorf("no task table in %q", out)
	}
	head := lines[0]
	cols := []string{"ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE", "ERROR", "PORTS"}
	offs := make([]int, len(cols))
	for i, c := range cols {
		offs[i] = strings.Index(head, c)
		if offs[i] < 0 {
			return nil, fmt.Errorf("column %s missing in %q", c, head)
		}
	}
	field := func(l string, i int) string {
		if offs[i] >= len(l) {
			return ""
		}
		end := len(l)
		if i+1 < len(offs) && offs[i+1] < end {
			end = offs[i+1]
		}
		return strings.TrimSpace(l[offs[i]:end])
	}
	var rows []taskRow
	for _, l := range lines[1:] {
		rows = append(rows, taskRow{field(l, 0), field(l, 1), field(l, 2), field(l, 3), field(l, 4), field(l, 5), field(l, 6)})
	}
	return rows, nil
}

// running returns the rows desired and currently Running.
func running(rows []taskRow) []taskRow {
	var out []taskRow
	for _, r := range rows {
		if r.Desired == "Running" && strings.HasPrefix(r.Current, "Running") {
			out = append(out, r)
		}
	}
	return out
}

// waitRunning waits until service svc has exactly n running tasks (seen
// through node i) and returns them.
func waitRunning(t *testing.T, c *Cluster, i int, svc string, n int, timeout time.Duration) []taskRow {
	t.Helper()
	var rows []taskRow
	Eventually(t, timeout, func() error {
		out, errOut, code := c.Ctl(i, "service", "ps", svc)
		if code != 0 {
			return fmt.Errorf("service ps: %s", errOut)
		}
		all, err := parseTasks(out)
		if err != nil {
			return err
		}
		rows = running(all)
		if len(rows) != n {
			return fmt.Errorf("%d running tasks, want %d:\n%s", len(rows), n, out)
		}
		return nil
	})
	return rows
}

func nodesOf(rows []taskRow) map[string]int {
	out := make(map[string]int)
	for _, r := range rows {
		out[r.Node]++
	}
	return out
}

// TestServiceQuickstart walks the Docker Swarm quickstart with the process
// runtime: create, ls, ps, inspect, node ps, scale up and down, rolling
// update, rollback, logs, rm.
func TestServiceQuickstart(t *testing.T) {
	c := NewCluster(t, 110)
	formSwarm(t, c, []int{1, 2, 3}, []int{4, 5})
	httpBin := filepath.Join(c.bin.dir, "swarm-http")

	id := strings.TrimSpace(c.MustCtl(4, "service", "create", "-d", "--name", "http", "--replicas", "2", httpBin))
	if len(id) != 25 {
		t.Fatalf("service create printed %q, want the 25-character service ID", id)
	}
	rows := waitRunning(t, c, 4, "http", 2, 10*time.Second)
	if len(nodesOf(rows)) != 2 {
		t.Errorf("2 replicas on %v: want them on 2 nodes", nodesOf(rows))
	}
	Eventually(t, 5*time.Second, func() error {
		out := c.MustCtl(1, "service", "ls")
		if !strings.Contains(out, "http") || !strings.Contains(out, "2/2") || !strings.Contains(out, id[:12]) {
			return fmt.Errorf("service ls:\n%s", out)
		}
		return nil
	})
	pretty := c.MustCtl(2, "service", "inspect", "--pretty", "http")
	for _, want := range []string{"ID:\t\t" + id, "Name:\t\thttp", "Replicas:\t2", "Image:\t\t" + httpBin} {
		if !strings.Contains(pretty, want) {
			t.Errorf("service inspect --pretty lacks %q:\n%s", want, pretty)
		}
	}
	nodeOut := c.MustCtl(4, "node", "ps", rows[0].Node)
	if !strings.Contains(nodeOut, rows[0].ID) {
		t.Errorf("node ps %s lacks task %s:\n%s", rows[0].Node, rows[0].ID, nodeOut)
	}

	out := c.MustCtl(5, "service", "scale", "-d", "http=5")
	if !strings.Contains(out, "http scaled to 5") {
		t.Errorf("service scale printed %q", out)
	}
	rows = waitRunning(t, c, 5, "http", 5, 10*time.Second)
	if len(nodesOf(rows)) != 5 {
		t.Errorf("5 replicas spread as %v: want one per node", nodesOf(rows))
	}
	c.MustCtl(5, "service", "scale", "-d", "http=2")
	waitRunning(t, c, 5, "http", 2, 10*time.Second)

	// A rolling update, then a rollback.
	c.MustCtl(1, "service", "update", "-d", "--env-add", "GREETING=hello", "http")
	Eventually(t, 15*time.Second, func() error {
		out := c.MustCtl(1, "service", "ps", "http")
		if !strings.Contains(out, ` \_ `) {
			return fmt.Errorf("no history rows after the update:\n%s", out)
		}
		rows, err := parseTasks(out)
		if err != nil {
			return err
		}
		if len(running(rows)) != 2 {
			return fmt.Errorf("update not done:\n%s", out)
		}
		return nil
	})
	if out := c.MustCtl(1, "service", "inspect", "http"); !strings.Contains(out, "GREETING=hello") {
		t.Fatalf("service inspect after the update lacks the env:\n%s", out)
	}
	c.MustCtl(2, "service", "rollback", "-d", "http")
	Eventually(t, 15*time.Second, func() error {
		out := c.MustCtl(2, "service", "inspect", "--pretty", "http")
		if strings.Contains(out, "GREETING=hello") {
			return fmt.Errorf("rollback not applied:\n%s", out)
		}
		return nil
	})
	waitRunning(t, c, 2, "http", 2, 15*time.Second)

	// swarm-http logs to stderr, and service logs keeps the streams apart
	// as docker does.
	stdout, stderr, code := c.Ctl(3, "service", "logs", "http")
	if logs := stdout + stderr; code != 0 || !strings.Contains(logs, "http.") || !strings.Contains(logs, "listening") {
		t.Errorf("service logs: exit %d:\n%s", code, logs)
	}

	c.MustCtl(4, "service", "rm", "http")
	Eventually(t, 5*time.Second, func() error {
		if out := c.MustCtl(4, "service", "ls"); strings.Contains(out, "http") {
			return fmt.Errorf("service ls after rm:\n%s", out)
		}
		for i := 1; i <= 5; i++ {
			if out := c.MustCtl(i, "node", "ps"); strings.Contains(out, "http.") {
				return fmt.Errorf("node ps on node %d after rm:\n%s", i, out)
			}
		}
		return nil
	})
}

// TestServiceBadInput checks that bad requests are refused with a clear
// error and change nothing.
func TestServiceBadInput(t *testing.T) {
	c := NewCluster(t, 120)
	formSwarm(t, c, []int{1}, []int{2})
	c.MustCtl(1, "service", "create", "-d", "--name", "keep", "--replicas", "1", "/bin/sleep", "600")
	waitRunning(t, c, 1, "keep", 1, 10*time.Second)
	before := c.MustCtl(1, "service", "ls")
	for _, args := range [][]string{
		{"service", "ps", "nope"},
		{"service", "inspect", "nope"},
		{"service", "scale", "nope=2"},
		{"service", "rm", "nope"},
		{"service", "create", "-d", "--name", "bad", "-p", "99999:80", "/bin/sleep", "1"},
		{"service", "create", "-d", "--name", "bad", "--replicas", "-1", "/bin/sleep", "1"},
		{"service", "create", "-d", "--name", "bad", "--constraint", "node.colour==blue", "/bin/sleep", "1"},
		{"service", "create", "-d", "--name", "keep", "/bin/sleep", "1"},
		{"service", "create", "-d", "--name", "bad", "-p", "mode=ingress,target=80,protocol=sctp", "/bin/sleep", "1"},
	} {
		_, errOut, code := c.Ctl(1, args...)
		if code == 0 || strings.TrimSpace(errOut) == "" {
			t.Errorf("%s: exit %d, stderr %q: want a refusal", cmdline(args), code, errOut)
		}
	}
	if after := c.MustCtl(1, "service", "ls"); after != before {
		t.Errorf("service ls changed by refused commands:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// ps of a service named twice and one that does not exist, through
	// the manager and the worker: the task once, the missing one named.
	for _, i := range []int{1, 2} {
		out, errOut, code := c.Ctl(i, "service", "ps", "-q", "keep", "nope", "keep")
		if code != 1 || len(strings.Fields(out)) != 1 || strings.TrimSpace(errOut) != "no such service: nope" {
			t.Errorf("service ps keep nope keep through node %d: exit %d, stdout %q, stderr %q; want keep's task once and no such service: nope", i, code, out, errOut)
		}
		out, errOut, code = c.Ctl(i, "service", "ps", "-q", "keep", "keep")
		if code != 0 || len(strings.Fields(out)) != 1 || errOut != "" {
			t.Errorf("service ps keep keep through node %d: exit %d, stdout %q, stderr %q; want keep's task once", i, code, out, errOut)
		}
	}
	// A runtime no node offers: the service is made, with a warning on
	// stderr; one they offer, without.
	for _, tc := range []struct{ name, runtime, warning string }{
		{"nowhere", "sim", "no node of the swarm offers the sim runtime"},
		{"here", "process", ""},
	} {
		_, errOut, code := c.Ctl(1, "service", "create", "-d", "--name", tc.name, "--runtime", tc.runtime, "/bin/sleep", "600")
		if code != 0 || (tc.warning == "") != (errOut == "") || !strings.Contains(errOut, tc.warning) {
			t.Errorf("service create --runtime %s: exit %d, stderr %q; want it made, warning %q", tc.runtime, code, errOut, tc.warning)
		}
	}
}

// TestServiceRestartPolicy checks that a failing task is replaced after
// the restart delay, up to the maximum attempts, with the error shown.
func TestServiceRestartPolicy(t *testing.T) {
	c := NewCluster(t, 130)
	formSwarm(t, c, []int{1}, nil)
	c.MustCtl(1, "service", "create", "-d", "--name", "crash", "--restart-delay", "200ms",
		"--restart-max-attempts", "3", "/bin/sh", "-c", "exit 1")
	Eventually(t, 15*time.Second, func() error {
		out := c.MustCtl(1, "service", "ps", "--no-trunc", "crash")
		if n := strings.Count(out, "task: non-zero exit (1)"); n != 3 {
			return fmt.Errorf("%d failed tasks, want 3:\n%s", n, out)
		}
		return nil
	})
	// No fourth attempt comes.
	time.Sleep(time.Second)
	out := c.MustCtl(1, "service", "ps", "--no-trunc", "crash")
	if n := strings.Count(out, "task: non-zero exit (1)"); n != 3 {
		t.Fatalf("%d failed tasks after the attempts ran out, want 3:\n%s", n, out)
	}
}

// TestServiceNodeCrash kills a worker that runs 10 tasks: they run
// elsewhere within seconds, and none is placed on the dead node.
func TestServiceNodeCrash(t *testing.T) {
	c := NewCluster(t, 140)
	formSwarm(t, c, []int{1}, []int{2, 3})
	c.MustCtl(1, "service", "create", "-d", "--name", "web", "--replicas", "30", "/bin/sleep", "600")
	rows := waitRunning(t, c, 1, "web", 30, 15*time.Second)
	if n := nodesOf(rows)["node-3"]; n != 10 {
		t.Fatalf("%d tasks on node-3, want 10 (spread): %v", n, nodesOf(rows))
	}
	start := time.Now()
	c.Kill(3)
	Eventually(t, 5*time.Second, func() error {
		out := c.MustCtl(1, "service", "ps", "web")
		all, err := parseTasks(out)
		if err != nil {
			return err
		}
		live := running(all)
		if len(live) != 30 || nodesOf(live)["node-3"] != 0 {
			return fmt.Errorf("not recovered: %v", nodesOf(live))
		}
		return nil
	})
	t.Logf("30 replicas running again (node-3's 10 replaced) %s after the kill", time.Since(start).Round(time.Millisecond))

	// What happened is in the event stream, through any node.
	events := c.MustCtl(2, "events", "--since", "0", "--until", "0s")
	for _, want := range []string{
		"raft leader", "node create", "service create",
		"name=node-3, state.new=down",
		"task update", "state.new=running", "error=node down", "node=node-",
	} {
		if !strings.Contains(events, want) {
			t.Errorf("events lack %q:\n%s", want, events)
		}
	}
	nodeOnly := c.MustCtl(1, "events", "--since", "0", "--until", "0s", "--filter", "type=node")
	if strings.Contains(nodeOnly, " task ") || !strings.Contains(nodeOnly, "state.new=down") {
		t.Errorf("events --filter type=node:\n%s", nodeOnly)
	}
}

// TestServiceSupervisorFailover kills a manager while a service runs: the
// supervisors move to the managers that take the shards over, rebuild
// from Raft, and leave the tasks on live nodes running (same task IDs);
// only the killed node's tasks are replaced.
func TestServiceSupervisorFailover(t *testing.T) {
	c := NewCluster(t, 160)
	formSwarm(t, c, []int{1, 2, 3}, []int{4})
	c.MustCtl(4, "service", "create", "-d", "--name", "steady", "--replicas", "8", "/bin/sleep", "600")
	before := waitRunning(t, c, 4, "steady", 8, 10*time.Second)
	c.Kill(1)
	var after []taskRow
	Eventually(t, 10*time.Second, func() error {
		out, errOut, code := c.Ctl(4, "service", "ps", "steady")
		if code != 0 {
			return fmt.Errorf("service ps: %s", errOut)
		}
		all, err := parseTasks(out)
		if err != nil {
			return err
		}
		after = running(all)
		if len(after) != 8 || nodesOf(after)["node-1"] != 0 {
			return fmt.Errorf("not settled: %v", nodesOf(after))
		}
		return nil
	})
	kept := make(map[string]bool)
	for _, r := range after {
		kept[r.ID] = true
	}
	for _, r := range before {
		if r.Node != "node-1" && !kept[r.ID] {
			t.Errorf("task %s on %s was replaced though its node lives", r.ID, r.Node)
		}
	}
}

// TestServiceRebalance kills a worker, lets its tasks move, restarts it:
// the service spreads back toward it one task at a time, the moved tasks
// marked rebalanced; with `swarm update --rebalance=false` it does not.
func TestServiceRebalance(t *testing.T) {
	c := NewCluster(t, 180)
	formSwarm(t, c, []int{1}, []int{2, 3})
	c.MustCtl(1, "service", "create", "-d", "--name", "spread", "--replicas", "6", "/bin/sleep", "600")
	waitRunning(t, c, 1, "spread", 6, 10*time.Second)
	c.Kill(3)
	Eventually(t, 10*time.Second, func() error {
		rows, err := parseTasks(c.MustCtl(1, "service", "ps", "spread"))
		if err != nil {
			return err
		}
		if live := running(rows); len(live) != 6 || nodesOf(live)["node-3"] != 0 {
			return fmt.Errorf("not moved off node-3 yet: %v", nodesOf(live))
		}
		return nil
	})
	c.Restart(3)
	Eventually(t, 20*time.Second, func() error {
		out := c.MustCtl(1, "service", "ps", "spread")
		rows, err := parseTasks(out)
		if err != nil {
			return err
		}
		counts := nodesOf(running(rows))
		if len(running(rows)) != 6 || counts["node-1"] != 2 || counts["node-2"] != 2 || counts["node-3"] != 2 {
			return fmt.Errorf("not rebalanced: %v", counts)
		}
		if !strings.Contains(out, "rebalanced") {
			return fmt.Errorf("no rebalanced history row:\n%s", out)
		}
		return nil
	})

	c.MustCtl(1, "swarm", "update", "--rebalance=false")
	c.Kill(3)
	Eventually(t, 10*time.Second, func() error {
		rows, err := parseTasks(c.MustCtl(1, "service", "ps", "spread"))
		if err != nil {
			return err
		}
		if live := running(rows); len(live) != 6 || nodesOf(live)["node-3"] != 0 {
			return fmt.Errorf("not moved off node-3 yet: %v", nodesOf(live))
		}
		return nil
	})
	c.Restart(3)
	Eventually(t, 5*time.Second, func() error {
		return checkNodes(c.MustNodes(1), map[string]string{"node-1": "Ready manager", "node-2": "Ready worker", "node-3": "Ready worker"})
	})
	time.Sleep(3 * time.Second) // two supervisor rounds: nothing may move
	rows, err := parseTasks(c.MustCtl(1, "service", "ps", "spread"))
	if err != nil {
		t.Fatal(err)
	}
	if n := nodesOf(running(rows))["node-3"]; n != 0 {
		t.Fatalf("%d tasks moved to node-3 with rebalancing off", n)
	}
}

// TestServiceScaleDuringLeaderKill kills the Raft leader while `service
// scale` (waiting for convergence) runs through a worker: the command
// completes and the service ends with the new replica count, none on the
// killed manager.
func TestServiceScaleDuringLeaderKill(t *testing.T) {
	c := NewCluster(t, 100)
	s := formSwarm(t, c, []int{1, 2, 3}, []int{4})
	c.MustCtl(4, "service", "create", "-d", "--name", "grow", "--replicas", "2", "/bin/sleep", "600")
	waitRunning(t, c, 4, "grow", 2, 10*time.Second)
	leader, err := leaderRow(c.MustNodes(4))
	if err != nil {
		t.Fatal(err)
	}
	old := s.index(t, leader.Hostname)

	type result struct {
		out, errOut string
		code        int
	}
	done := make(chan result, 1)
	go func() {
		out, errOut, code := c.CtlWithin(60*time.Second, 4, "service", "scale", "grow=10")
		done <- result{out, errOut, code}
	}()
	time.Sleep(150 * time.Millisecond)
	killed := time.Now()
	c.Kill(old)
	r := <-done
	if r.code != 0 || !strings.Contains(r.out, "grow scaled to 10") || !strings.Contains(r.out, "verify: Service grow converged") {
		t.Fatalf("service scale during the leader kill: exit %d\n%s\n%s", r.code, r.out, r.errOut)
	}
	t.Logf("service scale converged %s after the leader (%s) was killed", time.Since(killed).Round(time.Millisecond), leader.Hostname)
	rows := waitRunning(t, c, 4, "grow", 10, 10*time.Second)
	if n := nodesOf(rows)[leader.Hostname]; n != 0 {
		t.Errorf("%d tasks still counted running on the killed %s", n, leader.Hostname)
	}
}
