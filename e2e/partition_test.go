//go:build linux

package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// partitionHold is how long the worker stays cut off once its tasks were
// replaced: long enough for it to notice that no manager answers (many
// heartbeats), during which its tasks must keep running.
const partitionHold = 3 * time.Second

// partitionCmdline is the command line of the test's task processes, as
// /proc/PID/cmdline holds it.
const partitionCmdline = "/bin/sleep\x00600\x00"

// TestNetnsPartition cuts a worker that runs tasks off the network. The
// majority side marks it Down and runs its tasks elsewhere, while the
// worker, which cannot tell a partition from a manager outage, keeps its
// tasks running. Once the link heals, the worker is Ready again and stops
// its old tasks (the newer tasks win): 8 processes for 8 replicas.
func TestNetnsPartition(t *testing.T) {
	c := NewNetnsCluster(t, 4)
	formSwarm(t, c, []int{1, 2, 3}, []int{4})
	c.MustCtl(1, "service", "create", "-d", "--name", "part", "--replicas", "8", "/bin/sleep", "600")
	var before []taskRow
	Eventually(t, 15*time.Second, func() error {
		rows, err := c.serviceTasks(1, "part")
		if err != nil {
			return err
		}
		before = running(rows)
		if len(before) != 8 || nodesOf(before)["node-4"] == 0 {
			return fmt.Errorf("want 8 running tasks, some on node-4: %v", nodesOf(before))
		}
		return nil
	})
	onWorker := nodesOf(before)["node-4"]
	var cutOff []int // node-4's task processes
	Eventually(t, 5*time.Second, func() error {
		var err error
		if cutOff, err = c.taskProcesses(4); err != nil {
			return err
		}
		if len(cutOff) != onWorker {
			return fmt.Errorf("node-4 runs %d task processes, service ps shows %d tasks there", len(cutOff), onWorker)
		}
		return c.checkTotalProcesses(8)
	})
	t.Logf("8 replicas running: %v; node-4's processes: %v", nodesOf(before), cutOff)

	cut := time.Now()
	setLink(t, 4, false)
	c.note(c.Node(4), "link cut by the test")
	Eventually(t, 5*time.Second, func() error {
		rows, err := c.Nodes(1)
		if err != nil {
			return err
		}
		if r, ok := rowOf(rows, "node-4"); !ok || r.Status != "Down" {
			return fmt.Errorf("node-4 not Down yet: %v", rows)
		}
		return nil
	})
	tDown := time.Since(cut)
	Eventually(t, 10*time.Second, func() error {
		rows, err := c.serviceTasks(1, "part")
		if err != nil {
			return err
		}
		live := running(rows)
		if len(live) != 8 || nodesOf(live)["node-4"] != 0 {
			return fmt.Errorf("not replaced yet: %d running: %v", len(live), nodesOf(live))
		}
		return nil
	})
	tReplaced := time.Since(cut)
	for _, i := range []int{2, 3} {
		rows := c.MustNodes(i)
		if r, ok := rowOf(rows, "node-4"); !ok || r.Status != "Down" {
			t.Errorf("node ls on node-%d during the cut: %v; want node-4 Down", i, rows)
		}
	}

	// The cut-off worker keeps its tasks: the replicas run twice for now.
	stillRunning := func() error {
		procs, err := c.taskProcesses(4)
		if err != nil {
			return err
		}
		if !slices.Equal(procs, cutOff) {
			return fmt.Errorf("node-4's task processes are %v, want %v still running", procs, cutOff)
		}
		return c.checkTotalProcesses(8 + len(cutOff))
	}
	holds(t, partitionHold, stillRunning)
	t.Logf("cut: node-4 Down after %s, 8 replicas running off node-4 after %s; node-4 kept its %d task processes for %s more",
		tDown.Round(time.Millisecond), tReplaced.Round(time.Millisecond), len(cutOff), partitionHold)

	heal := time.Now()
	setLink(t, 4, true)
	c.note(c.Node(4), "link healed by the test")
	want := map[string]string{"node-1": "Ready manager", "node-2": "Ready manager", "node-3": "Ready manager", "node-4": "Ready worker"}
	Eventually(t, 15*time.Second, func() error {
		rows, err := c.Nodes(1)
		if err != nil {
			return err
		}
		return checkNodes(rows, want)
	})
	tReady := time.Since(heal)
	Eventually(t, 15*time.Second, func() error {
		procs, err := c.taskProcesses(4)
		if err != nil {
			return err
		}
		for _, p := range cutOff {
			if slices.Contains(procs, p) {
				return fmt.Errorf("node-4 still runs process %d of a replaced task (its task processes: %v)", p, procs)
			}
		}
		return nil
	})
	tStopped := time.Since(heal)
	// Rebalancing may then move tasks back to node-4, one at a time and
	// start-first: wait for the end of it.
	var after []taskRow
	Eventually(t, 30*time.Second, func() error {
		if err := c.checkTotalProcesses(8); err != nil {
			return err
		}
		rows, err := c.serviceTasks(1, "part")
		if err != nil {
			return err
		}
		after = running(rows)
		return settledTasks(rows, 8)
	})
	tSettled := time.Since(heal)
	replaced := map[string]bool{}
	for _, r := range before {
		if r.Node == "node-4" {
			replaced[r.ID] = true
		}
	}
	for _, r := range after {
		if replaced[r.ID] {
			t.Errorf("task %s (%s), replaced during the cut, runs again after it", r.ID, r.Name)
		}
	}
	t.Logf("healed: node-4 Ready after %s, its old task processes gone after %s, 8 replicas settled (8 processes) after %s: %v",
		tReady.Round(time.Millisecond), tStopped.Round(time.Millisecond), tSettled.Round(time.Millisecond), nodesOf(after))
}

