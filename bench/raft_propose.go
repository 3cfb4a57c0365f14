package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorswarm/swarm/cluster"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Sizes of raft-propose: commands per measurement, and the proposers of
// the concurrent one.
const (
	raftCommands      = 2000
	raftQuickCommands = 200
	raftReplicas      = 3
	raftProposers     = 64
	// raftWorker is the node whose state the measured commands flip.
	raftWorker = "bench-worker"
)

// raftLeaderTimeout bounds the first election of the replicas.
const raftLeaderTimeout = 30 * time.Second

// runRaftPropose measures the control shard of three Raft replicas in this
// process (no swarmd, no TLS), proposing through the leader: small
// SetNodeStates commands that flip a worker between Ready and Down. Each
// repetition proposes the same number of commands one at a time (latency
// of each in ms, and commands/s) and then from 64 goroutines at once
// (commands/s).
func runRaftPropose(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "raft-propose"
	commands := raftCommands
	if opts.Quick {
		commands = raftQuickCommands
	}
	g, err := startRaftGroup(ctx, raftReplicas)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, g.close()) }()
	leader := g.rafts[g.leader]
	for _, cmd := range g.setupCommands() {
		if _, err := leader.Propose(ctx, cluster.ControlShard, cmd); err != nil {
			return nil, fmt.Errorf("set up the swarm: %w", err)
		}
	}

	params := func(proposers int) map[string]string {
		return map[string]string{
			"replicas":  strconv.Itoa(raftReplicas),
			"commands":  strconv.Itoa(commands),
			"proposers": strconv.Itoa(proposers),
			"command":   "SetNodeStates",
		}
	}
	now := time.Now()
	latency := Record{Scenario: name + "/latency", Parameters: params(1), Started: now, Unit: "ms"}
	sequential := Record{Scenario: name + "/1-proposer", Parameters: params(1), Started: now, Unit: "commands/s"}
	concurrent := Record{Scenario: fmt.Sprintf("%s/%d-proposers", name, raftProposers), Parameters: params(raftProposers), Started: now, Unit: "commands/s"}
	for run := 1; run <= opts.Repeat; run++ {
		var took []float64
		start := time.Now()
		for i := range commands {
			t0 := time.Now()
			if _, err := leader.Propose(ctx, cluster.ControlShard, flipCommand(i)); err != nil {
				return nil, fmt.Errorf("sequential proposal %d: %w", i+1, err)
			}
			took = append(took, ms(time.Since(t0)))
		}
		seqRate := float64(commands) / time.Since(start).Seconds()

		start = time.Now()
		if err := proposeConcurrently(ctx, leader, commands, raftProposers); err != nil {
			return nil, err
		}
		parRate := float64(commands) / time.Since(start).Seconds()

		latency.Samples = append(latency.Samples, took...)
		sequential.Samples = append(sequential.Samples, seqRate)
		concurrent.Samples = append(concurrent.Samples, parRate)
		opts.progress(name, run, "1 proposer %s commands/s (median %s ms), %d proposers %s commands/s",
			FormatFigure(seqRate), FormatFigure(Summarize(took).Median), raftProposers, FormatFigure(parRate))
	}
	return []Record{latency, sequential, concurrent}, nil
}

