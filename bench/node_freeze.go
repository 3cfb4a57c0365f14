package bench

import (
	"context"
	"errors"
	"maps"
	"syscall"
	"time"
)

// runNodeFreeze measures, on the swarm of node-crash with its service,
// what a hung node costs: swarmd of a worker that runs tasks is frozen
// with SIGSTOP (its task processes run on, but it answers nothing), and
// the time is measured until the service has its replicas running on the
// live nodes again; then it is thawed with SIGCONT, and the time is
// measured until the swarm has exactly the desired replicas again: the
// thawed node stopped the tasks that were replaced meanwhile (newer tasks
// win) and no surplus task process is left. Samples are in ms.
func runNodeFreeze(ctx context.Context, opts Options) (recs []Record, err error) {
	const (
		name    = "node-freeze"
		service = "freeze"
	)
	s, from, replicas, err := startCrashSwarm(ctx, opts, service)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()
	params := s.serviceParameters(replicas, from)
	params["fault"] = "SIGSTOP of a worker's swarmd (its tasks run on), SIGCONT when replaced"
	replaced := Record{Scenario: name + "/replaced", Parameters: params, Started: time.Now(), Unit: "ms"}
	gone := Record{Scenario: name + "/surplus-gone", Parameters: maps.Clone(params), Started: replaced.Started, Unit: "ms"}
	for run := 1; run <= opts.Repeat; run++ {
		rows, err := s.ServiceTasks(ctx, from, service)
		if err != nil {
			return nil, err
		}
		victim, tasks, err := s.busiestWorker(rows)
		if err != nil {
			return nil, err
		}
		host := s.Node(victim).Hostname
		frozen, err := s.Signal(victim, syscall.SIGSTOP)
		if err != nil {
			return nil, err
		}
		if err := s.waitRunningOff(ctx, from, service, host, replicas); err != nil {
			_, _ = s.Signal(victim, syscall.SIGCONT)
			return nil, err
		}
		tReplaced := ms(time.Since(frozen))
		// Meanwhile the frozen node's task processes still run: the surplus.
		surplus, _ := s.TaskProcesses()
		surplus -= replicas
		thawed, err := s.Signal(victim, syscall.SIGCONT)
		if err != nil {
			return nil, err
		}
		if err := s.waitNoSurplus(ctx, from, service, host, replicas); err != nil {
			return nil, err
		}
		tSettled := ms(time.Since(thawed))
		replaced.Samples = append(replaced.Samples, tReplaced)
		gone.Samples = append(gone.Samples, tSettled)
		opts.progress(name, run, "froze %s (%d tasks): %d running elsewhere after %s ms; thawed: the %d surplus task processes gone after %s ms",
			host, tasks, replicas, FormatFigure(tReplaced), surplus, FormatFigure(tSettled))
		if err := s.waitHealthy(ctx, from); err != nil {
			return nil, err
		}
	}
	return []Record{replaced, gone}, nil
}
