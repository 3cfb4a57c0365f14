package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// runDockerPartition is partition on Docker Swarm mode with its default
// settings: the local engine (manager) and a worker engine in a network
// namespace run a service of 20 replicas; the worker's link to the bridge
// goes down (its containers run on), and the time is measured until 20
// run on the manager; then the link comes back, and the time is measured
// until exactly 20 run again (the worker's replaced containers stopped).
func runDockerPartition(ctx context.Context, opts Options) (recs []Record, err error) {
	const (
		name    = "partition"
		service = "part"
	)
	d, replicas, params, err := startDockerService(ctx, opts, service)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.close()) }()
	params["fault"] = "the worker's link to the bridge down, up again once replaced"
	replaced := Record{Scenario: name + "/replaced", Target: TargetDockerSwarm, Parameters: params, Started: time.Now(), Unit: "ms"}
	healed := Record{Scenario: name + "/surplus-gone", Target: TargetDockerSwarm, Parameters: maps.Clone(params), Started: replaced.Started, Unit: "ms"}
	victim := d.workers[0]
	link := victim.name + "h"
	for rep := 1; rep <= opts.Repeat; rep++ {
		cut := time.Now()
		if err := run(ctx, "ip", "link", "set", link, "down"); err != nil {
			return nil, err
		}
		err := Poll(ctx, dockerWait, fmt.Sprintf("%d tasks of %s running, none on the cut-off %s", replicas, service, victim.name), func(ctx context.Context) error {
			per, total, err := d.runningPerNode(ctx, service)
			if err != nil {
				return err
			}
			if total-per[victim.name] != replicas {
				return fmt.Errorf("%d running off %s, want %d", total-per[victim.name], victim.name, replicas)
			}
			return nil
		})
		if err != nil {
			_ = run(context.Background(), "ip", "link", "set", link, "up")
			return nil, err
		}
		tReplaced := ms(time.Since(cut))
		heal := time.Now()
		if err := run(ctx, "ip", "link", "set", link, "up"); err != nil {
			return nil, err
		}
		err = Poll(ctx, dockerWait, fmt.Sprintf("exactly %d tasks of %s, none left on %s", replicas, service, victim.name), func(ctx context.Context) error {
			per, total, err := d.runningPerNode(ctx, service)
			if err != nil {
				return err
			}
			if total != replicas || per[victim.name] != 0 {
				return fmt.Errorf("%d running, %d of them on %s", total, per[victim.name], victim.name)
			}
			out, err := dockerCLI(ctx, victim.host(), "ps", "-q", "--filter", "label=com.docker.swarm.service.name="+service)
			if err != nil {
				return err
			}
			if n := len(strings.Fields(out)); n > 0 {
				return fmt.Errorf("%d containers of %s still run on %s", n, service, victim.name)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		tHealed := ms(time.Since(heal))
		replaced.Samples = append(replaced.Samples, tReplaced)
		healed.Samples = append(healed.Samples, tHealed)
		opts.progress(name, rep, "dockerswarm: cut %s off: %d running on the manager after %s ms; healed: its containers gone after %s ms",
			victim.name, replicas, FormatFigure(tReplaced), FormatFigure(tHealed))
		if rep == opts.Repeat {
			break
		}
		if err := d.waitNodes(ctx, "Ready"); err != nil {
			return nil, err
		}
		if _, err := dockerCLI(ctx, "", "service", "update", "-d", "--force", service); err != nil {
			return nil, err
		}
		if err := d.waitSpread(ctx, service, replicas); err != nil {
			return nil, err
		}
	}
	return []Record{replaced, healed}, nil
}
