package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/actorswarm/swarm/runtime/docker"
)

// Sizes of converge-containers and scale-containers, on both targets: each
// task is a container (a swarm-http server of some MB), so the services
// are a tenth of converge's and scale's process tasks.
const (
	dockerConvergeReplicas      = 100
	dockerConvergeQuickReplicas = 10
	dockerScaleReplicas         = 50
	dockerScaleQuickReplicas    = 10
)

// runDockerConverge is converge-containers on Docker Swarm mode
// (defaults): the local engine as manager and one worker engine in a
// network namespace. Each
// repetition creates a service of dockerConvergeReplicas containers with
// `docker service create -d` and measures the time until the manager's
// service ps shows every task running; then it removes the service and
// waits until no container of it is left on either engine.
func runDockerConverge(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "converge-containers"
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

// runDockerScale is scale-containers on Docker Swarm mode (defaults), on
// the engines of runDockerConverge: a service of dockerScaleReplicas containers is
// scaled with `docker service scale -d` to twice as many (until all run)
// and then to a tenth (until that many run and no other container of the
// service is left running on either engine).
func runDockerScale(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "scale-containers"
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

// startDockerBench starts the Docker Swarm of the -containers scenarios: the
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

// containerTasks are containers of the benchmark image, run by the
// swarmd's docker runtime on the local engine.
var containerTasks = swarmTasks{
	start:  startContainerSwarm,
	params: (*swarm).containerParameters,
	create: func(ctx context.Context, s *swarm, from int, service string, n int) error {
		return s.createContainerService(ctx, from, service, n)
	},
	remove: func(ctx context.Context, s *swarm, from int, service string) error {
		return s.removeContainerService(ctx, from, service)
	},
}

// runConvergeContainers is converge with containers: on the loopback swarm
// of converge (5 swarmd, whose docker runtime uses the local engine), a
// service of dockerConvergeReplicas containers of the benchmark image, the
// same as Docker Swarm runs.
func runConvergeContainers(ctx context.Context, opts Options) ([]Record, error) {
	replicas := dockerConvergeReplicas
	if opts.Quick {
		replicas = dockerConvergeQuickReplicas
	}
	return convergeWith(ctx, opts, "converge-containers", containerTasks, replicas)
}

// runScaleContainers is scale with containers, on the swarm of
// runConvergeContainers: a service of dockerScaleReplicas containers
// scaled to twice as many, then to a tenth, as on Docker Swarm.
func runScaleContainers(ctx context.Context, opts Options) ([]Record, error) {
	n := dockerScaleReplicas
	if opts.Quick {
		n = dockerScaleQuickReplicas
	}
	return scaleWith(ctx, opts, "scale-containers", containerTasks, n)
}

// startContainerSwarm is startSwarm after making sure the local engine
// answers and has the benchmark image, which the swarmd's docker runtime
// runs without pulling.
func startContainerSwarm(ctx context.Context, opts Options) (*swarm, error) {
	if _, err := dockerCLI(ctx, "", "version", "--format", "{{.Server.Version}}"); err != nil {
		return nil, fmt.Errorf("the docker runtime needs the local Docker engine (is dockerd running?): %w", err)
	}
	if err := (&dockerSwarm{}).ensureImage(ctx, opts.BinDir); err != nil {
		return nil, err
	}
	return startSwarm(ctx, opts)
}

// containerParameters are serviceParameters for containers of the
// benchmark image.
func (s *swarm) containerParameters(replicas, from int) map[string]string {
	p := s.serviceParameters(replicas, from)
	p["task"] = "docker runtime: a container of " + dockerImage + " (the local engine, shared by the 5 swarmd)"
	return p
}

// createContainerService creates a service of replicas containers of the
// benchmark image through node from, without waiting for them.
func (s *swarm) createContainerService(ctx context.Context, from int, service string, replicas int) error {
	_, err := s.Ctl(ctx, from, "service", "create", "-d", "--name", service, "--replicas", strconv.Itoa(replicas),
		"--runtime", "docker", dockerImage)
	return err
}

// removeContainerService removes service through node from and waits until
// no container of it is left on the local engine.
func (s *swarm) removeContainerService(ctx context.Context, from int, service string) error {
	if _, err := s.Ctl(ctx, from, "service", "rm", service); err != nil {
		return err
	}
	return Poll(ctx, serviceTimeout, "the containers of "+service+" gone", func(ctx context.Context) error {
		out, err := dockerCLI(ctx, "", "ps", "-q", "--filter", "label="+docker.LabelServiceName+"="+service)
		if err != nil {
			return err
		}
		if n := len(strings.Fields(out)); n > 0 {
			return fmt.Errorf("%d containers left", n)
		}
		return nil
	})
}
