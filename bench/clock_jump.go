package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
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
// restart delay is 1 s, what clocks that disagree cost: the Raft leader's
// wall clock is set an hour back and a worker's an hour ahead (each
// swarmd's own clock, through its skew file: the machine's is not touched,
// and durations measured on the monotonic clock do not move, as when a
// system clock is set). Then a task process on that worker is killed: the
// time until the service runs all its replicas again (a failure dated an
// hour ahead must not wait an hour for its delay); and the other worker
// is killed: the time until node ls shows it Down (its last state change,
// dated before the leader's jump, is an hour in the leader's future: it
// must not be taken for a grace period) and until all replicas run on the
// live nodes. The clocks are set right again, the worker restarted and the
// service settled before the next repetition. Samples are in ms.
func runClockJump(ctx context.Context, opts Options) (recs []Record, err error) {
	const (
		name    = "clock-jump"
		service = "clockjump"
	)
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
	if _, err := s.Ctl(ctx, from, "service", "create", "-d", "--name", service, "--replicas", strconv.Itoa(replicas),
		"--restart-delay", clockJumpDelay.String(), "--runtime", taskRuntime, taskProgram, taskArg); err != nil {
		return nil, err
	}
	if err := s.waitSettled(ctx, from, service, replicas); err != nil {
		return nil, err
	}
	params := s.serviceParameters(replicas, from)
	params["fault"] = fmt.Sprintf("the leader's wall clock set %s back, a worker's %s ahead (swarmd --clock-skew-file)", clockJump, clockJump)
	params["restart_delay"] = clockJumpDelay.String()
	started := time.Now()
	restart := Record{Scenario: name + "/task-restart", Parameters: maps.Clone(params), Started: started, Unit: "ms"}
	down := Record{Scenario: name + "/down", Parameters: maps.Clone(params), Started: started, Unit: "ms"}
	replaced := Record{Scenario: name + "/replaced", Parameters: maps.Clone(params), Started: started, Unit: "ms"}
	restart.Parameters["measure"] = "SIGKILL of a task process on the worker whose clock is ahead, until the service runs all its replicas again"
	down.Parameters["measure"] = "SIGKILL of the other worker's swarmd, until node ls shows it Down"
	replaced.Parameters["measure"] = "SIGKILL of the other worker's swarmd, until all replicas run on the live nodes"
	for run := 1; run <= opts.Repeat; run++ {
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
		if err := s.jumpClocks(map[int]time.Duration{leader: -clockJump, ahead: clockJump}); err != nil {
			return nil, err
		}

		tRestart, err := s.killTaskUntilRestarted(ctx, from, ahead, service, replicas)
		if err != nil {
			return nil, fmt.Errorf("after the clock jumps: %w", err)
		}
		restart.Samples = append(restart.Samples, tRestart)

		host := s.Node(other).Hostname
		killed, err := s.Kill(other)
		if err != nil {
			return nil, err
		}
		if err := Poll(ctx, downTimeout, host+" shown Down after its SIGKILL, the leader's clock an hour back", s.shows(from, host, "Down")); err != nil {
			return nil, err
		}
		tDown := ms(time.Since(killed))
		if err := s.waitRunningOff(ctx, from, service, host, replicas); err != nil {
			return nil, err
		}
		tReplaced := ms(time.Since(killed))
		down.Samples = append(down.Samples, tDown)
		replaced.Samples = append(replaced.Samples, tReplaced)
		opts.progress(name, run, "leader %s %s back, %s %s ahead: a killed task ran again after %s ms; %s killed: Down after %s ms, replaced after %s ms",
			s.Node(leader).Hostname, clockJump, s.Node(ahead).Hostname, clockJump, FormatFigure(tRestart), host, FormatFigure(tDown), FormatFigure(tReplaced))

		if err := s.jumpClocks(map[int]time.Duration{leader: 0, ahead: 0}); err != nil {
			return nil, err
		}
		if err := s.Start(ctx, other); err != nil {
			return nil, err
		}
		if err := s.waitHealthy(ctx, from); err != nil {
			return nil, err
		}
		if err := s.waitSettled(ctx, from, service, replicas); err != nil {
			return nil, err
		}
	}
	return []Record{restart, down, replaced}, nil
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
// the time in ms until service shows one more failed task than before and
// replicas running.
func (s *swarm) killTaskUntilRestarted(ctx context.Context, from, i int, service string, replicas int) (float64, error) {
	rows, err := s.ServiceTasks(ctx, from, service)
	if err != nil {
		return 0, err
	}
	failedBefore := countCurrent(rows, "Failed")
	pid, err := s.TaskProcessOf(i)
	if err != nil {
		return 0, err
	}
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return 0, fmt.Errorf("kill task process %d of %s: %w", pid, s.Node(i).Hostname, err)
	}
	what := fmt.Sprintf("the task killed on %s failed and %d tasks of %s running again", s.Node(i).Hostname, replicas, service)
	err = Poll(ctx, replaceTimeout, what, func(ctx context.Context) error {
		rows, err := s.ServiceTasks(ctx, from, service)
		if err != nil {
			return err
		}
		if n := countCurrent(rows, "Failed"); n <= failedBefore {
			return fmt.Errorf("%d tasks failed, as before the kill", n)
		}
		return settled(rows, replicas)
	})
	return ms(time.Since(killed)), err
}

// countCurrent counts the tasks of rows in state current.
func countCurrent(rows []TaskRow, current string) int {
	n := 0
	for _, r := range rows {
		if r.Current == current {
			n++
		}
	}
	return n
}