// serviceTasks runs `service ps SVC` on node i and parses its table.
func (c *Cluster) serviceTasks(i int, svc string) ([]taskRow, error) {
	out, errOut, code := c.Ctl(i, "service", "ps", svc)
	if code != 0 {
		return nil, fmt.Errorf("service ps %s on %s: exit status %d: %s", svc, c.Node(i).Hostname, code, strings.TrimSpace(errOut))
	}
	return parseTasks(out)
}

// settledTasks checks that rows are want tasks running, one per name (no
// slot runs twice), and nothing else alive: every other task is neither
// meant to run nor still running.
func settledTasks(rows []taskRow, want int) error {
	live := running(rows)
	names := map[string]int{}
	for _, r := range live {
		names[r.Name]++
	}
	var problems []string
	if len(live) != want {
		problems = append(problems, fmt.Sprintf("%d tasks running, want %d", len(live), want))
	}
	for name, n := range names {
		if n > 1 {
			problems = append(problems, fmt.Sprintf("%s runs %d times", name, n))
		}
	}
	for _, r := range rows {
		if (r.Desired == "Running") != strings.HasPrefix(r.Current, "Running") {
			problems = append(problems, fmt.Sprintf("task %s (%s on %s) is desired %s, currently %s", r.ID, r.Name, r.Node, r.Desired, r.Current))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// checkTotalProcesses checks that the running swarmds of nodes 1..4 have
// want task processes between them.
func (c *Cluster) checkTotalProcesses(want int) error {
	total := 0
	per := make([]string, 0, 4)
	for i := 1; i <= 4; i++ {
		procs, err := c.taskProcesses(i)
		if err != nil {
			return err
		}
		total += len(procs)
		per = append(per, fmt.Sprintf("node-%d: %d", i, len(procs)))
	}
	if total != want {
		return fmt.Errorf("%d task processes (%s), want %d", total, strings.Join(per, ", "), want)
	}
	return nil
}

// taskProcesses returns, sorted, the live children of node
// i's swarmd that run partitionCmdline: the process runtime starts a task
// as a child of its swarmd.
func (c *Cluster) taskProcesses(i int) ([]int, error) {
	n := c.Node(i)
	c.mu.Lock()
	p := n.proc
	c.mu.Unlock()
	if p == nil || p.exited() {
		return nil, fmt.Errorf("%s is not running", n.Hostname)
	}
	pid := p.cmd.Process.Pid
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err != nil || strings.TrimSpace(string(comm)) != "swarmd" {
		// ip netns exec should have exec'd swarmd in its own process.
		return nil, fmt.Errorf("%s: pid %d is %q (%v), not swarmd", n.Hostname, pid, comm, err)
	}
	lists, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	if err != nil || len(lists) == 0 {
		return nil, fmt.Errorf("children of %s (pid %d): no /proc/%d/task/*/children (%v)", n.Hostname, pid, pid, err)
	}
	var out []int
	for _, list := range lists {
		data, err := os.ReadFile(list)
		if err != nil {
			continue // the thread ended
		}
		for _, f := range strings.Fields(string(data)) {
			child, err := strconv.Atoi(f)
			if err != nil {
				return nil, fmt.Errorf("%s: %q in %s is not a pid", n.Hostname, f, list)
			}
			if liveTask(child) && !slices.Contains(out, child) {
				out = append(out, child)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// liveTask reports whether process pid runs partitionCmdline. A zombie's
// cmdline is empty, and a process that ended meanwhile has none: neither
// is live.
func liveTask(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && string(cmdline) == partitionCmdline
}

// holds calls fn every pollInterval for d and fails the test as soon as
// it returns an error: what must stay true for a while.
func holds(t *testing.T, d time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if err := fn(); err != nil {
			t.Fatalf("within %s: %v", d, err)
		}
		if !time.Now().Before(deadline) {
			return
		}
		<-tick.C
	}
}
