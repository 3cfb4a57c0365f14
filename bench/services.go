package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// What the service scenarios run: a process-runtime task that idles, so
// that what is measured is the swarm placing, starting and reporting tasks
// rather than the tasks' own work.
const (
	taskRuntime = "process"
	taskProgram = "/bin/sleep"
	taskArg     = "3600"
)

// serviceTimeout bounds a service of up to a few thousand tasks
// converging, scaling or going away; the product promises 1000 tasks
// running within 3 s.
const serviceTimeout = 2 * time.Minute

// taskRowFormat is the `service ps` template parseTaskRows reads.
const taskRowFormat = "{{.Node}}|{{.DesiredState}}|{{.CurrentState}}"

// TaskRow is a row of `service ps`: where a task is and what state it is
// meant to be in and was last reported in.
type TaskRow struct {
	Node    string // hostname; "" while the task is not assigned
	Desired string // DESIRED STATE: Running, Shutdown, ...
	Current string // CURRENT STATE without its age: Running, Orphaned, ...
}

// Running tells whether the task is meant to run and was reported running.
func (r TaskRow) Running() bool { return r.Desired == "Running" && r.Current == "Running" }

// finalStates are the task states past Running in the task life cycle:
// a task in one has no process any more, or never had one.
var finalStates = []string{"Complete", "Shutdown", "Failed", "Rejected", "Remove", "Orphaned"}

// ServiceTasks runs `service ps` for service on node i.
func (c *Loopback) ServiceTasks(ctx context.Context, i int, service string) ([]TaskRow, error) {
	out, err := c.Ctl(ctx, i, "service", "ps", "--format", taskRowFormat, service)
	if err != nil {
		return nil, err
	}
	return parseTaskRows(out)
}

func parseTaskRows(out string) ([]TaskRow, error) {
	var rows []TaskRow
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 3 {
			return nil, fmt.Errorf("service ps printed %q: want NODE|DESIRED|CURRENT", line)
		}
		current := strings.Fields(f[2])
		if len(current) == 0 || f[1] == "" {
			return nil, fmt.Errorf("service ps printed %q: no desired or current state", line)
		}
		rows = append(rows, TaskRow{Node: f[0], Desired: f[1], Current: current[0]})
	}
	return rows, nil
}

// Replicas runs `service ls` on node i and returns the REPLICAS column of
// service: tasks running and desired.
func (c *Loopback) Replicas(ctx context.Context, i int, service string) (running, desired int, err error) {
	out, err := c.Ctl(ctx, i, "service", "ls", "--format", "{{.Name}} {{.Replicas}}")
	if err != nil {
		return 0, 0, err
	}
	return parseReplicas(out, service)
}

// parseReplicas reads service's "NAME running/desired[ (max N per node)]"
// line of `service ls`.
func parseReplicas(out, service string) (running, desired int, err error) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != service {
			continue
		}
		r, d, ok := strings.Cut(f[1], "/")
		running, rerr := strconv.Atoi(r)
		desired, derr := strconv.Atoi(d)
		if !ok || rerr != nil || derr != nil {
			return 0, 0, fmt.Errorf("service ls printed %q: want NAME RUNNING/DESIRED", line)
		}
		return running, desired, nil
	}
	return 0, 0, fmt.Errorf("service ls does not list %s: %q", service, out)
}

// settled checks that rows are want tasks running and nothing else alive:
// every other task is in a final state, its process stopped.
func settled(rows []TaskRow, want int) error {
	running, unsettled := 0, 0
	var examples []string
	for _, r := range rows {
		switch {
		case r.Running():
			running++
		case r.Desired == "Running" || !slices.Contains(finalStates, r.Current):
			unsettled++
			if len(examples) < 3 {
				examples = append(examples, fmt.Sprintf("%s %s→%s", cmp.Or(r.Node, "(unassigned)"), r.Current, r.Desired))
			}
		}
	}
	if running != want || unsettled > 0 {
		err := fmt.Errorf("%d tasks running (want %d), %d starting or stopping, of %d listed", running, want, unsettled, len(rows))
		if len(examples) > 0 {
			err = fmt.Errorf("%w (%s)", err, strings.Join(examples, ", "))
		}
		return err
	}
	return nil
}

