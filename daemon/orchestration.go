package daemon

import (
	"context"
	"fmt"
	"hash/fnv"
	"iter"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/actors"
	"github.com/actorswarm/swarm/actors/scheduler"
	"github.com/actorswarm/swarm/actors/service"
	"github.com/actorswarm/swarm/actors/task"
	"github.com/actorswarm/swarm/cluster"
	"github.com/actorswarm/swarm/internal/clock"
	"github.com/actorswarm/swarm/internal/ident"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
	"github.com/actorswarm/swarm/runtime/docker"
	"github.com/actorswarm/swarm/runtime/process"
	"github.com/actorswarm/swarm/runtime/sim"
)

// newRuntimes builds the runtimes this node offers; with DetectDocker, the
// docker runtime joins them (and cfg.Runtimes) when an engine answers.
func newRuntimes(cfg *Config, p paths) (map[string]task.Runtime, error) {
	out := make(map[string]task.Runtime)
	if cfg.DetectDocker {
		if rt, err := docker.New(docker.Config{Logger: cfg.Logger}); err == nil {
			out["docker"] = rt
			cfg.Runtimes = append(cfg.Runtimes, "docker")
		} else {
			cfg.Logger.Info("docker runtime not offered", "err", err)
		}
	}
	for _, name := range cfg.Runtimes {
		if _, ok := out[name]; ok {
			continue
		}
		switch name {
		case "process":
			dir := filepath.Join(p.dir, "tasks")
			// Tasks died with the swarmd that ran them: their directories
			// are stale.
			_ = os.RemoveAll(dir)
			out[name] = process.New(process.Config{Dir: dir})
		case "sim":
			out[name] = sim.New(sim.Config{StartLatency: 10 * time.Millisecond, Seed: time.Now().UnixNano()})
		case "docker":
			rt, err := docker.New(docker.Config{Logger: cfg.Logger})
			if err != nil {
				return nil, fmt.Errorf("--runtime docker: %w", err)
			}
			out[name] = rt
		}
	}
	return out, nil
}

// Runtime implements actors.NodeEngine.
func (d *Daemon) Runtime(name string) task.Runtime { return d.runtimes[name] }

// Addr implements actors.NodeEngine.
func (d *Daemon) Addr() string { return d.cfg.Addr }

// FreePort implements actors.NodeEngine.
func (d *Daemon) FreePort() (uint32, error) { return process.FreePort() }

// watch is Raft's apply hook: it hands applied entries to the services
// actor (which wakes the supervisors concerned). It must not block: Send
// only enqueues.
func (d *Daemon) watch(a cluster.Applied) {
	d.meshGen.Add(1)
	if pid := d.servicesPID.Load(); pid != nil {
		d.system.Root.Send(pid, &a)
	}
	if pid := d.eventsPID.Load(); pid != nil {
		d.system.Root.Send(pid, &a)
	}
}

// startOrchestrationLocked spawns the supervisors' parent and the
// dispatcher of a manager.
func (d *Daemon) startOrchestrationLocked(env *managerEnv) {
	epid, err := d.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return actors.NewEvents(env) }), actors.EventsName)
	if err != nil {
		d.log.Error("spawn events actor", "err", err)
	} else {
		d.eventsPID.Store(epid)
	}
	pid, err := d.system.Root.SpawnNamed(service.Props(env), service.Name)
	if err != nil {
		d.log.Error("spawn services actor", "err", err)
	} else {
		d.servicesPID.Store(pid)
	}
	dpid, err := d.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return actors.NewDispatcher(env) }), actors.DispatcherName)
	if err != nil {
		d.log.Error("spawn dispatcher", "err", err)
		return
	}
	d.dispatcherPID = dpid
}

func (d *Daemon) stopOrchestrationLocked() {
	if pid := d.eventsPID.Swap(nil); pid != nil {
		_ = d.system.Root.StopFuture(pid).Wait()
	}
	if pid := d.servicesPID.Swap(nil); pid != nil {
		_ = d.system.Root.StopFuture(pid).Wait()
	}
	if d.dispatcherPID != nil {
		_ = d.system.Root.StopFuture(d.dispatcherPID).Wait()
		d.dispatcherPID = nil
	}
}

