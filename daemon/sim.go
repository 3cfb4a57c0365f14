package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/actors"
	"github.com/actorswarm/swarm/actors/task"
	"github.com/actorswarm/swarm/cluster"
	"github.com/actorswarm/swarm/internal/ident"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
	"github.com/actorswarm/swarm/runtime/sim"
)

// Simulated nodes (swarmd --sim-nodes N, for scale benchmarks): a manager
// hosts N nodes of the swarm in its own process. Each is a real node of
// the control shard (a worker offering the sim runtime) with a node actor
// of its own in this swarmd's actor system, registered under its own name,
// that heartbeats to every manager and syncs its tasks with a dispatcher
// like any node; its tasks run in the sim runtime. They share this
// swarmd's certificate and connections, so they cost no key or TLS
// session each.

// simNodesFile lists the IDs of the simulated nodes, so that a restarted
// swarmd hosts the same ones again.
const simNodesFile = "sim-nodes.json"

// simRegisterers is how many registrations are in flight at once.
const simRegisterers = 32

// simNode is one simulated node as its node actor sees it.
type simNode struct {
	d     *Daemon
	id    string
	rt    task.Runtime
	ports *atomic.Uint32
	pool  *actors.Pool
}

// simPoolWorkers is how many goroutines run the simulated nodes' actors
// and their tasks' runners (see actors.Pool): half the CPUs, so that the
// simulated nodes, which stand for other machines, leave the managers'
// own work in this process room to run on time.
func simPoolWorkers() int { return max(goruntime.GOMAXPROCS(0)/2, 1) }

// RunnerDispatcher implements actors.RunnerDispatcher.
func (s *simNode) RunnerDispatcher() actor.Dispatcher { return s.pool }

var _ actors.NodeEngine = (*simNode)(nil)

func (s *simNode) NodeID() string                                            { return s.id }
func (s *simNode) ManagerPeers() []*swarmv1.Peer                             { return s.d.ManagerPeers() }
func (s *simNode) NoteAck(string)                                            {}
func (s *simNode) OnHeartbeatAck(*swarmv1.HeartbeatAck, func() bool)         {}
func (s *simNode) Addr() string                                              { return "" }
func (s *simNode) LBRegistry() *actors.LBRegistry                            { return nil }
func (s *simNode) Networker() task.Networker                                 { return nil }
func (s *simNode) OverlayUpdate([]*swarmv1.MeshNetwork)                      {}
func (s *simNode) OverlayNode([]*swarmv1.Attachment)                         {}
func (s *simNode) BecomeWorker(context.Context, *swarmv1.BecomeWorker) error { return nil }

func (s *simNode) BecomeManager(context.Context, *swarmv1.BecomeManager) error {
	return errors.New("a simulated node cannot become a manager")
}

func (s *simNode) Runtime(name string) task.Runtime {
	if name == "sim" {
		return s.rt
	}
	return nil
}

// FreePort hands out port numbers that nothing binds: sim tasks listen on
// nothing.
func (s *simNode) FreePort() (uint32, error) {
	return 20000 + s.ports.Add(1)%40000, nil
}

// runSimNodes waits until this swarmd is a manager of a swarm, registers
// the simulated nodes it has not registered yet, and starts their actors.
func (d *Daemon) runSimNodes(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(200 * time.Millisecond):
		}
		mgr := d.Manager()
		if mgr == nil || mgr.LeaderNodeID() == "" {
			continue
		}
		ids, err := d.simNodeIDs(stop, mgr)
		if err != nil {
			d.log.Warn("register simulated nodes", "err", err)
			continue
		}
		rt := sim.New(sim.Config{StartLatency: 10 * time.Millisecond, Seed: time.Now().UnixNano()})
		ports := new(atomic.Uint32)
		pool := actors.NewPool(simPoolWorkers(), 300) // protoactor's default throughput
		d.simPool.Store(pool)
		select {
		case <-stop:
			// Close may have looked for the pool before it was stored.
			pool.Close()
			return
		default:
		}
		for i, id := range ids {
			eng := &simNode{d: d, id: id, rt: rt, ports: ports, pool: pool}
			props := actor.PropsFromProducer(func() actor.Actor { return actors.NewNode(eng, d.cfg.Heartbeat) }, actor.WithDispatcher(pool))
			if _, err := d.system.Root.SpawnNamed(props, simActorName(i)); err != nil {
				d.log.Error("spawn simulated node", "node_id", id, "err", err)
			}
		}
		d.log.Info("simulated nodes started", "count", len(ids))
		return
	}
}

