package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// runDockerLeaderCrash is leader-crash on Docker Swarm mode with its
// default settings: three engines in network namespaces, all managers;
// the leader's "host" is SIGKILLed (engine and all) and the time is
// measured until a write (node update --label-add) through another
// manager succeeds. The killed engine is restarted and the three are
// reachable managers again before the next repetition.
func runDockerLeaderCrash(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "leader-crash"
	d, err := startDockerManagers(ctx, opts, 3)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, d.close()) }()
	version, _ := dockerCLI(ctx, d.workers[0].host(), "version", "--format", "{{.Server.Version}}")
	rec := Record{Scenario: name, Target: TargetDockerSwarm, Started: time.Now(), Unit: "ms", Parameters: map[string]string{
		"managers": "3 engines in network namespaces",
		"engine":   strings.TrimSpace(version),
		"settings": "Docker Swarm defaults (Raft election tick 10 × 1s heartbeat tick)",
		"write":    "node update --label-add through another manager",
	}}
	for run := 1; run <= opts.Repeat; run++ {
		st, err := d.managerStatus(ctx, d.workers[0].host())
		if err != nil {
			return nil, err
		}
		var leader, via *dockerEngine
		for _, e := range d.workers {
			if st[e.name] == "Leader" {
				leader = e
			} else if via == nil {
				via = e
			}
		}
		if leader == nil || via == nil {
			return nil, fmt.Errorf("no leader among the managers: %v", st)
		}
		killed, err := d.crash(leader)
		if err != nil {
			return nil, err
		}
		label := fmt.Sprintf("bench=%d", run)
		err = Poll(ctx, dockerWait, "a write through "+via.name+" after the leader was killed", func(ctx context.Context) error {
			_, err := dockerCLI(ctx, via.host(), "node", "update", "--label-add", label, via.name)
			return err
		})
		if err != nil {
			return nil, err
		}
		took := ms(time.Since(killed))
		rec.Samples = append(rec.Samples, took)
		opts.progress(name, run, "dockerswarm: %s ms (killed leader %s)", FormatFigure(took), leader.name)
		if err := d.startEngine(ctx, leader); err != nil {
			return nil, err
		}
		if err := d.waitManagers(ctx, via.host()); err != nil {
			return nil, err
		}
	}
	return []Record{rec}, nil
}
