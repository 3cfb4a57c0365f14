package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// settleTimeout bounds what the product promises no time for: forming the
// swarm, a manager taking its place in Raft, a restarted node Ready again.
const settleTimeout = 30 * time.Second

// swarm is a Loopback formed into a swarm of managers then workers: nodes
// 1..managers are managers, the rest workers.
type swarm struct {
	*Loopback
	managers, workers []int
}

// swarmLayout is the cluster the fault scenarios share.
const (
	swarmManagers = 3
	swarmWorkers  = 2
)

// startSwarm starts swarmManagers+swarmWorkers loopback nodes and forms a
// swarm with swarmctl, as a user does: init on node 1, the other managers
// join with the manager token (each waited for), then the workers. On
// error the nodes are already torn down.
func startSwarm(ctx context.Context, opts Options) (s *swarm, err error) {
	return startSwarmOn(ctx, opts, false)
}

// startSwarmOn is startSwarm, the nodes in network namespaces of their
// own when netns is set (root only).
func startSwarmOn(ctx context.Context, opts Options, netns bool) (s *swarm, err error) {
	return startSwarmWith(ctx, opts, netns, nil)
}

// startSwarmWith is startSwarmOn with prepare run on the cluster before
// any swarmd starts (to put a node's data directory on a file system of
// its own, say).
func startSwarmWith(ctx context.Context, opts Options, netns bool, prepare func(*Loopback) error) (s *swarm, err error) {
	lb, err := NewLoopback(LoopbackConfig{BinDir: opts.BinDir, Nodes: swarmManagers + swarmWorkers, Netns: netns})
	if err != nil {
		return nil, err
	}
	s = &swarm{Loopback: lb}
	for i := 1; i <= swarmManagers+swarmWorkers; i++ {
		if i <= swarmManagers {
			s.managers = append(s.managers, i)
		} else {
			s.workers = append(s.workers, i)
		}
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.close(opts, err))
		}
	}()
	if prepare != nil {
		if err := prepare(lb); err != nil {
			return s, err
		}
	}
	if err := s.Start(ctx, append(slices.Clone(s.managers), s.workers...)...); err != nil {
		return s, err
	}
	first := s.managers[0]
	if _, err := s.Ctl(ctx, first, "swarm", "init"); err != nil {
		return s, err
	}
	tokens := map[string]string{}
	for _, role := range []string{"manager", "worker"} {
		out, err := s.Ctl(ctx, first, "swarm", "join-token", "-q", role)
		if err != nil {
			return s, err
		}
		tokens[role] = strings.TrimSpace(out)
	}
	for _, m := range s.managers[1:] {
		if _, err := s.Ctl(ctx, m, "swarm", "join", "--token", tokens["manager"], s.Node(first).GatewayAddr()); err != nil {
			return s, err
		}
		host := s.Node(m).Hostname
		err := Poll(ctx, settleTimeout, host+" to be a reachable manager", func(ctx context.Context) error {
			rows, err := s.Nodes(ctx, m)
			if err != nil {
				return err
			}
			for _, r := range rows {
				if r.Hostname == host && r.Status == "Ready" && (r.ManagerStatus == "Leader" || r.ManagerStatus == "Reachable") {
					return nil
				}
			}
			return fmt.Errorf("node ls on %s: %v", host, rows)
		})
		if err != nil {
			return s, err
		}
	}
	for _, w := range s.workers {
		if _, err := s.Ctl(ctx, w, "swarm", "join", "--token", tokens["worker"], s.Node(first).GatewayAddr()); err != nil {
			return s, err
		}
	}
	return s, s.waitHealthy(ctx, first)
}

// restartSettled starts node victim again and waits until every node is
// Ready and service runs replicas tasks, the others stopped, as node from
// sees them: what a fault scenario does before its next repetition.
func (s *swarm) restartSettled(ctx context.Context, victim, from int, service string, replicas int) error {
	if err := s.Start(ctx, victim); err != nil {
		return err
	}
	if err := s.waitHealthy(ctx, from); err != nil {
		return err
	}
	return s.waitSettled(ctx, from, service, replicas)
}

// parameters are the record parameters that describe the swarm.
func (s *swarm) parameters() map[string]string {
	return map[string]string{
		"managers":  strconv.Itoa(len(s.managers)),
		"workers":   strconv.Itoa(len(s.workers)),
		"heartbeat": s.heartbeat.String(),
	}
}

// healthy checks that rows show every node Ready, one leader and the
// other managers reachable.
func (s *swarm) healthy(rows []NodeStatus) error {
	if len(rows) != len(s.nodes) {
		return fmt.Errorf("%d nodes listed, want %d: %v", len(rows), len(s.nodes), rows)
	}
	leaders := 0
	for _, r := range rows {
		n, err := s.NodeByHostname(r.Hostname)
		if err != nil {
			return err
		}
		wantManager := slices.Contains(s.managers, n.Index)
		switch {
		case r.Status != "Ready":
			return fmt.Errorf("%s is %s: %v", r.Hostname, r.Status, rows)
		case wantManager && r.ManagerStatus == "Leader":
			leaders++
		case wantManager && r.ManagerStatus != "Reachable":
			return fmt.Errorf("manager %s is %q: %v", r.Hostname, r.ManagerStatus, rows)
		case !wantManager && r.ManagerStatus != "":
			return fmt.Errorf("worker %s is %q: %v", r.Hostname, r.ManagerStatus, rows)
		}
	}
	if leaders != 1 {
		return fmt.Errorf("%d leaders: %v", leaders, rows)
	}
	return nil
}

// waitHealthy waits until node ls on node from shows a healthy swarm.
func (s *swarm) waitHealthy(ctx context.Context, from int) error {
	return Poll(ctx, settleTimeout, "every node Ready", func(ctx context.Context) error {
		rows, err := s.Nodes(ctx, from)
		if err != nil {
			return err
		}
		return s.healthy(rows)
	})
}

// shows returns a Poll check that node ls on node from shows host with
// the given status.
func (s *swarm) shows(from int, host, status string) func(context.Context) error {
	return func(ctx context.Context) error {
		rows, err := s.Nodes(ctx, from)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if r.Hostname == host {
				if r.Status == status {
					return nil
				}
				return fmt.Errorf("%s is %s", host, r.Status)
			}
		}
		return fmt.Errorf("%s is not listed: %v", host, rows)
	}
}

// leader returns the index of the node that node ls on node from shows as
// the leader.
func (s *swarm) leader(ctx context.Context, from int) (int, error) {
	rows, err := s.Nodes(ctx, from)
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		if r.ManagerStatus == "Leader" {
			n, err := s.NodeByHostname(r.Hostname)
			if err != nil {
				return 0, err
			}
			return n.Index, nil
		}
	}
	return 0, fmt.Errorf("node ls on %s shows no leader: %v", s.Node(from).Hostname, rows)
}

// close tears the swarm down and returns what went wrong doing so. When
// the scenario failed with err (other than an interruption), the tail of
// each node's log goes to opts.Log first.
func (s *swarm) close(opts Options, err error) error {
	if err != nil && !errors.Is(err, context.Canceled) {
		opts.logf("%s", s.LogTails())
	}
	if cerr := s.Close(); cerr != nil {
		return fmt.Errorf("teardown: %w", cerr)
	}
	return nil
}
