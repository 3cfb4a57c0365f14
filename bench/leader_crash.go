package bench

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// failoverTimeout bounds the wait for a write after the leader was killed;
// the product promises about a second.
const failoverTimeout = 30 * time.Second

// runLeaderCrash measures, on a swarm of 3 managers and 2 workers, the time
// from a SIGKILL of the Raft leader until a write through a worker's
// gateway succeeds: what a user of the swarm sees of a failover. The
// killed manager is restarted and the swarm is healthy again before the
// next repetition. Samples are in ms; each includes the run of one
// swarmctl (a few ms).
func runLeaderCrash(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "leader-crash"
	s, err := startSwarm(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()

	gateway, target := s.workers[0], s.Node(s.workers[len(s.workers)-1]).Hostname
	rec := Record{Scenario: name, Parameters: s.parameters(), Started: time.Now(), Unit: "ms"}
	rec.Parameters["write"] = "node update --label-add through " + s.Node(gateway).Hostname
	for run := 1; run <= opts.Repeat; run++ {
		leader, err := s.leader(ctx, gateway)
		if err != nil {
			return nil, err
		}
		killed, err := s.Kill(leader)
		if err != nil {
			return nil, err
		}
		label := fmt.Sprintf("bench=%d", run)
		err = Poll(ctx, failoverTimeout, "a write through "+s.Node(gateway).Hostname+" after the leader was killed", func(ctx context.Context) error {
			_, err := s.Ctl(ctx, gateway, "node", "update", "--label-add", label, target)
			return err
		})
		if err != nil {
			return nil, err
		}
		took := ms(time.Since(killed))
		rec.Samples = append(rec.Samples, took)
		opts.progress(name, run, "%s ms (killed leader %s)", FormatFigure(took), s.Node(leader).Hostname)

		if err := s.Start(ctx, leader); err != nil {
			return nil, err
		}
		if err := s.waitHealthy(ctx, gateway); err != nil {
			return nil, err
		}
	}
	return []Record{rec}, nil
}
