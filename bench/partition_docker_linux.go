package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"syscall"
	"time"
)

// dockerSurplusFault is surplusFault on Docker Swarm mode with its default
// settings: the local engine (manager) and a worker engine in namespaces
// of its own run a service of 20 replicas; the fault cuts the worker off
// while its containers run on, and the time is measured until 20 run on
// the manager; then the fault ends, and the time is measured until exactly
// 20 run again and the worker's replaced containers are gone.
type dockerSurplusFault struct {
	name, service string
	// fault describes the fault in the records' parameters.
	fault string
	// begin and end start and end the fault on the worker.
	begin, end func(ctx context.Context, e *dockerEngine) error
	// did and ended say what begin and end did ("cut %s off", "healed").
	did, ended string
}

// runDockerPartition is partition on Docker Swarm: the worker's link to
// the bridge goes down, and up again once its tasks are replaced.
func runDockerPartition(ctx context.Context, opts Options) ([]Record, error) {
	link := func(state string) func(context.Context, *dockerEngine) error {
		return func(ctx context.Context, e *dockerEngine) error {
			return run(ctx, "ip", "link", "set", e.name+"h", state)
		}
	}
	return runDockerSurplusFault(ctx, opts, dockerSurplusFault{
		name: "partition", service: "part",
		fault: "the worker's link to the bridge down, up again once replaced",
		begin: link("down"), end: link("up"),
		did: "cut %s off", ended: "healed",
	})
}

// runDockerNodeFreeze is node-freeze on Docker Swarm: the worker's dockerd
// (the swarm agent) is frozen with SIGSTOP while its containerd and
// containers run on, and thawed with SIGCONT once its tasks are replaced.
func runDockerNodeFreeze(ctx context.Context, opts Options) ([]Record, error) {
	signal := func(sig syscall.Signal) func(context.Context, *dockerEngine) error {
		return func(_ context.Context, e *dockerEngine) error {
			if e.initPID == 0 {
				return fmt.Errorf("%s's dockerd is not running", e.name)
			}
			if err := syscall.Kill(e.initPID, sig); err != nil {
				return fmt.Errorf("signal %s's dockerd: %w", e.name, err)
			}
			return nil
		}
	}
	return runDockerSurplusFault(ctx, opts, dockerSurplusFault{
		name: "node-freeze", service: "freeze",
		fault: "SIGSTOP of the worker's dockerd (its containers run on), SIGCONT when replaced",
		begin: signal(syscall.SIGSTOP), end: signal(syscall.SIGCONT),
		did: "froze %s", ended: "thawed",
	})
}

func runDockerSurplusFault(ctx context.Context, opts Options, f dockerSurplusFault) (recs []Record, err error) {
	d, replicas, params, err := startDockerService(ctx, opts, f.service)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.close()) }()
	params["fault"] = f.fault
	replaced := Record{Scenario: f.name + "/replaced", Target: TargetDockerSwarm, Parameters: params, Started: time.Now(), Unit: "ms"}
	gone := Record{Scenario: f.name + "/surplus-gone", Target: TargetDockerSwarm, Parameters: maps.Clone(params), Started: replaced.Started, Unit: "ms"}
	victim := d.workers[0]
	for rep := 1; rep <= opts.Repeat; rep++ {
		began := time.Now()
		if err := f.begin(ctx, victim); err != nil {
			return nil, err
		}
		err := Poll(ctx, dockerWait, fmt.Sprintf("%d tasks of %s running, none on the cut-off %s", replicas, f.service, victim.name), func(ctx context.Context) error {
			per, total, err := d.runningPerNode(ctx, f.service)
			if err != nil {
				return err
			}
			if total-per[victim.name] != replicas {
				return fmt.Errorf("%d running off %s, want %d", total-per[victim.name], victim.name, replicas)
			}
			return nil
		})
		if err != nil {
			_ = f.end(context.Background(), victim)
			return nil, err
		}
		tReplaced := ms(time.Since(began))
		ended := time.Now()
		if err := f.end(ctx, victim); err != nil {
			return nil, err
		}
		err = Poll(ctx, dockerWait, fmt.Sprintf("exactly %d tasks of %s, none left on %s", replicas, f.service, victim.name), func(ctx context.Context) error {
			per, total, err := d.runningPerNode(ctx, f.service)
			if err != nil {
				return err
			}
			if total != replicas || per[victim.name] != 0 {
				return fmt.Errorf("%d running, %d of them on %s", total, per[victim.name], victim.name)
			}
			out, err := dockerCLI(ctx, victim.host(), "ps", "-q", "--filter", "label=com.docker.swarm.service.name="+f.service)
			if err != nil {
				return err
			}
			if n := len(strings.Fields(out)); n > 0 {
				return fmt.Errorf("%d containers of %s still run on %s", n, f.service, victim.name)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		tGone := ms(time.Since(ended))
		replaced.Samples = append(replaced.Samples, tReplaced)
		gone.Samples = append(gone.Samples, tGone)
		opts.progress(f.name, rep, "dockerswarm: %s: %d running on the manager after %s ms; %s: its containers gone after %s ms",
			fmt.Sprintf(f.did, victim.name), replicas, FormatFigure(tReplaced), f.ended, FormatFigure(tGone))
		if rep == opts.Repeat {
			break
		}
		if err := d.respread(ctx, f.service, replicas); err != nil {
			return nil, err
		}
	}
	return []Record{replaced, gone}, nil
}