// managerEnv is the manager as supervisors and the dispatcher see it.
type managerEnv struct {
	raft   *cluster.Raft
	mgr    *cluster.Manager
	system *actor.ActorSystem
	log    *slog.Logger
	mesh   *meshCache
}

// meshCache keeps the routing mesh between changes: it is asked for with
// every heartbeat ack and every task sync, and computed again only when a
// command was applied since (gen moved), at most every meshRefresh.
type meshCache struct {
	gen  *atomic.Uint64
	mu   sync.Mutex
	at   uint64
	when time.Time
	mesh *swarmv1.Mesh
}

// meshRefresh bounds how often the mesh is computed while commands keep
// coming; a change is seen at most this much later.
const meshRefresh = 20 * time.Millisecond

var (
	_ service.Env            = (*managerEnv)(nil)
	_ actors.DispatchControl = (*managerEnv)(nil)
	_ actors.EventSource     = (*managerEnv)(nil)
)

// Node returns a node as this replica knows it, shared with every
// reader: callers must not modify it.
// NodeName implements actors.EventSource.
func (e *managerEnv) NodeName(id string) (string, bool) {
	type name struct {
		host string
		ok   bool
	}
	v, err := e.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any {
		h, ok := s.NodeHostname(id)
		return name{h, ok}
	})
	if err != nil {
		return "", false
	}
	n := v.(name)
	return n.host, n.ok
}

// NodeNames implements actors.EventSource.
func (e *managerEnv) NodeNames(ids []string) map[string]string {
	v, err := e.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any {
		out := make(map[string]string)
		for _, id := range ids {
			if _, done := out[id]; done {
				continue
			}
			if h, ok := s.NodeHostname(id); ok {
				out[id] = h
			}
		}
		return out
	})
	if err != nil {
		return map[string]string{}
	}
	return v.(map[string]string)
}

func (e *managerEnv) Node(id string) (*swarmv1.Node, bool) {
	v, err := e.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any {
		n, _ := s.SharedNode(id)
		return n
	})
	if err != nil || v.(*swarmv1.Node) == nil {
		return nil, false
	}
	return v.(*swarmv1.Node), true
}

// TaskNames implements actors.EventSource: the names of tasks of a shard
// as this replica knows them, in one read.
func (e *managerEnv) TaskNames(shard uint64, ids []string) []cluster.TaskName {
	v, err := e.raft.LocalRead(shard, func(s *cluster.Store) any {
		out := make([]cluster.TaskName, len(ids))
		for i, id := range ids {
			out[i], _ = s.TaskName(id)
		}
		return out
	})
	if err != nil {
		return nil
	}
	return v.([]cluster.TaskName)
}

func (e *managerEnv) ServiceName(id string) string {
	v, err := e.raft.LocalRead(e.raft.ServiceShard(id), func(s *cluster.Store) any {
		svc, _ := s.Service(id)
		return svc.GetSpec().GetName()
	})
	if err != nil {
		return ""
	}
	return v.(string)
}

func (e *managerEnv) LeaderNodeID() string { return e.mgr.LeaderNodeID() }

func (e *managerEnv) Leads(shard uint64) bool  { return e.raft.IsLeader(shard) }
func (e *managerEnv) ServiceShards() []uint64  { return e.raft.Shards()[1:] }
func (e *managerEnv) ShardOf(id string) uint64 { return e.raft.ServiceShard(id) }
func (e *managerEnv) NewID() string            { return ident.New() }
func (e *managerEnv) Now() time.Time           { return clock.Now() }
func (e *managerEnv) Logger() *slog.Logger     { return e.log }

func (e *managerEnv) ServicesIn(shard uint64) []string {
	v, err := e.raft.LocalRead(shard, func(s *cluster.Store) any {
		var ids []string
		for _, svc := range s.Services() {
			ids = append(ids, svc.Id)
		}
		return ids
	})
	if err != nil {
		return nil
	}
	return v.([]string)
}

