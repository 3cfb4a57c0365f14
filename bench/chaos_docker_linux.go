package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// chaosDockerWorkers is how many worker engines chaos kills among on
// Docker Swarm.
const chaosDockerWorkers = 2

// runDockerChaos is chaos on Docker Swarm mode with its default settings:
// the local engine (manager) and two worker engines run a service of 20
// replicas; until the duration has passed (and at least chaosMinFaults
// faults, one with --quick, were measured) a worker engine picked at
// random (seeded) is SIGKILLed with its containers, and the time is
// measured until the manager's service ps shows 20 running, none on it.
// The engine is then restarted, Ready again, and the service spread over
// the three nodes before the next fault. Only workers are killed: the
// manager is the local engine, not this program's to kill.
func runDockerChaos(ctx context.Context, opts Options) (recs []Record, err error) {
	const (
		name    = "chaos"
		service = "chaos"
	)
	duration, seed, rng := chaosSettings(opts)
	minFaults := chaosMinFaults
	if opts.Quick {
		minFaults = 1 // a fault takes Docker Swarm ~20 s
	}
	d, err := startDockerSwarm(ctx, opts, chaosDockerWorkers)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.close()) }()
	if _, err := dockerCLI(ctx, "", "service", "create", "-d", "--name", service, "--replicas", strconv.Itoa(chaosReplicas),
		"--update-parallelism", "0", "--no-resolve-image", dockerImage); err != nil {
		return nil, err
	}
	if err := d.waitSpread(ctx, service, chaosReplicas); err != nil {
		return nil, err
	}
	version, _ := dockerCLI(ctx, "", "version", "--format", "{{.Server.Version}}")
	params := map[string]string{
		"replicas": strconv.Itoa(chaosReplicas),
		"nodes":    fmt.Sprintf("1 manager (the local engine) + %d worker engines in network namespaces", chaosDockerWorkers),
		"engine":   strings.TrimSpace(version),
		"settings": "Docker Swarm defaults (dispatcher heartbeat 5s)",
		"faults":   "SIGKILL of a worker engine picked at random (dockerd, containerd and containers at once); the manager, the local engine, is not killed",
		"duration": duration.String(),
		"seed":     strconv.FormatUint(seed, 10),
	}
	rec := Record{Scenario: name, Target: TargetDockerSwarm, Parameters: params, Started: time.Now(), Unit: "ms"}
	opts.logf("%s: dockerswarm: faults for %s, seed %d\n", name, duration, seed)
	end := rec.Started.Add(duration)
	for fault := 1; fault <= minFaults || time.Now().Before(end); fault++ {
		victim := d.workers[rng.IntN(len(d.workers))]
		killed, err := d.crash(victim)
		if err != nil {
			return nil, err
		}
		what := fmt.Sprintf("%d tasks of %s running again, none on %s", chaosReplicas, service, victim.name)
		err = Poll(ctx, dockerWait, what, func(ctx context.Context) error {
			per, total, err := d.runningPerNode(ctx, service)
			if err != nil {
				return err
			}
			if total != chaosReplicas || per[victim.name] > 0 {
				return fmt.Errorf("%d running (want %d), %d of them on %s", total, chaosReplicas, per[victim.name], victim.name)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("fault %d (killed %s): %w", fault, victim.name, err)
		}
		took := ms(time.Since(killed))
		rec.Samples = append(rec.Samples, took)
		opts.logf("%s: dockerswarm: fault %d: killed %s (worker): recovered in %s ms\n", name, fault, victim.name, FormatFigure(took))
		if err := d.startEngine(ctx, victim); err != nil {
			return nil, err
		}
		if err := d.respread(ctx, service, chaosReplicas); err != nil {
			return nil, err
		}
	}
	return []Record{rec}, nil
}
