package bench

import (
	"context"
	"errors"
	"maps"
	"time"
)

// runPartition measures, on the swarm of node-crash with its service, but
// each node in a network namespace of its own: a worker that runs tasks is
// cut off the others (its link to the bridge down; it keeps its tasks
// running), and the time is measured until the service has its replicas
// running on the nodes the managers still reach; then the link comes back,
// and the time is measured until exactly the desired replicas run again
// (the cut-off worker stopped its replaced tasks: the newer ones win) and
// no surplus task process is left. Samples are in ms.
func runPartition(ctx context.Context, opts Options) (recs []Record, err error) {
	const (
		name    = "partition"
		service = "part"
	)
	s, from, replicas, err := startCrashSwarmOn(ctx, opts, service, true)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()
	params := s.serviceParameters(replicas, from)
	params["hosts"] = "one network namespace per node, veths to a bridge"
	params["fault"] = "the worker's link to the bridge down, up again once replaced"
	replaced := Record{Scenario: name + "/replaced", Parameters: params, Started: time.Now(), Unit: "ms"}
	healed := Record{Scenario: name + "/surplus-gone", Parameters: maps.Clone(params), Started: replaced.Started, Unit: "ms"}
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
		cut := time.Now()
		if err := s.SetLink(ctx, victim, false); err != nil {
			return nil, err
		}
		if err := s.waitRunningOff(ctx, from, service, host, replicas); err != nil {
			_ = s.SetLink(context.Background(), victim, true)
			return nil, err
		}
		tReplaced := ms(time.Since(cut))
		surplus, _ := s.TaskProcesses()
		surplus -= replicas
		heal := time.Now()
		if err := s.SetLink(ctx, victim, true); err != nil {
			return nil, err
		}
		if err := s.waitNoSurplus(ctx, from, service, host, replicas); err != nil {
			return nil, err
		}
		tHealed := ms(time.Since(heal))
		replaced.Samples = append(replaced.Samples, tReplaced)
		healed.Samples = append(healed.Samples, tHealed)
		opts.progress(name, run, "cut %s off (%d tasks): %d running elsewhere after %s ms; healed: the %d surplus task processes gone after %s ms",
			host, tasks, replicas, FormatFigure(tReplaced), surplus, FormatFigure(tHealed))
		if err := s.waitHealthy(ctx, from); err != nil {
			return nil, err
		}
	}
	return []Record{replaced, healed}, nil
}
