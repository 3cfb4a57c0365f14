package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"
)

// surplusFault is a fault that cuts a worker running tasks off the swarm
// while its task processes run on (a frozen swarmd, a cut link). Its run,
// on the swarm of node-crash with its service, measures until the service
// has its replicas running on the nodes the managers reach, ends the
// fault, and measures until exactly the replicas run again (the worker
// stopped its replaced tasks: the newer ones win) and no surplus task
// process is left. Samples are in ms.
type surplusFault struct {
	name, service string
	// netns puts each node in a network namespace of its own.
	netns bool
	// params are added to the run's parameters ("fault", …).
	params map[string]string
	// begin and end start and end the fault on node victim, returning
	// when they did.
	begin, end func(ctx context.Context, s *swarm, victim int) (time.Time, error)
	// did says what begin did to the host ("froze %s"), ended what end
	// did ("thawed").
	did, ended string
}

func runSurplusFault(ctx context.Context, opts Options, f surplusFault) (recs []Record, err error) {
	s, from, replicas, err := startCrashSwarmOn(ctx, opts, f.service, f.netns)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()
	params := s.serviceParameters(replicas, from)
	maps.Copy(params, f.params)
	replaced := Record{Scenario: f.name + "/replaced", Parameters: params, Started: time.Now(), Unit: "ms"}
	gone := Record{Scenario: f.name + "/surplus-gone", Parameters: maps.Clone(params), Started: replaced.Started, Unit: "ms"}
	for run := 1; run <= opts.Repeat; run++ {
		rows, err := s.ServiceTasks(ctx, from, f.service)
		if err != nil {
			return nil, err
		}
		victim, tasks, err := s.busiestWorker(rows)
		if err != nil {
			return nil, err
		}
		host := s.Node(victim).Hostname
		began, err := f.begin(ctx, s, victim)
		if err != nil {
			return nil, err
		}
		if err := s.waitRunningOff(ctx, from, f.service, host, replicas); err != nil {
			_, _ = f.end(context.Background(), s, victim)
			return nil, err
		}
		tReplaced := ms(time.Since(began))
		// Meanwhile the cut-off node's task processes still run: the surplus.
		surplus, _ := s.TaskProcesses()
		surplus -= replicas
		ended, err := f.end(ctx, s, victim)
		if err != nil {
			return nil, err
		}
		if err := s.waitNoSurplus(ctx, from, f.service, host, replicas); err != nil {
			return nil, err
		}
		tGone := ms(time.Since(ended))
		replaced.Samples = append(replaced.Samples, tReplaced)
		gone.Samples = append(gone.Samples, tGone)
		opts.progress(f.name, run, "%s (%d tasks): %d running elsewhere after %s ms; %s: the %d surplus task processes gone after %s ms",
			fmt.Sprintf(f.did, host), tasks, replicas, FormatFigure(tReplaced), f.ended, surplus, FormatFigure(tGone))
		if err := s.waitHealthy(ctx, from); err != nil {
			return nil, err
		}
	}
	return []Record{replaced, gone}, nil
}
