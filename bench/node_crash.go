package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"
)

// Sizes of node-crash: the replicas of its service.
const (
	crashReplicas      = 20
	crashQuickReplicas = 10
)

// replaceTimeout bounds the wait for a killed node's tasks to run on the
// other nodes; the product promises about a second.
const replaceTimeout = 30 * time.Second

// errOtherFailed ends one of node-crash's two polls when the other failed.
var errOtherFailed = errors.New("the other measurement of the repetition failed")

// runNodeCrash measures, on a swarm of 3 managers and 2 workers that runs
// a service of 20 idle process tasks, the time from a SIGKILL of a worker
// that runs some of them (its tasks die with it) until service ps on a
// manager shows 20 tasks running again, none on the killed worker; and,
// polled at the same time, until node ls shows the worker Down. The
// worker is restarted, and the swarm is healthy and the service settled
// before the next repetition. Samples are in ms; each includes the run of
// one swarmctl (a few ms).
func runNodeCrash(ctx context.Context, opts Options) (recs []Record, err error) {
	const (
		name    = "node-crash"
		service = "crash"
	)
	s, from, replicas, err := startCrashSwarm(ctx, opts, service)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()
	params := s.serviceParameters(replicas, from)
	replaced := Record{Scenario: name + "/replaced", Parameters: params, Started: time.Now(), Unit: "ms"}
	down := Record{Scenario: name + "/down", Parameters: maps.Clone(params), Started: replaced.Started, Unit: "ms"}
	var tl timelines
	for run := 1; run <= opts.Repeat; run++ {
		rows, err := s.ServiceTasks(ctx, from, service)
		if err != nil {
			return nil, err
		}
		observed := time.Now()
		victim, tasks, err := s.busiestWorker(rows)
		if err != nil {
			return nil, err
		}
		host := s.Node(victim).Hostname
		killed, err := s.Kill(victim)
		if err != nil {
			return nil, err
		}

		pctx, stop := context.WithCancelCause(ctx)
		var (
			wg                   sync.WaitGroup
			tDown, tReplaced     float64
			errDown, errReplaced error
			// series: the tasks running off the killed node over time.
			series = []Point{{T: ms(observed.Sub(killed)), V: float64(replicas)}}
		)
		wg.Go(func() {
			errDown = Poll(pctx, downTimeout, host+" shown Down after its SIGKILL", s.shows(from, host, "Down"))
			tDown = ms(time.Since(killed))
			if errDown != nil {
				stop(errOtherFailed)
			}
		})
		wg.Go(func() {
			what := fmt.Sprintf("%d tasks of %s running again, none on %s", replicas, service, host)
			errReplaced = Poll(pctx, replaceTimeout, what, func(ctx context.Context) error {
				rows, err := s.ServiceTasks(ctx, from, service)
				if err != nil {
					return err
				}
				series = append(series, Point{T: ms(time.Since(killed)), V: float64(countRunningOff(rows, host))})
				return runningOff(rows, host, replicas)
			})
			tReplaced = ms(time.Since(killed))
			if errReplaced != nil {
				stop(errOtherFailed)
			}
		})
		wg.Wait()
		stop(nil)
		if err := errors.Join(errDown, errReplaced); err != nil {
			return nil, err
		}
		replaced.Samples = append(replaced.Samples, tReplaced)
		down.Samples = append(down.Samples, tDown)
		tl.add(tReplaced, series)
		opts.progress(name, run, "killed %s (%d tasks): %d running again after %s ms, Down after %s ms",
			host, tasks, replicas, FormatFigure(tReplaced), FormatFigure(tDown))

		if err := s.restartSettled(ctx, victim, from, service, replicas); err != nil {
			return nil, err
		}
	}
	replaced.Timeline, replaced.TimelineUnit = tl.median(), timelineUnit
	return []Record{replaced, down}, nil
}

// timelineUnit is what node-crash's timeline counts.
const timelineUnit = "tasks running off the killed node"