func simActorName(i int) string { return fmt.Sprintf("simnode-%06d", i) }

// simNodeIDs returns the IDs of the simulated nodes, registering those
// missing in the control shard (simRegisterers at a time) and recording
// them in the data directory.
func (d *Daemon) simNodeIDs(stop <-chan struct{}, mgr *cluster.Manager) ([]string, error) {
	path := filepath.Join(d.cfg.DataDir, simNodesFile)
	var ids []string
	switch data, err := os.ReadFile(path); {
	case err == nil:
		if err := json.Unmarshal(data, &ids); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	if len(ids) > d.cfg.SimNodes {
		ids = ids[:d.cfg.SimNodes]
	}
	ids = append(ids, make([]string, d.cfg.SimNodes-len(ids))...)
	var todo []int
	for i, id := range ids {
		if id == "" {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return ids, nil
	}
	cpus, mem, osName, arch := d.cfg.description()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		errMu sync.Mutex
		first error
	)
	for range simRegisterers {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= len(todo) || ctx.Err() != nil {
					return
				}
				i := todo[k]
				n := &swarmv1.Node{
					Id:   ident.New(),
					Role: swarmv1.NodeRole_NODE_ROLE_WORKER,
					Description: &swarmv1.NodeDescription{
						Hostname: fmt.Sprintf("%s-sim%06d", d.cfg.Hostname, i), EngineVersion: d.cfg.Version,
						Runtimes: []string{"sim"}, NanoCpus: cpus, MemoryBytes: mem, Os: osName, Arch: arch,
					},
					Status:      &swarmv1.NodeStatus{State: swarmv1.NodeState_NODE_STATE_READY},
					Addr:        d.cfg.Addr,
					GatewayAddr: d.cfg.GatewayAddr(),
					ActorName:   simActorName(i),
				}
				c, cancelOne := context.WithTimeout(ctx, 10*time.Second)
				_, err := mgr.AddSimNode(c, n)
				cancelOne()
				if err != nil {
					errMu.Lock()
					first = cmpOr(first, err)
					errMu.Unlock()
					cancel()
					return
				}
				ids[i] = n.Id
			}
		})
	}
	wg.Wait()
	// Record what was registered, even after a failure, so that a retry
	// does not register those nodes again; "" marks the others.
	data, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, data, 0o600); err != nil {
		return nil, err
	}
	if first != nil {
		return nil, fmt.Errorf("simulated nodes: %w", first)
	}
	return ids, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// Call serves one gateway request as swarmctl's would be served, for
// programs that run swarmd in their own process (swarmbench sim-scale).
func (d *Daemon) Call(ctx context.Context, req *swarmv1.GatewayRequest) *swarmv1.GatewayResponse {
	if resp, ok := d.HandleLocal(ctx, req); ok {
		return resp
	}
	return d.call(req)
}

// AppliedCommands counts the Raft commands applied on this swarmd's
// replicas, of every shard, since it started.
func (d *Daemon) AppliedCommands() uint64 { return d.meshGen.Load() }

// TaskStates counts the tasks of every service shard by state, as this
// manager's replicas know them; nil on a worker.
func (d *Daemon) TaskStates() map[swarmv1.TaskState]int {
	d.mu.RLock()
	r := d.raft
	d.mu.RUnlock()
	if r == nil {
		return nil
	}
	out := make(map[swarmv1.TaskState]int)
	for _, shard := range r.Shards()[1:] {
		v, err := r.LocalRead(shard, func(s *cluster.Store) any { return s.TaskStates() })
		if err != nil {
			continue
		}
		for st, n := range v.(map[swarmv1.TaskState]int) {
			out[st] += n
		}
	}
	return out
}