// TaskProcesses counts the live child processes of the cluster's running
// swarmd: the tasks of the process runtime. Where the system does not
// show them (anything but Linux) it fails with errors.ErrUnsupported.
func (c *Loopback) TaskProcesses() (int, error) {
	c.mu.Lock()
	var pids []int
	for _, n := range c.nodes {
		if n.proc != nil && !n.proc.exited() {
			pids = append(pids, n.proc.cmd.Process.Pid)
		}
	}
	c.mu.Unlock()
	children, err := childPIDs(pids)
	return len(children), err
}

// TaskProcessOf returns the pid of one task process of node i's swarmd (a
// child of it), an error when it has none. Only Linux shows them.
func (c *Loopback) TaskProcessOf(i int) (int, error) {
	n := c.Node(i)
	p := c.proc(n)
	if p == nil {
		return 0, fmt.Errorf("%s does not run", n.Hostname)
	}
	children, err := childPIDs([]int{p.cmd.Process.Pid})
	if err != nil {
		return 0, err
	}
	if len(children) == 0 {
		return 0, fmt.Errorf("%s runs no task process", n.Hostname)
	}
	return children[0], nil
}

// serviceParameters are the record parameters of a scenario that runs a
// service of replicas tasks, observed through node from.
func (s *swarm) serviceParameters(replicas int, from int) map[string]string {
	p := s.parameters()
	p["replicas"] = strconv.Itoa(replicas)
	p["task"] = taskRuntime + " " + taskProgram + " " + taskArg
	p["observer"] = s.Node(from).Hostname
	return p
}

// createService creates service, replicas tasks of taskProgram, through
// node from without waiting for them (service create -d).
func (s *swarm) createService(ctx context.Context, from int, service string, replicas int) error {
	_, err := s.Ctl(ctx, from, "service", "create", "-d", "--name", service, "--replicas", strconv.Itoa(replicas),
		"--runtime", taskRuntime, taskProgram, taskArg)
	return err
}

// scaleService sets the replicas of service through node from without
// waiting for them (service scale -d).
func (s *swarm) scaleService(ctx context.Context, from int, service string, replicas int) error {
	_, err := s.Ctl(ctx, from, "service", "scale", "-d", fmt.Sprintf("%s=%d", service, replicas))
	return err
}

// waitSettled waits until service ps on node from shows want tasks of
// service running and nothing else alive (see settled).
func (s *swarm) waitSettled(ctx context.Context, from int, service string, want int) error {
	return Poll(ctx, serviceTimeout, fmt.Sprintf("%d tasks of %s running, the others stopped", want, service), func(ctx context.Context) error {
		rows, err := s.ServiceTasks(ctx, from, service)
		if err != nil {
			return err
		}
		return settled(rows, want)
	})
}

// removeService removes service through node from and waits until its
// tasks are gone: node ps lists none on any node and, where the system
// shows it, no swarmd has a task process left.
func (s *swarm) removeService(ctx context.Context, from int, service string) error {
	if _, err := s.Ctl(ctx, from, "service", "rm", service); err != nil {
		return err
	}
	hosts := make([]string, len(s.nodes))
	for i, n := range s.nodes {
		hosts[i] = n.Hostname
	}
	return Poll(ctx, serviceTimeout, "the tasks of "+service+" gone", func(ctx context.Context) error {
		out, err := s.Ctl(ctx, from, append([]string{"node", "ps", "-q"}, hosts...)...)
		if err != nil {
			return err
		}
		if n := len(strings.Fields(out)); n > 0 {
			return fmt.Errorf("node ps lists %d tasks", n)
		}
		procs, err := s.TaskProcesses()
		if errors.Is(err, errors.ErrUnsupported) {
			return nil
		}
		if err != nil {
			return Permanent(err)
		}
		if procs > 0 {
			return fmt.Errorf("%d task processes left", procs)
		}
		return nil
	})
}
