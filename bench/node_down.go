package bench

import (
	"context"
	"errors"
	"maps"
	"time"
)

// downTimeout bounds the wait for a killed node to be shown Down; the
// product promises about a second.
const downTimeout = 30 * time.Second

// runNodeDown measures, on a swarm of 3 managers and 2 workers, the time
// from a SIGKILL of a worker until a manager's node ls shows it Down, then
// the time from its restart until it shows Ready again. Samples are in ms;
// each includes the run of one swarmctl (a few ms).
func runNodeDown(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "node-down"
	s, err := startSwarm(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()

	manager, worker := s.managers[0], s.workers[len(s.workers)-1]
	host := s.Node(worker).Hostname
	params := s.parameters()
	params["observer"] = s.Node(manager).Hostname
	down := Record{Scenario: name + "/down", Parameters: params, Started: time.Now(), Unit: "ms"}
	ready := Record{Scenario: name + "/ready", Parameters: maps.Clone(params), Started: down.Started, Unit: "ms"}
	for run := 1; run <= opts.Repeat; run++ {
		killed, err := s.Kill(worker)
		if err != nil {
			return nil, err
		}
		if err := Poll(ctx, downTimeout, host+" shown Down after its SIGKILL", s.shows(manager, host, "Down")); err != nil {
			return nil, err
		}
		tDown := ms(time.Since(killed))

		started, err := s.Launch(worker)
		if err != nil {
			return nil, err
		}
		if err := Poll(ctx, settleTimeout, host+" shown Ready after its restart", s.shows(manager, host, "Ready")); err != nil {
			return nil, err
		}
		tReady := ms(time.Since(started))
		down.Samples = append(down.Samples, tDown)
		ready.Samples = append(ready.Samples, tReady)
		opts.progress(name, run, "Down after %s ms, Ready %s ms after restart", FormatFigure(tDown), FormatFigure(tReady))

		if err := s.waitHealthy(ctx, manager); err != nil {
			return nil, err
		}
	}
	return []Record{down, ready}, nil
}
