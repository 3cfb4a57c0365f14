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

// lossyRate is the packet loss of lossy-node-crash on every host's link,
// each way.
const lossyRate = 0.05

// laggyDelay is how long latency-node-crash holds every packet a host
// sends: a round trip between two hosts takes twice as long more.
const laggyDelay = 25 * time.Millisecond

// degradedLinks is node-crash on network-namespace hosts whose links are
// all degraded the same way: the failure detector must still tell a dead
// node from a slow one.
type degradedLinks struct {
	name, service string
	// params are added to the run's parameters ("loss", "delay").
	params map[string]string
	// degrade degrades host i's link.
	degrade func(ctx context.Context, s *swarm, i int) error
}

// runLossyNodeCrash is node-crash on hosts whose links lose 5 % of their
// packets each way.
func runLossyNodeCrash(ctx context.Context, opts Options) ([]Record, error) {
	return runDegradedNodeCrash(ctx, opts, degradedLinks{
		name: "lossy-node-crash", service: "lossy",
		params:  map[string]string{"loss": strconv.FormatFloat(lossyRate*100, 'f', 1, 64) + "% of packets each way on every link (iptables statistic: no netem in this kernel)"},
		degrade: func(ctx context.Context, s *swarm, i int) error { return s.SetLoss(ctx, i, lossyRate) },
	})
}

// runLatencyNodeCrash is node-crash on hosts that hold every packet they
// send for 25 ms (a 50 ms longer round trip between any two).
func runLatencyNodeCrash(ctx context.Context, opts Options) ([]Record, error) {
	return runDegradedNodeCrash(ctx, opts, degradedLinks{
		name: "latency-node-crash", service: "laggy",
		params:  map[string]string{"delay": laggyDelay.String() + " on every packet a host sends, so round trips take " + (2 * laggyDelay).String() + " more (NFQUEUE: no netem in this kernel)"},
		degrade: func(ctx context.Context, s *swarm, i int) error { return s.SetDelay(ctx, i, laggyDelay) },
	})
}

// runDegradedNodeCrash measures per repetition the time of three writes
// (node update through the observer, a manager), then the time until a
// killed worker's tasks run elsewhere, and counts the nodes shown Down
// that were not killed (false verdicts) over the repetition.
func runDegradedNodeCrash(ctx context.Context, opts Options, f degradedLinks) (recs []Record, err error) {
	s, from, replicas, err := startCrashSwarmOn(ctx, opts, f.service, true)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()
	for i := 1; i <= len(s.managers)+len(s.workers); i++ {
		if err := f.degrade(ctx, s, i); err != nil {
			return nil, err
		}
	}
	params := s.serviceParameters(replicas, from)
	params["hosts"] = "one network namespace per node, veths to a bridge"
	maps.Copy(params, f.params)
	name := f.name
	replaced := Record{Scenario: name + "/replaced", Parameters: params, Started: time.Now(), Unit: "ms"}
	falseDown := Record{Scenario: name + "/false-down", Parameters: maps.Clone(params), Started: replaced.Started, Unit: "nodes"}
	down := Record{Scenario: name + "/down", Parameters: maps.Clone(params), Started: replaced.Started, Unit: "ms"}
	down.Parameters["down"] = "from the kill to the killed node's Down event (the leader's clock; one machine)"
	write := Record{Scenario: name + "/write", Parameters: maps.Clone(params), Started: replaced.Started, Unit: "ms"}
	write.Parameters["write"] = "swarmctl node update --label-add through the observer (process start included)"
	for run := 1; run <= opts.Repeat; run++ {
		since := time.Now()
		var figures []string
		for w := range 3 {
			began := time.Now()
			if _, err := s.Ctl(ctx, from, "node", "update", "--label-add", fmt.Sprintf("bench=%d-%d", run, w), s.Node(from).Hostname); err != nil {
				return nil, err
			}
			took := ms(time.Since(began))
			write.Samples = append(write.Samples, took)
			figures = append(figures, FormatFigure(took))
		}
		rows, err := s.ServiceTasks(ctx, from, f.service)
		if err != nil {
			return nil, err
		}
		victim, tasks, err := s.busiestWorker(rows)
		if err != nil {
			return nil, err
		}
		host := s.Node(victim).Hostname
		killed, err := s.Kill(victim)
		if err != nil {
			return nil, err
		}
		if err := s.waitRunningOff(ctx, from, f.service, host, replicas); err != nil {
			return nil, err
		}
		tReplaced := ms(time.Since(killed))
		if err := s.Start(ctx, victim); err != nil {
			return nil, err
		}
		if err := f.degrade(ctx, s, victim); err != nil {
			return nil, err
		}
		if err := s.waitHealthy(ctx, from); err != nil {
			return nil, err
		}
		if err := s.waitSettled(ctx, from, f.service, replicas); err != nil {
			return nil, err
		}
		out, err := s.Ctl(ctx, from, "events", "--since", strconv.FormatInt(since.Unix(), 10), "--until", "0s", "--filter", "type=node")
		if err != nil {
			return nil, err
		}
		wrong, victimDown, tDown := 0, false, 0.0
		for _, l := range strings.Split(out, "\n") {
			if !strings.Contains(l, "state.new=down") {
				continue
			}
			if strings.Contains(l, "name="+host+",") || strings.Contains(l, "name="+host+")") {
				if !victimDown {
					at, err := time.Parse(time.RFC3339Nano, strings.Fields(l)[0])
					if err != nil {
						return nil, fmt.Errorf("event time: %w", err)
					}
					tDown = ms(at.Sub(killed))
				}
				victimDown = true
			} else {
				wrong++
			}
		}
		if !victimDown {
			return nil, fmt.Errorf("the events lack the Down of the killed %s:\n%s", host, out)
		}
		replaced.Samples = append(replaced.Samples, tReplaced)
		falseDown.Samples = append(falseDown.Samples, float64(wrong))
		down.Samples = append(down.Samples, tDown)
		opts.progress(name, run, "writes %s ms; killed %s (%d tasks): Down after %s ms, %d running again after %s ms; %d other nodes shown Down meanwhile",
			strings.Join(figures, "/"), host, tasks, FormatFigure(tDown), replicas, FormatFigure(tReplaced), wrong)
	}
	return []Record{replaced, down, falseDown, write}, nil
}
