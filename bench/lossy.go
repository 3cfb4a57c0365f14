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

// runLossyNodeCrash is node-crash on network-namespace hosts whose links
// all lose 5 % of their packets each way: the failure detector must still
// tell a dead node from a slow one. Per repetition it measures the time
// until a killed worker's tasks run elsewhere, and counts the nodes shown
// Down that were not killed (false verdicts) over the repetition.
func runLossyNodeCrash(ctx context.Context, opts Options) (recs []Record, err error) {
	const (
		name    = "lossy-node-crash"
		service = "lossy"
	)
	s, from, replicas, err := startCrashSwarmOn(ctx, opts, service, true)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()
	for i := 1; i <= len(s.managers)+len(s.workers); i++ {
		if err := s.SetLoss(ctx, i, lossyRate); err != nil {
			return nil, err
		}
	}
	params := s.serviceParameters(replicas, from)
	params["hosts"] = "one network namespace per node, veths to a bridge"
	params["loss"] = strconv.FormatFloat(lossyRate*100, 'f', 1, 64) + "% of packets each way on every link (iptables statistic: no netem in this kernel)"
	replaced := Record{Scenario: name + "/replaced", Parameters: params, Started: time.Now(), Unit: "ms"}
	falseDown := Record{Scenario: name + "/false-down", Parameters: maps.Clone(params), Started: replaced.Started, Unit: "nodes"}
	for run := 1; run <= opts.Repeat; run++ {
		since := time.Now()
		rows, err := s.ServiceTasks(ctx, from, service)
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
		if err := s.waitRunningOff(ctx, from, service, host, replicas); err != nil {
			return nil, err
		}
		tReplaced := ms(time.Since(killed))
		if err := s.Start(ctx, victim); err != nil {
			return nil, err
		}
		if err := s.SetLoss(ctx, victim, lossyRate); err != nil {
			return nil, err
		}
		if err := s.waitHealthy(ctx, from); err != nil {
			return nil, err
		}
		if err := s.waitSettled(ctx, from, service, replicas); err != nil {
			return nil, err
		}
		out, err := s.Ctl(ctx, from, "events", "--since", strconv.FormatInt(since.Unix(), 10), "--until", "0s", "--filter", "type=node")
		if err != nil {
			return nil, err
		}
		wrong, victimDown := 0, false
		for _, l := range strings.Split(out, "\n") {
			if !strings.Contains(l, "state.new=down") {
				continue
			}
			if strings.Contains(l, "name="+host+",") || strings.Contains(l, "name="+host+")") {
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
		opts.progress(name, run, "killed %s (%d tasks): %d running again after %s ms; %d other nodes shown Down meanwhile",
			host, tasks, replicas, FormatFigure(tReplaced), wrong)
	}
	return []Record{replaced, falseDown}, nil
}
