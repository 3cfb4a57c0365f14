package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sizes of clock-jump: how far the clocks jump, the service's restart
// delay, and how long a daemon may take to read its skew file (it does
// every 100 ms).
const (
	clockJump       = time.Hour
	clockJumpDelay  = time.Second
	clockJumpSettle = 500 * time.Millisecond
)

// runClockJump measures, on the swarm of node-crash with a service whose
// restart delay is 1 s, what clocks that disagree cost, beside the same
// measurements with every clock right (same-clocks): the Raft leader's
// wall clock is set an hour back and a worker's an hour ahead
// (leader-behind), then the other way round (leader-ahead); each swarmd's
// own clock, through its skew file: the machine's is not touched, and
// durations measured on the monotonic clock do not move, as when a system
// clock is set. Then a task process on that worker is killed: the time
// until the service runs all its replicas again (a failure dated an hour
// off must wait its delay, not an hour and not none); and the other
// worker is killed: the time until node ls shows it Down (with the leader
// behind, its last state change is an hour in the leader's future: it
// must not be taken for a grace period) and until all replicas run on the
// live nodes. The clocks are set right again, the worker restarted and the
// service settled before the next phase; each repetition has a service of
// its own. Samples are in ms.
func runClockJump(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "clock-jump"
	replicas := crashReplicas
	if opts.Quick {
		replicas = crashQuickReplicas
	}
	s, err := startSwarmWith(ctx, opts, false, func(lb *Loopback) error {
		lb.EnableClockSkew()
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()
	from := s.managers[0]
	params := s.serviceParameters(replicas, from)
	params["restart_delay"] = clockJumpDelay.String()
	started := time.Now()
	// Each repetition measures with the clocks agreeing, the baseline,
	// then with the clocks an hour apart one way, then the other.
	phases := []struct {
		name, fault string
		leader      time.Duration
		ahead       time.Duration
	}{
		{"same-clocks", "none: every clock the system's", 0, 0},
		{"leader-behind", fmt.Sprintf("the leader's wall clock set %s back, a worker's %s ahead (swarmd --clock-skew-file)", clockJump, clockJump), -clockJump, clockJump},
		{"leader-ahead", fmt.Sprintf("the leader's wall clock set %s ahead, a worker's %s back (swarmd --clock-skew-file)", clockJump, clockJump), clockJump, -clockJump},
	}
	measures := []struct{ name, what string }{
		{"task-restart", "SIGKILL of a task process on the worker whose clock is ahead, until the service runs all its replicas again"},
		{"down", "SIGKILL of the other worker's swarmd, until node ls shows it Down"},
		{"replaced", "SIGKILL of the other worker's swarmd, until all replicas run on the live nodes"},
	}
	recs = make([]Record, 0, len(phases)*len(measures))
	for _, ph := range phases {
		for _, m := range measures {
			p := maps.Clone(params)
			p["fault"], p["measure"] = ph.fault, m.what
			recs = append(recs, Record{Scenario: name + "/" + ph.name + "/" + m.name, Parameters: p, Started: started, Unit: "ms"})
		}
	}
	for run := 1; run <= opts.Repeat; run++ {
		// A service of its own for each repetition: the task killed in
		// each phase counts as a failure, and five on a node make
		// placement avoid it for five minutes.
		service := fmt.Sprintf("clockjump%d", run)
		if _, err := s.Ctl(ctx, from, "service", "create", "-d", "--name", service, "--replicas", strconv.Itoa(replicas),
			"--restart-delay", clockJumpDelay.String(), "--runtime", taskRuntime, taskProgram, taskArg); err != nil {
			return nil, err
		}
		if err := s.waitSettled(ctx, from, service, replicas); err != nil {
			return nil, err
		}
		for pi, ph := range phases {
			leader, err := s.leader(ctx, from)
			if err != nil {
				return nil, err
			}
			rows, err := s.ServiceTasks(ctx, from, service)
			if err != nil {
				return nil, err
			}
			ahead, _, err := s.busiestWorker(rows)
			if err != nil {
				return nil, err
			}
			other := s.workers[0]
			if other == ahead {
				other = s.workers[1]
			}
			if err := s.jumpClocks(map[int]time.Duration{leader: ph.leader, ahead: ph.ahead}); err != nil {
				return nil, err
			}
			tRestart, err := s.killTaskUntilRestarted(ctx, from, ahead, service, replicas)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ph.name, err)
			}
			host := s.Node(other).Hostname
			killed, err := s.Kill(other)
			if err != nil {
				return nil, err
			}
			if err := Poll(ctx, downTimeout, host+" shown Down after its SIGKILL ("+ph.name+")", s.shows(from, host, "Down")); err != nil {
				return nil, err
			}
			tDown := ms(time.Since(killed))
			if err := s.waitRunningOff(ctx, from, service, host, replicas); err != nil {
				return nil, err
			}
			tReplaced := ms(time.Since(killed))
			for mi, v := range []float64{tRestart, tDown, tReplaced} {
				r := &recs[pi*len(measures)+mi]
				r.Samples = append(r.Samples, v)
			}
			opts.progress(name, run, "%s (leader %s %s, %s %s): a killed task ran again after %s ms; %s killed: Down after %s ms, replaced after %s ms",
				ph.name, s.Node(leader).Hostname, ph.leader, s.Node(ahead).Hostname, ph.ahead, FormatFigure(tRestart), host, FormatFigure(tDown), FormatFigure(tReplaced))

			if err := s.jumpClocks(map[int]time.Duration{leader: 0, ahead: 0}); err != nil {
				return nil, err
			}
			if err := s.restartSettled(ctx, other, from, service, replicas); err != nil {
				return nil, err
			}
			// The restarted worker runs nothing: the supervisor moves
			// tasks to it, one at a time, start-first. A task killed while
			// its slot moves would be replaced by the move.
			if err := s.waitBalanced(ctx, from, service, replicas); err != nil {
				return nil, err
			}
		}
		if err := s.removeService(ctx, from, service); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// jumpClocks sets the wall clock skew of the given nodes and gives them the
// time to read it.
func (s *swarm) jumpClocks(skews map[int]time.Duration) error {
	for i, d := range skews {
		if err := s.SetClockSkew(i, d); err != nil {
			return err
		}
	}
	time.Sleep(clockJumpSettle)
	return nil
}

// killTaskUntilRestarted SIGKILLs one task process of node i and returns
// the time in ms until service ps shows that task ended and replicas
// running, the others stopped.
func (s *swarm) killTaskUntilRestarted(ctx context.Context, from, i int, service string, replicas int) (float64, error) {
	pid, err := s.TaskProcessOf(i)
	if err != nil {
		return 0, err
	}
	// The process runtime runs a task in a directory named after its ID.
	cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
	if err != nil {
		return 0, fmt.Errorf("task process %d of %s: %w", pid, s.Node(i).Hostname, err)
	}
	id, _, _ := strings.Cut(filepath.Base(cwd), "-")
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return 0, fmt.Errorf("kill task process %d of %s: %w", pid, s.Node(i).Hostname, err)
	}
	what := fmt.Sprintf("task %s killed on %s shown ended and %d tasks of %s running again", id, s.Node(i).Hostname, replicas, service)
	err = Poll(ctx, replaceTimeout, what, func(ctx context.Context) error {
		out, err := s.Ctl(ctx, from, "service", "ps", "--format", "{{.ID}} {{.CurrentState}}", service)
		if err != nil {
			return err
		}
		for _, line := range strings.Split(out, "\n") {
			if task, state, ok := strings.Cut(strings.TrimSpace(line), " "); ok && task == id && strings.HasPrefix(state, "Running") {
				return fmt.Errorf("task %s still shown %s", id, state)
			}
		}
		rows, err := s.ServiceTasks(ctx, from, service)
		if err != nil {
			return err
		}
		return settled(rows, replicas)
	})
	return ms(time.Since(killed)), err
}

// waitBalanced waits until service runs replicas tasks, the others
// stopped, spread over every node so that no node runs two more than
// another: the supervisor is done rebalancing.
func (s *swarm) waitBalanced(ctx context.Context, from int, service string, replicas int) error {
	return Poll(ctx, replaceTimeout, fmt.Sprintf("%d tasks of %s spread evenly", replicas, service), func(ctx context.Context) error {
		rows, err := s.ServiceTasks(ctx, from, service)
		if err != nil {
			return err
		}
		if err := settled(rows, replicas); err != nil {
			return err
		}
		counts := make(map[string]int, len(s.nodes))
		for _, n := range s.nodes {
			counts[n.Hostname] = 0
		}
		for _, r := range rows {
			if r.Running() {
				counts[r.Node]++
			}
		}
		lo, hi := replicas, 0
		for _, c := range counts {
			lo, hi = min(lo, c), max(hi, c)
		}
		if hi-lo > 1 {
			return fmt.Errorf("tasks per node from %d to %d: %v", lo, hi, counts)
		}
		return nil
	})
}