func (e *managerEnv) View(id string, cache map[string]*swarmv1.Task) (*swarmv1.Service, []*swarmv1.Task, bool) {
	type view struct {
		svc   *swarmv1.Service
		tasks []*swarmv1.Task
	}
	v, err := e.raft.LocalRead(e.raft.ServiceShard(id), func(s *cluster.Store) any {
		svc, ok := s.Service(id)
		if !ok {
			return view{}
		}
		return view{svc, s.TasksOfServiceCached(id, cache)}
	})
	if err != nil || v.(view).svc == nil {
		return nil, nil, false
	}
	return v.(view).svc, v.(view).tasks, true
}

func (e *managerEnv) Nodes() []*swarmv1.Node {
	v, err := e.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any { return s.SharedNodes() })
	if err != nil {
		return nil
	}
	return v.([]*swarmv1.Node)
}

func (e *managerEnv) NodesByID() map[string]*swarmv1.Node {
	v, err := e.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any { return s.SharedNodesByID() })
	if err != nil {
		return nil
	}
	return v.(map[string]*swarmv1.Node)
}

func (e *managerEnv) Rebalance() bool {
	v, err := e.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any {
		return !s.RebalanceDisabled()
	})
	return err == nil && v.(bool)
}

func (e *managerEnv) Usage() iter.Seq2[string, scheduler.Usage] {
	return func(yield func(string, scheduler.Usage) bool) {
		for _, shard := range e.ServiceShards() {
			more := true
			// Yielded inside the read: no copy of each shard's usage.
			_, _ = e.raft.LocalRead(shard, func(s *cluster.Store) any {
				s.EachUsage(func(id string, u *cluster.NodeUsage) {
					if !more {
						return
					}
					sum := scheduler.Usage{Tasks: u.Tasks, NanoCPUs: u.NanoCPUs, MemoryBytes: u.MemoryBytes}
					for port := range u.HostPorts {
						sum.HostPorts = append(sum.HostPorts, port)
					}
					more = yield(id, sum)
				})
				return nil
			})
			if !more {
				return
			}
		}
	}
}

// Starting implements service.Env.
func (e *managerEnv) Starting() int {
	n := 0
	for _, shard := range e.ServiceShards() {
		v, err := e.raft.LocalRead(shard, func(s *cluster.Store) any { return s.StartingTasks() })
		if err == nil {
			n += v.(int)
		}
	}
	return n
}

// TasksOfNode implements actors.DispatchControl.
func (e *managerEnv) TasksOfNode(id string, known map[string]uint64, since map[uint64]uint64, withIDs bool) ([]actors.ShardTasks, error) {
	shards := e.ServiceShards()
	out := make([]actors.ShardTasks, 0, len(shards))
	for _, shard := range shards {
		rev := since[shard]
		v, err := e.raft.LocalRead(shard, func(s *cluster.Store) any {
			return actors.ShardTasks{Shard: shard, NodeTasks: s.ReadNodeTasks(id, known, rev, withIDs)}
		})
		if err != nil {
			// Without a shard's tasks the node would stop those it runs.
			return nil, fmt.Errorf("tasks of node %s: %w", id, err)
		}
		out = append(out, v.(actors.ShardTasks))
	}
	return out, nil
}

func (e *managerEnv) Barrier(ctx context.Context, shard uint64) error {
	_, err := e.raft.Read(ctx, shard, func(*cluster.Store) any { return nil })
	return err
}

func (e *managerEnv) Propose(ctx context.Context, shard uint64, cmd *swarmv1.Command) error {
	_, err := e.raft.Propose(ctx, shard, cmd)
	return err
}

