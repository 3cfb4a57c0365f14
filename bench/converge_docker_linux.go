package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"
)

// Sizes of converge and scale on Docker Swarm: each task there is a
// container (a swarm-http server of some MB), so the services are a tenth
// of ActorSwarm's process-task ones; the rates (tasks/s) compare, the
// times do not.
const (
	dockerConvergeReplicas      = 100
	dockerConvergeQuickReplicas = 10
	dockerScaleReplicas         = 50
	dockerScaleQuickReplicas    = 10
)

// runDockerConverge is converge on Docker Swarm mode (defaults): the local
// engine as manager and one worker engine in a network namespace. Each
// repetition creates a service of dockerConvergeReplicas containers with
// `docker service create -d` and measures the time until the manager's
// service ps shows every task running; then it removes the service and
// waits until no container of it is left on either engine.
func runDockerConverge(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "converge"
	replicas := dockerConvergeReplicas
	if opts.Quick {
		replicas = dockerConvergeQuickReplicas
	}
	d, params, err := startDockerBench(ctx, opts, replicas)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.close()) }()
	took := Record{Scenario: name + "/time", Target: TargetDockerSwarm, Parameters: params, Started: time.Now(), Unit: "ms"}
	rate := Record{Scenario: name + "/rate", Target: TargetDockerSwarm, Parameters: maps.Clone(params), Started: took.Started, Unit: "tasks/s"}
	for run := 1; run <= opts.Repeat; run++ {
		service := fmt.Sprintf("converge-%d", run)
		start := time.Now()
		if err := d.createService(ctx, service, replicas); err != nil {
			return nil, err
		}
		if err := d.waitRunning(ctx, service, replicas); err != nil {
			return nil, err
		}
		dur := time.Since(start)
		took.Samples = append(took.Samples, ms(dur))
		rate.Samples = append(rate.Samples, float64(replicas)/dur.Seconds())
		opts.progress(name, run, "dockerswarm: %d tasks running after %s ms (%s tasks/s)", replicas, FormatFigure(ms(dur)), FormatFigure(float64(replicas)/dur.Seconds()))
		if err := d.removeService(ctx, service); err != nil {
			return nil, err
		}
	}
	return []Record{took, rate}, nil
}

// runDockerScale is scale on Docker Swarm mode (defaults), on the engines
// of runDockerConverge: a service of dockerScaleReplicas containers is
// scaled with `docker service scale -d` to twice as many (until all run)
// and then to a tenth (until that many run and no other container of the
// service is left running on either engine).
func runDockerScale(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "scale"
	n := dockerScaleReplicas
	if opts.Quick {
		n = dockerScaleQuickReplicas
	}
	d, params, err := startDockerBench(ctx, opts, n)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.close()) }()
	started := time.Now()
	type step struct {
		rec      Record
		from, to int
	}
	steps := []*step{{from: n, to: 2 * n}, {from: 2 * n, to: max(1, n/10)}}
	for i, dir := range []string{"up", "down"} {
		p := maps.Clone(params)
		p["from"], p["to"] = strconv.Itoa(steps[i].from), strconv.Itoa(steps[i].to)
		steps[i].rec = Record{Scenario: name + "/" + dir, Target: TargetDockerSwarm, Parameters: p, Started: started, Unit: "ms"}
	}
	for run := 1; run <= opts.Repeat; run++ {
		service := fmt.Sprintf("scale-%d", run)
		if err := d.createService(ctx, service, n); err != nil {
			return nil, err
		}
		if err := d.waitRunning(ctx, service, n); err != nil {
			return nil, err
		}
		var took []string
		for _, st := range steps {
			start := time.Now()
			if _, err := dockerCLI(ctx, "", "service", "scale", "-d", fmt.Sprintf("%s=%d", service, st.to)); err != nil {
				return nil, err
			}
			if err := d.waitRunning(ctx, service, st.to); err != nil {
				return nil, err
			}
			dur := ms(time.Since(start))
			st.rec.Samples = append(st.rec.Samples, dur)
			took = append(took, fmt.Sprintf("%d→%d in %s ms", st.from, st.to, FormatFigure(dur)))
		}
		opts.progress(name, run, "dockerswarm: %s, %s", took[0], took[1])
		if err := d.removeService(ctx, service); err != nil {
			return nil, err
		}
	}
	return []Record{steps[0].rec, steps[1].rec}, nil
}

// startDockerBench starts the Docker Swarm of converge and scale: the
// local engine and one worker engine. params describe the run.
func startDockerBench(ctx context.Context, opts Options, replicas int) (*dockerSwarm, map[string]string, error) {
	d, err := startDockerSwarm(ctx, opts, 1)
	if err != nil {
		return nil, nil, err
	}
	version, _ := dockerCLI(ctx, "", "version", "--format", "{{.Server.Version}}")
	params := map[string]string{
		"replicas": strconv.Itoa(replicas),
		"nodes":    "1 manager (the local engine) + 1 worker engine in a network namespace",
		"engine":   strings.TrimSpace(version),
		"task":     "a container of " + dockerImage,
		"settings": "Docker Swarm defaults",
	}
	return d, params, nil
}

// createService creates a service of replicas benchmark containers without
// waiting for them.
func (d *dockerSwarm) createService(ctx context.Context, service string, replicas int) error {
	_, err := dockerCLI(ctx, "", "service", "create", "-d", "--name", service, "--replicas", strconv.Itoa(replicas),
		"--no-resolve-image", dockerImage)
	return err
}

// waitRunning waits until the manager shows want tasks of service running
// and no more of its containers run on the engines: a scale down counts
// only once the surplus stopped.
func (d *dockerSwarm) waitRunning(ctx context.Context, service string, want int) error {
	return Poll(ctx, dockerWait, fmt.Sprintf("%d tasks of %s running on Docker Swarm", want, service), func(ctx context.Context) error {
		_, total, err := d.runningPerNode(ctx, service)
		if err != nil {
			return err
		}
		if total != want {
			return fmt.Errorf("%d running", total)
		}
		containers, err := d.containers(ctx, service)
		if err != nil {
			return err
		}
		if containers != want {
			return fmt.Errorf("%d tasks running, %d containers", total, containers)
		}
		return nil
	})
}

// removeService removes service and waits until none of its containers is
// left running on any engine.
func (d *dockerSwarm) removeService(ctx context.Context, service string) error {
	if _, err := dockerCLI(ctx, "", "service", "rm", service); err != nil {
		return err
	}
	return Poll(ctx, dockerWait, "the containers of "+service+" gone", func(ctx context.Context) error {
		n, err := d.containers(ctx, service)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%d containers left", n)
		}
		return nil
	})
}

// containers counts the running containers of service on every engine.
func (d *dockerSwarm) containers(ctx context.Context, service string) (int, error) {
	hosts := []string{""}
	for _, e := range d.workers {
		hosts = append(hosts, e.host())
	}
	total := 0
	for _, h := range hosts {
		out, err := dockerCLI(ctx, h, "ps", "-q", "--filter", "label=com.docker.swarm.service.name="+service)
		if err != nil {
			return 0, err
		}
		total += len(strings.Fields(out))
	}
	return total, nil
}