// countRunningOff counts the tasks of rows running on another node than
// host.
func countRunningOff(rows []TaskRow, host string) int {
	n := 0
	for _, r := range rows {
		if r.Running() && r.Node != host {
			n++
		}
	}
	return n
}

// startCrashSwarm starts the swarm of the node fault scenarios with a
// service of crashReplicas idle tasks (crashQuickReplicas with --quick),
// created and settled through the first manager, which it returns with
// the replica count. On error the swarm is torn down.
func startCrashSwarm(ctx context.Context, opts Options, service string) (s *swarm, from, replicas int, err error) {
	return startCrashSwarmOn(ctx, opts, service, false)
}

// startCrashSwarmOn is startCrashSwarm on network-namespace hosts when
// netns is set.
func startCrashSwarmOn(ctx context.Context, opts Options, service string, netns bool) (s *swarm, from, replicas int, err error) {
	replicas = crashReplicas
	if opts.Quick {
		replicas = crashQuickReplicas
	}
	if s, err = startSwarmOn(ctx, opts, netns); err != nil {
		return nil, 0, 0, err
	}
	from = s.managers[0]
	if err = s.createService(ctx, from, service, replicas); err == nil {
		err = s.waitSettled(ctx, from, service, replicas)
	}
	if err != nil {
		return nil, 0, 0, errors.Join(err, s.close(opts, err))
	}
	return s, from, replicas, nil
}

// busiestWorker returns the worker that runs the most of the tasks in
// rows, and how many; the first in order of a tie.
func (s *swarm) busiestWorker(rows []TaskRow) (worker, tasks int, err error) {
	for _, w := range s.workers {
		n := 0
		for _, r := range rows {
			if r.Running() && r.Node == s.Node(w).Hostname {
				n++
			}
		}
		if n > tasks {
			worker, tasks = w, n
		}
	}
	if tasks == 0 {
		return 0, 0, fmt.Errorf("no worker runs a task: %v", rows)
	}
	return worker, tasks, nil
}

// waitRunningOff waits until replicas tasks of service run, none on host
// (what a fault scenario measures first).
func (s *swarm) waitRunningOff(ctx context.Context, from int, service, host string, replicas int) error {
	return Poll(ctx, replaceTimeout, fmt.Sprintf("%d tasks of %s running, none on %s", replicas, service, host), func(ctx context.Context) error {
		rows, err := s.ServiceTasks(ctx, from, service)
		if err != nil {
			return err
		}
		return runningOff(rows, host, replicas)
	})
}

// waitNoSurplus waits until exactly replicas tasks of service run again
// and no more task processes than that are left: host, back, stopped the
// tasks that were replaced while it was away.
func (s *swarm) waitNoSurplus(ctx context.Context, from int, service, host string, replicas int) error {
	return Poll(ctx, replaceTimeout, fmt.Sprintf("exactly %d tasks of %s, the surplus on %s stopped", replicas, service, host), func(ctx context.Context) error {
		rows, err := s.ServiceTasks(ctx, from, service)
		if err != nil {
			return err
		}
		if err := settled(rows, replicas); err != nil {
			return err
		}
		procs, err := s.TaskProcesses()
		if errors.Is(err, errors.ErrUnsupported) {
			return nil
		}
		if err != nil {
			return Permanent(err)
		}
		if procs != replicas {
			return fmt.Errorf("%d task processes, want %d", procs, replicas)
		}
		return nil
	})
}

// runningOff checks that rows are want tasks running, none on host.
func runningOff(rows []TaskRow, host string, want int) error {
	running, on := 0, 0
	for _, r := range rows {
		if r.Running() {
			running++
			if r.Node == host {
				on++
			}
		}
	}
	if running != want || on > 0 {
		return fmt.Errorf("%d tasks running (want %d), %d of them on %s", running, want, on, host)
	}
	return nil
}