// Attach implements actors.DispatchControl: tasks that will run get
// their overlay addresses, allocated on the control shard in one entry
// for those that have none yet.
func (e *managerEnv) Attach(ctx context.Context, tasks []*swarmv1.Task) error {
	type plan struct {
		have map[string][]*swarmv1.Attachment
		want []*swarmv1.AttachmentRequest
	}
	v, err := e.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any {
		p := plan{have: make(map[string][]*swarmv1.Attachment)}
		for _, t := range tasks {
			if t.DesiredState > swarmv1.TaskState_TASK_STATE_RUNNING || cluster.Terminal(t.GetStatus().GetState()) {
				continue
			}
			nets := s.NetworksOfService(t.ServiceId)
			if len(nets) == 0 {
				continue
			}
			if have := s.AttachmentsOf(t.Id); len(have) == len(nets) {
				p.have[t.Id] = have
				continue
			}
			p.want = append(p.want, &swarmv1.AttachmentRequest{TaskId: t.Id, ServiceId: t.ServiceId, ServiceName: t.ServiceName,
				Slot: t.Slot, NodeId: t.NodeId, NetworkIds: nets})
		}
		return p
	})
	if err != nil {
		return err
	}
	p := v.(plan)
	if len(p.want) > 0 {
		res, err := e.raft.Propose(ctx, cluster.ControlShard, &swarmv1.Command{Cmd: &swarmv1.Command_AllocateAttachments{
			AllocateAttachments: &swarmv1.AllocateAttachments{Requests: p.want},
		}})
		if err != nil {
			return err
		}
		for _, a := range res.Attachments {
			p.have[a.TaskId] = append(p.have[a.TaskId], a)
		}
	}
	for _, t := range tasks {
		t.Attachments = p.have[t.Id]
	}
	return nil
}

// AttachNode implements actors.DispatchControl: a node gets an address of
// its own on every network of a service that publishes ports, so that its
// load balancers reach the service's tasks at their overlay addresses and
// the answers find their way back to it.
func (e *managerEnv) AttachNode(ctx context.Context, nodeID string) ([]*swarmv1.Attachment, error) {
	holder := "node:" + nodeID
	type plan struct {
		have []*swarmv1.Attachment
		want []string
	}
	v, err := e.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any {
		p := plan{have: s.AttachmentsOf(holder)}
		for _, id := range s.PublishedNetworks() {
			if !slices.ContainsFunc(p.have, func(a *swarmv1.Attachment) bool { return a.NetworkId == id }) {
				p.want = append(p.want, id)
			}
		}
		return p
	})
	if err != nil {
		return nil, err
	}
	p := v.(plan)
	if len(p.want) == 0 {
		return p.have, nil
	}
	res, err := e.raft.Propose(ctx, cluster.ControlShard, &swarmv1.Command{Cmd: &swarmv1.Command_AllocateAttachments{
		AllocateAttachments: &swarmv1.AllocateAttachments{Requests: []*swarmv1.AttachmentRequest{{
			TaskId: holder, NodeId: nodeID, NetworkIds: append(networkIDs(p.have), p.want...),
		}}},
	}})
	if err != nil {
		return nil, err
	}
	return res.Attachments, nil
}

func networkIDs(as []*swarmv1.Attachment) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.NetworkId
	}
	return out
}

// Release implements actors.DispatchControl: the addresses of ended tasks
// are freed, in one entry, when any of them holds some.
func (e *managerEnv) Release(ctx context.Context, taskIDs []string) error {
	v, err := e.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any {
		var held []string
		for _, id := range taskIDs {
			if len(s.AttachmentsOf(id)) > 0 {
				held = append(held, id)
			}
		}
		return held
	})
	if err != nil || len(v.([]string)) == 0 {
		return err
	}
	_, err = e.raft.Propose(ctx, cluster.ControlShard, &swarmv1.Command{Cmd: &swarmv1.Command_ReleaseAttachments{
		ReleaseAttachments: &swarmv1.ReleaseAttachments{TaskIds: v.([]string)},
	}})
	return err
}

// SetPortErrors records the published ports a node cannot serve when
// they differ from what its replica of the control shard holds.
func (e *managerEnv) SetPortErrors(ctx context.Context, nodeID string, errs map[string]string) error {
	v, err := e.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any {
		known, equal := s.PortErrorsEqual(nodeID, errs)
		return !known || equal
	})
	if err != nil || v.(bool) {
		return nil
	}
	_, err = e.raft.Propose(ctx, cluster.ControlShard, &swarmv1.Command{Cmd: &swarmv1.Command_SetNodePortErrors{
		SetNodePortErrors: &swarmv1.SetNodePortErrors{NodeId: nodeID, PortErrors: errs},
	}})
	return err
}

