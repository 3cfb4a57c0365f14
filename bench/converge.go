package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"
)

// Sizes of converge: the replicas of the service created per repetition.
const (
	convergeReplicas      = 1000
	convergeQuickReplicas = 100
)

// swarmTasks is what converge and scale run on a loopback swarm: idle
// process tasks, or containers of the benchmark image (the -containers
// scenarios, which Docker Swarm runs too).
type swarmTasks struct {
	// start starts the swarm.
	start func(ctx context.Context, opts Options) (*swarm, error)
	// params are the record parameters of a service of n tasks watched
	// through node from.
	params func(s *swarm, n, from int) map[string]string
	// create creates a service of n tasks without waiting for them.
	create func(ctx context.Context, s *swarm, from int, service string, n int) error
	// remove removes a service and waits until none of its tasks is left.
	remove func(ctx context.Context, s *swarm, from int, service string) error
}

// processTasks are idle process tasks (taskProgram).
var processTasks = swarmTasks{
	start:  startSwarm,
	params: (*swarm).serviceParameters,
	create: func(ctx context.Context, s *swarm, from int, service string, n int) error {
		return s.createService(ctx, from, service, n)
	},
	remove: func(ctx context.Context, s *swarm, from int, service string) error {
		return s.removeService(ctx, from, service)
	},
}

// runConverge measures, on a swarm of 3 managers and 2 workers, the time
// from `service create -d` of a service of 1000 idle process tasks until
// service ls on a manager shows them all running, and the tasks/s that
// makes. Each repetition then removes the service and waits until no task
// process is left, so the next one starts from an empty swarm. Samples
// include the run of swarmctl service create (a few ms) and the polling
// (pollInterval).
func runConverge(ctx context.Context, opts Options) ([]Record, error) {
	replicas := convergeReplicas
	if opts.Quick {
		replicas = convergeQuickReplicas
	}
	return convergeWith(ctx, opts, "converge", processTasks, replicas)
}

// convergeWith is converge of replicas tasks of kind, recorded as name.
func convergeWith(ctx context.Context, opts Options, name string, kind swarmTasks, replicas int) (recs []Record, err error) {
	s, err := kind.start(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()

	from := s.managers[0]
	params := kind.params(s, replicas, from)
	took := Record{Scenario: name + "/time", Parameters: params, Started: time.Now(), Unit: "ms"}
	rate := Record{Scenario: name + "/rate", Parameters: maps.Clone(params), Started: took.Started, Unit: "tasks/s"}
	for run := 1; run <= opts.Repeat; run++ {
		service := fmt.Sprintf("converge-%d", run)
		start := time.Now()
		if err := kind.create(ctx, s, from, service, replicas); err != nil {
			return nil, err
		}
		err := Poll(ctx, serviceTimeout, fmt.Sprintf("service ls to show %s %d/%d", service, replicas, replicas), func(ctx context.Context) error {
			running, desired, err := s.Replicas(ctx, from, service)
			if err != nil {
				return err
			}
			if running != replicas || desired != replicas {
				return fmt.Errorf("%s is %d/%d", service, running, desired)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		d := time.Since(start)
		took.Samples = append(took.Samples, ms(d))
		rate.Samples = append(rate.Samples, float64(replicas)/d.Seconds())
		opts.progress(name, run, "%d tasks running after %s ms (%s tasks/s)", replicas, FormatFigure(ms(d)), FormatFigure(float64(replicas)/d.Seconds()))

		if err := kind.remove(ctx, s, from, service); err != nil {
			return nil, err
		}
	}
	return []Record{took, rate}, nil
}
