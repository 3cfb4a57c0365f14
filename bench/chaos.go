package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
)

// Settings of chaos: how long it goes on by default, and the replicas of
// its service.
const (
	chaosDuration      = 60 * time.Second
	chaosQuickDuration = 15 * time.Second
	chaosReplicas      = 20
	// chaosMinFaults is how many faults a run measures however short its
	// duration: enough for a summary, and for a quick run's check.
	chaosMinFaults = QuickRepeat
)

// runChaos injects faults into a swarm of 3 managers and 2 workers that
// runs a service of 20 idle process tasks, one at a time until the
// duration (opts.Duration, default 60 s, 15 s quick) has passed, the fault
// under way completing, and at least chaosMinFaults were measured. A
// fault is a SIGKILL of a node picked at random (seeded: opts.Seed, or
// one from the clock, recorded in the parameters) among those whose loss
// leaves a majority of the managers running; its sample is the time from
// the SIGKILL until service ps through a live manager shows 20 tasks
// running, none on the killed node. The node is then restarted, and every
// node Ready and the service settled before the next fault. opts.Repeat
// does not apply. Samples are in ms; each includes the run of one
// swarmctl (a few ms).
func runChaos(ctx context.Context, opts Options) (recs []Record, err error) {
	const (
		name    = "chaos"
		service = "chaos"
	)
	duration, seed, rng := chaosSettings(opts)
	s, err := startSwarm(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()

	if err := s.createService(ctx, s.managers[0], service, chaosReplicas); err != nil {
		return nil, err
	}
	if err := s.waitSettled(ctx, s.managers[0], service, chaosReplicas); err != nil {
		return nil, err
	}
	params := s.serviceParameters(chaosReplicas, s.managers[0])
	params["observer"] = "the first live manager"
	params["duration"] = duration.String()
	params["seed"] = strconv.FormatUint(seed, 10)
	rec := Record{Scenario: name, Parameters: params, Started: time.Now(), Unit: "ms"}
	opts.logf("%s: faults for %s, seed %d\n", name, duration, seed)
	end := rec.Started.Add(duration)
	for fault := 1; fault <= chaosMinFaults || time.Now().Before(end); fault++ {
		victim, err := s.chaosVictim(rng)
		if err != nil {
			return nil, err
		}
		observer := s.managers[slices.IndexFunc(s.managers, func(m int) bool { return m != victim && s.alive(m) })]
		host, role := s.Node(victim).Hostname, "worker"
		if slices.Contains(s.managers, victim) {
			role = "manager"
			leader, err := s.leader(ctx, observer)
			if err != nil {
				return nil, err
			}
			if leader == victim {
				role = "manager, leader"
			}
		}
		killed, err := s.Kill(victim)
		if err != nil {
			return nil, err
		}
		what := fmt.Sprintf("%d tasks of %s running again, none on %s", chaosReplicas, service, host)
		err = Poll(ctx, replaceTimeout, what, func(ctx context.Context) error {
			rows, err := s.ServiceTasks(ctx, observer, service)
			if err != nil {
				return err
			}
			return runningOff(rows, host, chaosReplicas)
		})
		if err != nil {
			return nil, fmt.Errorf("fault %d (killed %s, %s): %w", fault, host, role, err)
		}
		took := ms(time.Since(killed))
		rec.Samples = append(rec.Samples, took)
		opts.logf("%s: fault %d: killed %s (%s): recovered in %s ms\n", name, fault, host, role, FormatFigure(took))

		if err := s.restartSettled(ctx, victim, observer, service, chaosReplicas); err != nil {
			return nil, err
		}
	}
	return []Record{rec}, nil
}

// chaosSettings returns how long chaos goes on, its seed, and the random
// source made from it.
func chaosSettings(opts Options) (time.Duration, uint64, *rand.Rand) {
	duration := opts.Duration
	if duration == 0 {
		duration = chaosDuration
		if opts.Quick {
			duration = chaosQuickDuration
		}
	}
	seed := opts.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	return duration, seed, rand.New(rand.NewPCG(seed, 0))
}

// chaosVictim picks with rng one of the running nodes whose SIGKILL leaves
// a majority of the managers running.
func (s *swarm) chaosVictim(rng *rand.Rand) (int, error) {
	managersUp := 0
	for _, m := range s.managers {
		if s.alive(m) {
			managersUp++
		}
	}
	majority := len(s.managers)/2 + 1
	var candidates []int
	for _, n := range s.nodes {
		if !s.alive(n.Index) || (slices.Contains(s.managers, n.Index) && managersUp-1 < majority) {
			continue
		}
		candidates = append(candidates, n.Index)
	}
	if len(candidates) == 0 {
		return 0, fmt.Errorf("no node can be killed: %d of %d managers run", managersUp, len(s.managers))
	}
	return candidates[rng.IntN(len(candidates))], nil
}

// alive reports whether node i's swarmd runs.
func (s *swarm) alive(i int) bool {
	p := s.proc(s.Node(i))
	return p != nil && !p.exited()
}