// Poke tells the node actors of nodeIDs to sync their tasks now, with
// shard read up to date, and those of created their new tasks (a node
// in both syncs).
func (e *managerEnv) Poke(shard uint64, nodeIDs []string, created map[string][]*swarmv1.Task) {
	type told struct {
		pid *actor.PID
		msg *swarmv1.TasksChanged
	}
	v, err := e.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any {
		seen := make(map[string]bool, len(nodeIDs)+len(created))
		var out []told
		tell := func(id string, msg *swarmv1.TasksChanged) {
			if seen[id] {
				return
			}
			seen[id] = true
			addr, name, ok := s.NodeAddress(id)
			if !ok || addr == "" {
				return
			}
			out = append(out, told{actors.NodePID(&swarmv1.Node{GatewayAddr: addr, ActorName: name}), msg})
		}
		for _, id := range nodeIDs {
			tell(id, &swarmv1.TasksChanged{Shard: shard})
		}
		for id, tasks := range created {
			tell(id, &swarmv1.TasksChanged{Shard: shard, Created: tasks})
		}
		return out
	})
	if err != nil {
		return
	}
	for _, t := range v.([]told) {
		e.system.Root.Send(t.pid, t.msg)
	}
}

// Mesh is the routing mesh as this manager's replicas know it: every
// published ingress port with the running tasks of its service on Ready
// nodes, and a version that changes with any of it.
func (e *managerEnv) Mesh() *swarmv1.Mesh {
	c := e.mesh
	if c == nil {
		return e.computeMesh()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	gen := c.gen.Load()
	if c.mesh != nil && (gen == c.at || time.Since(c.when) < meshRefresh) {
		return c.mesh
	}
	c.mesh, c.at, c.when = e.computeMesh(), gen, time.Now()
	return c.mesh
}

func (e *managerEnv) computeMesh() *swarmv1.Mesh {
	// The Ready nodes' addresses, made when a published port needs them
	// (there may be ten thousand nodes and no published port).
	var addrs map[string]string
	nodeAddr := func(id string) (string, bool) {
		if addrs == nil {
			addrs = make(map[string]string)
			for _, n := range e.Nodes() {
				if n.GetStatus().GetState() == swarmv1.NodeState_NODE_STATE_READY {
					addrs[n.Id] = n.Addr
				}
			}
		}
		a, ok := addrs[id]
		return a, ok
	}
	mesh := &swarmv1.Mesh{}
	// Tasks on overlay networks are reached at their first network's
	// address; the services' networks come from their reservations.
	type overlayView struct {
		addr map[string]string   // task ID → overlay address
		nets map[string][]string // service ID → network IDs
	}
	ov := overlayView{addr: map[string]string{}, nets: map[string][]string{}}
	if v, err := e.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any {
		o := overlayView{addr: map[string]string{}, nets: s.ServiceNetworks()}
		for _, a := range s.Attachments() {
			if nets := o.nets[a.ServiceId]; len(nets) > 0 && nets[0] == a.NetworkId {
				o.addr[a.TaskId] = a.Address
			}
		}
		return o
	}); err == nil {
		ov = v.(overlayView)
	}
	for _, shard := range e.ServiceShards() {
		v, err := e.raft.LocalRead(shard, func(s *cluster.Store) any {
			var ports []*swarmv1.MeshPort
			var published []*swarmv1.Service
			s.EachService(func(svc *swarmv1.Service) {
				if slices.ContainsFunc(svc.Ports, func(p *swarmv1.PortConfig) bool {
					return p.GetMode() != swarmv1.PublishMode_PUBLISH_MODE_HOST
				}) {
					published = append(published, svc)
				}
			})
			slices.SortFunc(published, func(a, b *swarmv1.Service) int { return strings.Compare(a.Id, b.Id) })
			for _, svc := range published {
				var backends []string
				for _, t := range s.TasksOfService(svc.Id) {
					st := t.GetStatus()
					if t.DesiredState != swarmv1.TaskState_TASK_STATE_RUNNING || st.GetState() != swarmv1.TaskState_TASK_STATE_RUNNING || st.GetPort() == 0 {
						continue
					}
					if len(ov.nets[svc.Id]) > 0 {
						if addr, ok := ov.addr[t.Id]; ok {
							if a, _ := nodeAddr(t.NodeId); a == "" {
								continue
							}
							backends = append(backends, net.JoinHostPort(addr, strconv.FormatUint(uint64(st.GetPort()), 10)))
						}
						continue
					}
					if addr, ok := nodeAddr(t.NodeId); ok {
						backends = append(backends, net.JoinHostPort(addr, strconv.FormatUint(uint64(st.GetPort()), 10)))
					}
				}
				sort.Strings(backends)
				for _, p := range svc.Ports {
					if p.GetMode() == swarmv1.PublishMode_PUBLISH_MODE_HOST {
						continue
					}
					ports = append(ports, &swarmv1.MeshPort{
						Port: p.PublishedPort, Protocol: p.Protocol, ServiceId: svc.Id,
						ServiceName: svc.GetSpec().GetName(), Lb: p.Lb, Backends: backends,
						ProxyProtocol: p.ProxyProtocol, DrainTimeoutNano: svc.GetSpec().GetTask().GetStopGraceNano(),
						NetworkIds: ov.nets[svc.Id],
					})
				}
			}
			return ports
		})
		if err == nil {
			mesh.Ports = append(mesh.Ports, v.([]*swarmv1.MeshPort)...)
		}
	}
	sort.Slice(mesh.Ports, func(i, j int) bool { return mesh.Ports[i].Port < mesh.Ports[j].Port })
	if v, err := e.raft.LocalRead(cluster.ControlShard, meshNetworks); err == nil {
		mesh.Networks = v.([]*swarmv1.MeshNetwork)
	}
	h := fnv.New64a()
	for _, p := range mesh.Ports {
		fmt.Fprintf(h, "%d/%d/%s/%s/%t/%d/%s|", p.Port, p.Protocol, p.ServiceId, p.Lb, p.ProxyProtocol, p.DrainTimeoutNano, strings.Join(p.Backends, ","))
	}
	for _, n := range mesh.Networks {
		fmt.Fprintf(h, "net %s/%d/%s/%s|", n.Id, n.Vni, n.Subnet, n.Gateway)
		for _, ep := range n.Endpoints {
			fmt.Fprintf(h, "%s/%s/%s/%d/%s|", ep.Address, ep.TaskId, ep.ServiceName, ep.Slot, ep.NodeAddr)
		}
	}
	mesh.Version = strconv.FormatUint(h.Sum64(), 36)
	return mesh
}