// proposeConcurrently makes proposers goroutines propose commands commands
// in all, and returns the first error.
func proposeConcurrently(ctx context.Context, r *cluster.Raft, commands, proposers int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next  atomic.Int64 // proposals handed out so far
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for range proposers {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(commands); i = next.Add(1) {
				if _, err := r.Propose(ctx, cluster.ControlShard, flipCommand(int(i))); err != nil {
					once.Do(func() {
						first = fmt.Errorf("concurrent proposal %d: %w", i, err)
						cancel()
					})
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// flipCommand sets raftWorker Down for odd i, Ready for even i.
func flipCommand(i int) *swarmv1.Command {
	state := swarmv1.NodeState_NODE_STATE_READY
	if i%2 == 1 {
		state = swarmv1.NodeState_NODE_STATE_DOWN
	}
	return &swarmv1.Command{Cmd: &swarmv1.Command_SetNodeStates{SetNodeStates: &swarmv1.SetNodeStates{
		Changes: []*swarmv1.NodeStateChange{{NodeId: raftWorker, State: state}},
	}}}
}

// raftGroup is Raft replicas bootstrapped together in this process;
// replica i+1 is rafts[i], and rafts[leader] led the control shard when
// the group started.
type raftGroup struct {
	dir    string
	addrs  []string
	rafts  []*cluster.Raft
	leader int
}

// startRaftGroup bootstraps n replicas on free loopback ports and waits
// until they agree on a leader of the control shard. On error what was
// started is closed.
func startRaftGroup(ctx context.Context, n int) (g *raftGroup, err error) {
	dir, err := os.MkdirTemp("", "swarmbench-raft-")
	if err != nil {
		return nil, fmt.Errorf("raft group: %w", err)
	}
	g = &raftGroup{dir: dir}
	defer func() {
		if err != nil {
			err = errors.Join(err, g.close())
		}
	}()
	if g.addrs, err = freeAddrs(n); err != nil {
		return g, err
	}
	members := make(map[uint64]string, n)
	for i, addr := range g.addrs {
		members[uint64(i+1)] = addr
	}
	for i, addr := range g.addrs {
		r, err := cluster.StartRaft(cluster.RaftConfig{
			Dir:           filepath.Join(dir, fmt.Sprintf("replica-%d", i+1)),
			RaftAddr:      addr,
			ReplicaID:     uint64(i + 1),
			ServiceShards: 1,
		}, cluster.Bootstrap, members)
		if err != nil {
			return g, fmt.Errorf("start replica %d: %w", i+1, err)
		}
		g.rafts = append(g.rafts, r)
	}
	err = Poll(ctx, raftLeaderTimeout, "the replicas to agree on a leader", func(context.Context) error {
		var agreed uint64
		for i, r := range g.rafts {
			id, ok := r.Leader(cluster.ControlShard)
			if !ok || (i > 0 && id != agreed) {
				return errors.New("no agreed leader yet")
			}
			agreed = id
		}
		if agreed < 1 || agreed > uint64(len(g.rafts)) {
			return fmt.Errorf("leader is replica %d, not one of the group", agreed)
		}
		g.leader = int(agreed - 1)
		return nil
	})
	return g, err
}

// setupCommands create the swarm the measured commands work on: replica 1
// as its first manager, and raftWorker.
func (g *raftGroup) setupCommands() []*swarmv1.Command {
	node := func(id string, role swarmv1.NodeRole) *swarmv1.Node {
		return &swarmv1.Node{
			Id:          id,
			Role:        role,
			Description: &swarmv1.NodeDescription{Hostname: id},
			Addr:        "127.0.0.1",
			GatewayAddr: "127.0.0.1:2377",
		}
	}
	manager := node("bench-manager", swarmv1.NodeRole_NODE_ROLE_MANAGER)
	manager.Manager = &swarmv1.ManagerInfo{ReplicaId: 1, RaftAddr: g.addrs[0]}
	secret := func(s string) *swarmv1.JoinTokenSecret {
		return &swarmv1.JoinTokenSecret{Nonce: []byte(s + "-nonce"), Hash: []byte(s + "-hash")}
	}
	return []*swarmv1.Command{
		{Cmd: &swarmv1.Command_InitCluster{InitCluster: &swarmv1.InitCluster{
			Cluster: &swarmv1.Cluster{
				Id:           "swarmbench",
				CaCertDer:    []byte("not a certificate: no TLS in this group"),
				WorkerToken:  secret("worker"),
				ManagerToken: secret("manager"),
			},
			Node: manager,
		}}},
		{Cmd: &swarmv1.Command_AddNode{AddNode: &swarmv1.AddNode{Node: node(raftWorker, swarmv1.NodeRole_NODE_ROLE_WORKER)}}},
	}
}

// close stops every replica and removes their directories.
func (g *raftGroup) close() error {
	for _, r := range g.rafts {
		r.Close()
	}
	g.rafts = nil
	return os.RemoveAll(g.dir)
}

// freeAddrs returns n distinct loopback addresses that were free a moment
// ago: the listeners are all open at once, so no port repeats.
func freeAddrs(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	addrs := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}
