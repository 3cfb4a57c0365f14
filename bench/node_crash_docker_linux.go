package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"sync"
	"time"
)

// runDockerNodeCrash is node-crash on Docker Swarm mode with its default
// settings: the local engine (manager) and one worker engine run a
// service of 20 replicas (--update-parallelism 0 so that a forced update
// spreads them again at once); the worker "host" is SIGKILLed (dockerd,
// containerd and its containers at once), and the time is measured until
// the manager's service ps shows 20 running, none on the worker, and
// until node ls shows the worker Down. The worker is restarted, Ready
// again, and `service update --force` spreads the tasks over both nodes
// before the next repetition (Docker Swarm does not rebalance by itself).
func runDockerNodeCrash(ctx context.Context, opts Options) ([]Record, error) {
	return runDockerCrash(ctx, opts, dockerCrash{name: "node-crash", service: "crash"})
}

// runDockerLossyNodeCrash is lossy-node-crash on Docker Swarm: node-crash
// with every link losing lossyRate of its packets each way, the worker's
// in its namespace and the manager's (the local engine's) on the bridge.
func runDockerLossyNodeCrash(ctx context.Context, opts Options) ([]Record, error) {
	return runDockerCrash(ctx, opts, dockerCrash{
		name: "lossy-node-crash", service: "lossy",
		params: map[string]string{"loss": strconv.FormatFloat(lossyRate*100, 'f', 1, 64) + "% of packets each way on the worker's link and on the manager's side of the bridge (iptables statistic)"},
		degrade: func(ctx context.Context, d *dockerSwarm) ([]io.Closer, error) {
			var undo []io.Closer
			for _, l := range d.links() {
				loss, err := loseOnLink(ctx, l.ns, l.dev, lossyRate)
				if err != nil {
					return undo, err
				}
				undo = append(undo, loss)
			}
			return undo, nil
		},
	})
}

// runDockerLatencyNodeCrash is latency-node-crash on Docker Swarm: every
// packet the worker and the manager send to each other is held laggyDelay.
func runDockerLatencyNodeCrash(ctx context.Context, opts Options) ([]Record, error) {
	return runDockerCrash(ctx, opts, dockerCrash{
		name: "latency-node-crash", service: "laggy",
		params: map[string]string{"delay": laggyDelay.String() + " on every packet the worker and the manager send to each other, so round trips take " + (2 * laggyDelay).String() + " more (NFQUEUE)"},
		degrade: func(ctx context.Context, d *dockerSwarm) ([]io.Closer, error) {
			var undo []io.Closer
			for i, l := range d.links() {
				delay, err := delayLink(ctx, l.ns, l.dev, uint16(100+i), laggyDelay)
				if err != nil {
					return undo, err
				}
				undo = append(undo, delay)
			}
			return undo, nil
		},
	})
}

// dockerCrash is node-crash on Docker Swarm, on links degrade degrades
// (nil: as they are).
type dockerCrash struct {
	name, service string
	params        map[string]string
	// degrade degrades the links once the swarm runs; what it returns is
	// closed at the end, before the swarm goes.
	degrade func(ctx context.Context, d *dockerSwarm) ([]io.Closer, error)
}

func runDockerCrash(ctx context.Context, opts Options, c dockerCrash) (recs []Record, err error) {
	name, service := c.name, c.service
	d, replicas, params, err := startDockerService(ctx, opts, service)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.close()) }()
	if c.degrade != nil {
		undo, derr := c.degrade(ctx, d)
		defer func() {
			for _, u := range undo {
				err = errors.Join(err, u.Close())
			}
		}()
		if derr != nil {
			return nil, derr
		}
	}
	maps.Copy(params, c.params)
	replaced := Record{Scenario: name + "/replaced", Target: TargetDockerSwarm, Parameters: params, Started: time.Now(), Unit: "ms"}
	down := Record{Scenario: name + "/down", Target: TargetDockerSwarm, Parameters: maps.Clone(params), Started: replaced.Started, Unit: "ms"}
	victim := d.workers[0]
	var tl timelines
	for run := 1; run <= opts.Repeat; run++ {
		per, _, err := d.runningPerNode(ctx, service)
		if err != nil {
			return nil, err
		}
		observed := time.Now()
		tasks := per[victim.name]
		killed, err := d.crash(victim)
		if err != nil {
			return nil, err
		}
		pctx, stop := context.WithCancelCause(ctx)
		var (
			wg                   sync.WaitGroup
			tDown, tReplaced     float64
			errDown, errReplaced error
			series               = []Point{{T: ms(observed.Sub(killed)), V: float64(replicas)}}
		)
		wg.Go(func() {
			errDown = Poll(pctx, dockerWait, victim.name+" shown Down after its crash", func(ctx context.Context) error {
				nodes, err := d.nodeStatus(ctx)
				if err != nil {
					return err
				}
				if nodes[victim.name] != "Down" {
					return fmt.Errorf("%s is %q", victim.name, nodes[victim.name])
				}
				return nil
			})
			tDown = ms(time.Since(killed))
			if errDown != nil {
				stop(errOtherFailed)
			}
		})
		wg.Go(func() {
			what := fmt.Sprintf("%d tasks of %s running again, none on %s", replicas, service, victim.name)
			errReplaced = Poll(pctx, dockerWait, what, func(ctx context.Context) error {
				per, total, err := d.runningPerNode(ctx, service)
				if err != nil {
					return err
				}
				series = append(series, Point{T: ms(time.Since(killed)), V: float64(total - per[victim.name])})
				if total != replicas || per[victim.name] > 0 {
					return fmt.Errorf("%d running (want %d), %d of them on %s", total, replicas, per[victim.name], victim.name)
				}
				return nil
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
		opts.progress(name, run, "dockerswarm: killed %s (%d tasks): %d running again after %s ms, Down after %s ms",
			victim.name, tasks, replicas, FormatFigure(tReplaced), FormatFigure(tDown))
		if run == opts.Repeat {
			break
		}
		if err := d.startEngine(ctx, victim); err != nil {
			return nil, err
		}
		if err := d.respread(ctx, service, replicas); err != nil {
			return nil, err
		}
	}
	replaced.Timeline, replaced.TimelineUnit = tl.median(), timelineUnit
	return []Record{replaced, down}, nil
}