// meshNetworks lists the overlay networks with their endpoints: every
// task address with the underlay address of its node's forwarder. Tasks
// on nodes that are not Ready are left out.
func meshNetworks(s *cluster.Store) any {
	nets := s.Networks()
	if len(nets) == 0 {
		return []*swarmv1.MeshNetwork(nil)
	}
	addrs := make(map[string]string)
	for _, n := range s.SharedNodes() {
		port := n.GetDescription().GetVxlanPort()
		if n.GetStatus().GetState() == swarmv1.NodeState_NODE_STATE_READY && port != 0 {
			addrs[n.Id] = net.JoinHostPort(n.Addr, strconv.FormatUint(uint64(port), 10))
		}
	}
	byNet := make(map[string][]*swarmv1.MeshEndpoint)
	for _, a := range s.Attachments() {
		if addr, ok := addrs[a.NodeId]; ok {
			byNet[a.NetworkId] = append(byNet[a.NetworkId], &swarmv1.MeshEndpoint{
				Address: a.Address, TaskId: a.TaskId, ServiceName: a.ServiceName, Slot: a.Slot, NodeId: a.NodeId, NodeAddr: addr,
			})
		}
	}
	var out []*swarmv1.MeshNetwork
	for _, n := range nets {
		out = append(out, &swarmv1.MeshNetwork{Id: n.Id, Name: n.GetSpec().GetName(), Vni: n.Vni, Subnet: n.Subnet, Gateway: n.Gateway, Endpoints: byNet[n.Id]})
	}
	return out
}
