package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/actorswarm/swarm/actors"
	"github.com/actorswarm/swarm/cluster"
	"github.com/actorswarm/swarm/internal/gwrpc"
	"github.com/actorswarm/swarm/internal/ident"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Messages in Docker's wording.
const (
	msgNotInSwarm = "This node is not a swarm manager. Use \"swarmctl swarm init\" or \"swarmctl swarm join\" to connect this node to swarm and try again."
	msgInSwarm    = "This node is already part of a swarm. Use \"swarmctl swarm leave\" to leave this swarm and join another one."
	msgNotJoined  = "This node is not part of a swarm"
)

var (
	_ actors.GatewayEngine = (*Daemon)(nil)
	_ actors.NodeEngine    = (*Daemon)(nil)
)

func errResp(format string, args ...any) *swarmv1.GatewayResponse {
	return &swarmv1.GatewayResponse{Error: fmt.Sprintf(format, args...)}
}

// NodeID implements actors.GatewayEngine and actors.NodeEngine.
func (d *Daemon) NodeID() string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.id == nil {
		return ""
	}
	return d.id.NodeID
}

// Manager implements actors.GatewayEngine.
func (d *Daemon) Manager() *cluster.Manager {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.mgr
}

// ManagerPeers implements actors.GatewayEngine and actors.NodeEngine: the
// managers as the local replica knows them on a manager, else as the last
// heartbeat acknowledgement said; those that answered a heartbeat lately
// come first, so that forwarding skips dead managers.
func (d *Daemon) ManagerPeers() []*swarmv1.Peer {
	d.mu.RLock()
	var ps []*swarmv1.Peer
	self := ""
	if d.mgr != nil {
		ps = d.mgr.Peers()
		self = d.id.NodeID
	}
	if len(ps) == 0 && d.id != nil {
		ps = d.id.peers()
	}
	d.mu.RUnlock()
	d.ackMu.Lock()
	defer d.ackMu.Unlock()
	// This node itself when it runs a manager (its tasks, and those of the
	// simulated nodes it hosts, sync without leaving the process), then
	// managers that answered a heartbeat lately, then those not heard from
	// for a while, last those whose connection broke since their last
	// answer (or that never answered).
	rank := func(p *swarmv1.Peer) int {
		acked := d.acks[p.NodeId]
		switch {
		case p.NodeId == self:
			return -1
		case d.lost[p.GatewayAddr].After(acked):
			return 2
		case time.Since(acked) < actors.Grace(d.cfg.Heartbeat):
			return 0
		}
		return 1
	}
	sort.SliceStable(ps, func(i, j int) bool { return rank(ps[i]) < rank(ps[j]) })
	return ps
}

// LostSince implements actors.GatewayEngine.
func (d *Daemon) LostSince(addr string, t time.Time) bool {
	d.ackMu.Lock()
	defer d.ackMu.Unlock()
	return d.lost[addr].After(t)
}

// SilentSince implements actors.GatewayEngine.
func (d *Daemon) SilentSince(nodeID string, t time.Time) bool {
	d.ackMu.Lock()
	acked := d.acks[nodeID]
	d.ackMu.Unlock()
	if acked.IsZero() {
		return false // no heartbeat answered yet: nothing to judge by
	}
	if acked.Before(t) {
		acked = t
	}
	return time.Since(acked) > actors.Grace(d.cfg.Heartbeat)
}

// NoteAck implements actors.NodeEngine.
func (d *Daemon) NoteAck(managerID string) {
	d.ackMu.Lock()
	d.acks[managerID] = time.Now()
	d.ackMu.Unlock()
}

// HandleLocal implements actors.GatewayEngine.
func (d *Daemon) HandleLocal(ctx context.Context, req *swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, bool) {
	switch r := req.Req.(type) {
	case *swarmv1.GatewayRequest_Info:
		return d.info(), true
	case *swarmv1.GatewayRequest_SwarmInit:
		return d.swarmInit(ctx, r.SwarmInit), true
	case *swarmv1.GatewayRequest_SwarmJoin:
		return d.swarmJoin(ctx, r.SwarmJoin), true
	case *swarmv1.GatewayRequest_SwarmLeave:
		return d.swarmLeave(r.SwarmLeave), true
	case *swarmv1.GatewayRequest_Events:
		if pid := d.eventsPID.Load(); pid != nil {
			return d.events(pid, r.Events), true
		}
	case nil:
		return errResp("empty request"), true
	}
	if d.NodeID() == "" {
		return errResp(msgNotInSwarm), true
	}
	return nil, false
}

// events reads the events this manager recorded.
func (d *Daemon) events(pid *actor.PID, req *swarmv1.EventsRequest) *swarmv1.GatewayResponse {
	res, err := d.system.Root.RequestFuture(pid, req, 5*time.Second).Result()
	if err != nil {
		return errResp("events: %v", err)
	}
	resp, ok := res.(*swarmv1.EventsResponse)
	if !ok {
		return errResp("events: unexpected answer %T", res)
	}
	resp.ManagerId = d.NodeID()
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_Events{Events: resp}}
}

func (d *Daemon) info() *swarmv1.GatewayResponse {
	d.mu.RLock()
	defer d.mu.RUnlock()
	info := &swarmv1.InfoResponse{Addr: d.cfg.Addr, GatewayAddr: d.cfg.GatewayAddr(), Version: d.cfg.Version}
	if d.id != nil {
		info.Joined = true
		info.NodeId, info.ClusterId = d.id.NodeID, d.id.ClusterID
		info.Role = swarmv1.NodeRole_NODE_ROLE_WORKER
		if d.id.Manager {
			info.Role = swarmv1.NodeRole_NODE_ROLE_MANAGER
		}
		for _, p := range d.id.Managers {
			info.ManagerAddrs = append(info.ManagerAddrs, p.GatewayAddr)
		}
	}
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_Info{Info: info}}
}

func (d *Daemon) checkAdvertise(addr string) error {
	if addr == "" {
		return nil
	}
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("advertise address %q is not an IP address", addr)
	}
	if host != d.cfg.Addr {
		return fmt.Errorf("advertise address %s must be the address swarmd listens on (--addr %s)", host, d.cfg.Addr)
	}
	return nil
}

func randUint64() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return binary.BigEndian.Uint64(b[:]) | 1
}

func newRaftDir() string { return "raft-" + ident.New()[:8] }

// selfNode describes this node for the swarm.
func (d *Daemon) selfNode(nodeID string, pub []byte) *swarmv1.Node {
	cpus, mem, osName, arch := d.cfg.description()
	return &swarmv1.Node{
		Id: nodeID,
		Description: &swarmv1.NodeDescription{
			Hostname: d.cfg.Hostname, EngineVersion: d.cfg.Version, Runtimes: d.cfg.Runtimes,
			NanoCpus: cpus, MemoryBytes: mem, Os: osName, Arch: arch, PublicKeyDer: pub,
			VxlanPort: uint32(d.cfg.VXLANPort), Overlay: overlayCapable(),
		},
		Status:      &swarmv1.NodeStatus{State: swarmv1.NodeState_NODE_STATE_READY},
		Addr:        d.cfg.Addr,
		GatewayAddr: d.cfg.GatewayAddr(),
		RaftAddr:    d.cfg.RaftAddr(),
	}
}

func (d *Daemon) swarmInit(ctx context.Context, r *swarmv1.SwarmInitRequest) *swarmv1.GatewayResponse {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.checkAdvertise(r.GetAdvertiseAddr()); err != nil {
		return errResp("%v", err)
	}
	if r.GetForceNewCluster() {
		resp, err := d.forceNewClusterLocked(ctx)
		if err != nil {
			return errResp("force new cluster: %v", err)
		}
		return resp
	}
	if d.id != nil {
		return errResp(msgInSwarm)
	}
	resp, err := d.initLocked(ctx)
	if err != nil {
		d.wipeLocked()
		return errResp("init: %v", err)
	}
	return resp
}

func (d *Daemon) initLocked(ctx context.Context) (*swarmv1.GatewayResponse, error) {
	now := time.Now()
	clusterID, nodeID := ident.New(), ident.New()
	ca, err := cluster.NewCA(clusterID, now, rand.Reader)
	if err != nil {
		return nil, err
	}
	caKey, err := ca.KeyDER()
	if err != nil {
		return nil, err
	}
	key, err := cluster.NewKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	certDER, err := ca.Issue(&key.PublicKey, nodeID, cluster.OUManager, []net.IP{net.ParseIP(d.cfg.Addr)}, now, rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := writeCerts(d.paths, ca.CertDER, certDER, key); err != nil {
		return nil, err
	}
	if err := writeAdmin(d.paths, ca, now); err != nil {
		return nil, err
	}
	workerTok, workerSecret, err := cluster.NewTokenSecret(rand.Reader, caKey, swarmv1.NodeRole_NODE_ROLE_WORKER)
	if err != nil {
		return nil, err
	}
	managerTok, _, err := cluster.NewTokenSecret(rand.Reader, caKey, swarmv1.NodeRole_NODE_ROLE_MANAGER)
	if err != nil {
		return nil, err
	}
	id := &identity{NodeID: nodeID, ClusterID: clusterID, Manager: true, ReplicaID: 1, DeploymentID: randUint64(), RaftDir: newRaftDir(), Settled: true}
	r, err := cluster.StartRaft(d.raftConfig(1, id.DeploymentID, id.RaftDir), cluster.Bootstrap, map[uint64]string{1: d.cfg.RaftAddr()})
	if err != nil {
		return nil, err
	}
	node := d.selfNode(nodeID, pub)
	node.Role = swarmv1.NodeRole_NODE_ROLE_MANAGER
	node.Manager = &swarmv1.ManagerInfo{ReplicaId: 1, RaftAddr: d.cfg.RaftAddr()}
	cmd := &swarmv1.Command{Cmd: &swarmv1.Command_InitCluster{InitCluster: &swarmv1.InitCluster{
		Cluster: &swarmv1.Cluster{
			Id: clusterID, CaCertDer: ca.CertDER, CaKeyDer: caKey,
			WorkerToken: workerTok, ManagerToken: managerTok, NextReplicaId: 2,
			Settings: &swarmv1.ClusterSettings{HeartbeatPeriodNano: int64(d.cfg.Heartbeat), TaskHistoryLimit: 5},
		},
		Node: node,
	}}}
	if _, err := r.Propose(ctx, cluster.ControlShard, cmd); err != nil {
		r.Close()
		return nil, err
	}
	id.Managers = peersFrom(cluster.PeersOf([]*swarmv1.Node{node}))
	if err := saveIdentity(d.paths, id); err != nil {
		r.Close()
		return nil, err
	}
	d.id = id
	if err := d.creds.set(ca.CertDER, certDER, key); err != nil {
		return nil, err
	}
	d.startManagerLocked(r)
	d.log.Info("swarm initialized", "node_id", nodeID, "cluster_id", clusterID)
	token := cluster.FormatToken(cluster.CADigest(ca.CertDER), workerSecret)
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_SwarmInit{SwarmInit: &swarmv1.SwarmInitResponse{
		NodeId: nodeID, WorkerToken: token, GatewayAddr: d.cfg.GatewayAddr(),
	}}}, nil
}

// forceNewClusterLocked rebuilds a swarm from this manager's state alone:
// a new Raft deployment whose only member is this node, seeded with the
// state of every shard as this replica has it; the other managers become
// workers in that state and learn it from their next heartbeat.
func (d *Daemon) forceNewClusterLocked(ctx context.Context) (*swarmv1.GatewayResponse, error) {
	if d.id == nil || !d.id.Manager || d.raft == nil {
		return nil, errors.New("--force-new-cluster needs a manager of an existing swarm")
	}
	snaps := make(map[uint64]*swarmv1.Snapshot)
	for _, shard := range d.raft.Shards() {
		v, err := d.raft.LocalRead(shard, func(s *cluster.Store) any { return s.Snapshot() })
		if err != nil {
			return nil, err
		}
		snaps[shard] = v.(*swarmv1.Snapshot)
	}
	ctl := snaps[cluster.ControlShard]
	if ctl.GetCluster() == nil {
		return nil, errors.New("this manager holds no swarm state")
	}
	replica := ctl.Cluster.NextReplicaId
	ctl.Cluster.NextReplicaId++
	for _, n := range ctl.Nodes {
		switch {
		case n.Id == d.id.NodeID:
			n.Role = swarmv1.NodeRole_NODE_ROLE_MANAGER
			n.Manager = &swarmv1.ManagerInfo{ReplicaId: replica, RaftAddr: d.cfg.RaftAddr()}
		case n.Role == swarmv1.NodeRole_NODE_ROLE_MANAGER:
			n.Role = swarmv1.NodeRole_NODE_ROLE_WORKER
			n.Manager = nil
		}
	}
	oldDir := d.id.RaftDir
	d.stopManagerLocked()
	deployment, dir := randUint64(), newRaftDir()
	r, err := cluster.StartRaft(d.raftConfig(replica, deployment, dir), cluster.Bootstrap, map[uint64]string{replica: d.cfg.RaftAddr()})
	if err != nil {
		return nil, err
	}
	for _, shard := range r.Shards() {
		if _, err := r.Propose(ctx, shard, &swarmv1.Command{Cmd: &swarmv1.Command_RestoreState{RestoreState: &swarmv1.RestoreState{Snapshot: snaps[shard]}}}); err != nil {
			r.Close()
			return nil, err
		}
	}
	d.id.ReplicaID, d.id.DeploymentID, d.id.RaftDir, d.id.Settled, d.id.JoinedNonVoting = replica, deployment, dir, true, false
	var self *swarmv1.Node
	for _, n := range ctl.Nodes {
		if n.Id == d.id.NodeID {
			self = n
		}
	}
	d.id.Managers = peersFrom(cluster.PeersOf([]*swarmv1.Node{self}))
	if err := saveIdentity(d.paths, d.id); err != nil {
		r.Close()
		return nil, err
	}
	_ = os.RemoveAll(d.paths.raft(oldDir))
	d.startManagerLocked(r)
	d.log.Warn("forced a new cluster from this manager's state", "replica_id", replica)
	token := cluster.TokenFor(ctl.Cluster.CaCertDer, ctl.Cluster.CaKeyDer, swarmv1.NodeRole_NODE_ROLE_WORKER, ctl.Cluster.WorkerToken)
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_SwarmInit{SwarmInit: &swarmv1.SwarmInitResponse{
		NodeId: d.id.NodeID, WorkerToken: token, GatewayAddr: d.cfg.GatewayAddr(),
	}}}, nil
}

func (d *Daemon) swarmJoin(ctx context.Context, r *swarmv1.SwarmJoinRequest) *swarmv1.GatewayResponse {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.id != nil {
		return errResp(msgInSwarm)
	}
	if err := d.checkAdvertise(r.GetAdvertiseAddr()); err != nil {
		return errResp("%v", err)
	}
	digest, _, err := cluster.ParseToken(r.GetToken())
	if err != nil {
		return errResp("%v", err)
	}
	remoteAddr := r.GetRemoteAddr()
	if _, _, err := net.SplitHostPort(remoteAddr); err != nil {
		remoteAddr = net.JoinHostPort(remoteAddr, "2377")
	}
	if _, err := netip.ParseAddrPort(remoteAddr); err != nil {
		return errResp("invalid manager address %q: want IP:PORT", r.GetRemoteAddr())
	}
	key, err := cluster.NewKey(rand.Reader)
	if err != nil {
		return errResp("%v", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return errResp("%v", err)
	}
	self := d.selfNode("", pub)
	desc := self.Description
	req := &swarmv1.JoinRequest{
		Token: r.GetToken(), Hostname: desc.Hostname, Addr: self.Addr, GatewayAddr: self.GatewayAddr,
		RaftAddr: self.RaftAddr, Runtimes: desc.Runtimes, PublicKeyDer: pub, EngineVersion: desc.EngineVersion,
		NanoCpus: desc.NanoCpus, MemoryBytes: desc.MemoryBytes, Os: desc.Os, Arch: desc.Arch, VxlanPort: desc.VxlanPort, Overlay: desc.Overlay,
	}
	resp, err := callJoin(ctx, remoteAddr, digest, req)
	if err != nil {
		return errResp("%v", err)
	}
	if resp.Error != "" {
		return errResp("%s", resp.Error)
	}
	if err := d.joinedLocked(remoteAddr, resp, key); err != nil {
		d.wipeLocked()
		return errResp("join: %v", err)
	}
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_SwarmJoin{SwarmJoin: &swarmv1.SwarmJoinResponse{NodeId: resp.NodeId, Role: resp.Role}}}
}

// callJoin sends the join request to a manager over TLS pinned to the CA
// digest of the token.
func callJoin(ctx context.Context, addr, digest string, req *swarmv1.JoinRequest) (*swarmv1.JoinResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, addr, grpc.WithTransportCredentials(credentials.NewTLS(pinnedTLS(digest))))
	if err != nil {
		return nil, fmt.Errorf("cannot reach manager at %s: %w", addr, err)
	}
	defer conn.Close()
	resp := &swarmv1.JoinResponse{}
	if err := conn.Invoke(ctx, gwrpc.MethodJoin, req, resp); err != nil {
		return nil, fmt.Errorf("join via %s: %w", addr, err)
	}
	return resp, nil
}

func (d *Daemon) joinedLocked(via string, resp *swarmv1.JoinResponse, key *ecdsa.PrivateKey) error {
	if err := writeCerts(d.paths, resp.CaCertDer, resp.CertDer, key); err != nil {
		return err
	}
	id := &identity{
		NodeID: resp.NodeId, ClusterID: resp.ClusterId, DeploymentID: resp.DeploymentId,
		Managers: peersFrom(resp.Managers),
	}
	if err := d.creds.set(resp.CaCertDer, resp.CertDer, key); err != nil {
		return err
	}
	if resp.Role == swarmv1.NodeRole_NODE_ROLE_MANAGER {
		id.Manager, id.ReplicaID, id.RaftDir, id.Settled, id.JoinedNonVoting = true, resp.ReplicaId, newRaftDir(), true, true
		r, err := cluster.StartRaft(d.raftConfig(id.ReplicaID, id.DeploymentID, id.RaftDir), cluster.Join, nil)
		if err != nil {
			return err
		}
		d.id = id
		d.startManagerLocked(r)
		if err := d.addOwnReplicas(via, id.NodeID, r); err != nil {
			return err
		}
	}
	d.id = id
	if err := saveIdentity(d.paths, id); err != nil {
		return err
	}
	d.log.Info("joined swarm", "node_id", id.NodeID, "manager", id.Manager)
	return nil
}

// addOwnReplicas has the manager at addr add this node's started replicas:
// as non-voting members, then, once every shard's leader has reached them,
// as voting ones.
func (d *Daemon) addOwnReplicas(addr, nodeID string, r *cluster.Raft) error {
	if err := d.replicaReady(addr, nodeID, false); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.WaitLeaders(ctx); err != nil {
		return err
	}
	if err := d.replicaReady(addr, nodeID, true); err != nil {
		return err
	}
	return r.SettleVoting(ctx)
}

// replicaReady asks the manager at addr to add this node's replicas.
func (d *Daemon) replicaReady(addr, nodeID string, voting bool) error {
	req := &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_ReplicaReady{ReplicaReady: &swarmv1.ReplicaReadyRequest{NodeId: nodeID, Voting: voting}}}
	res, err := d.system.Root.RequestFuture(actor.NewPID(addr, actors.GatewayName), req, actors.RequestTimeout).Result()
	if err != nil {
		return fmt.Errorf("manager %s did not add this node's replicas: %w", addr, err)
	}
	if resp, ok := res.(*swarmv1.GatewayResponse); !ok || resp.Error != "" {
		return fmt.Errorf("manager %s did not add this node's replicas: %v", addr, resp.GetError())
	}
	return nil
}

func (d *Daemon) swarmLeave(r *swarmv1.SwarmLeaveRequest) *swarmv1.GatewayResponse {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.id == nil {
		return errResp(msgNotJoined)
	}
	if d.id.Manager && !r.GetForce() {
		total := len(d.id.Managers)
		if d.mgr != nil {
			total = len(d.mgr.Peers())
		}
		if total <= 1 {
			return errResp("You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message.")
		}
		return errResp("You are attempting to leave the swarm on a node that is participating as a manager. Removing this node leaves %d managers out of %d. Without a Raft quorum your swarm will be inaccessible. The only way to restore a swarm that has lost consensus is to reinitialize it with `--force-new-cluster`. Use `--force` to suppress this message.", total-1, total)
	}
	left := &swarmv1.NodeLeft{NodeId: d.id.NodeID}
	for _, p := range d.id.peers() {
		d.system.Root.Send(actor.NewPID(p.GatewayAddr, actors.HealthName), left)
	}
	d.wipeLocked()
	d.log.Info("left the swarm")
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_Empty{Empty: &swarmv1.EmptyResponse{}}}
}

// wipeLocked forgets the swarm: stops Raft and removes identity, certs and
// Raft data.
func (d *Daemon) wipeLocked() {
	var raftDir string
	if d.id != nil {
		raftDir = d.id.RaftDir
	}
	d.stopManagerLocked()
	_ = os.Remove(d.paths.identity())
	_ = os.RemoveAll(d.paths.certs())
	_ = os.RemoveAll(d.paths.admin())
	if raftDir != "" {
		_ = os.RemoveAll(d.paths.raft(raftDir))
	}
	d.id = nil
	if err := d.creds.reset(); err != nil {
		d.log.Error("reset credentials", "err", err)
	}
}

// BecomeManager implements actors.NodeEngine: start this node's replicas,
// which the managers have already added to every shard.
func (d *Daemon) BecomeManager(_ context.Context, msg *swarmv1.BecomeManager) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.id == nil {
		return errors.New(msgNotJoined)
	}
	if d.id.Manager && d.raft != nil {
		return nil
	}
	caDER, _, key, err := loadCerts(d.paths)
	if err != nil {
		return err
	}
	if err := writeCerts(d.paths, caDER, msg.CertDer, key); err != nil {
		return err
	}
	if err := d.creds.set(caDER, msg.CertDer, key); err != nil {
		return err
	}
	dir := newRaftDir()
	r, err := cluster.StartRaft(d.raftConfig(msg.ReplicaId, msg.DeploymentId, dir), cluster.Join, nil)
	if err != nil {
		return err
	}
	if err := d.addOwnReplicas(msg.Via, d.id.NodeID, r); err != nil {
		r.Close()
		_ = os.RemoveAll(d.paths.raft(dir))
		return err
	}
	d.id.Manager, d.id.ReplicaID, d.id.DeploymentID, d.id.RaftDir, d.id.Settled, d.id.JoinedNonVoting = true, msg.ReplicaId, msg.DeploymentId, dir, true, true
	d.id.Managers = peersFrom(msg.Managers)
	if err := saveIdentity(d.paths, d.id); err != nil {
		r.Close()
		return err
	}
	d.startManagerLocked(r)
	d.log.Info("promoted to manager", "replica_id", msg.ReplicaId)
	return nil
}

// BecomeWorker implements actors.NodeEngine: stop this node's replicas,
// which the managers have removed (or which belong to a deployment the
// swarm left behind).
func (d *Daemon) BecomeWorker(_ context.Context, msg *swarmv1.BecomeWorker) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.becomeWorkerLocked(msg.GetCertDer())
}

func (d *Daemon) becomeWorkerLocked(certDER []byte) error {
	d.toldWorker = time.Time{}
	if d.id == nil || !d.id.Manager {
		return nil
	}
	dir := d.id.RaftDir
	d.stopManagerLocked()
	_ = os.RemoveAll(d.paths.raft(dir))
	if len(certDER) > 0 {
		caDER, _, key, err := loadCerts(d.paths)
		if err == nil {
			if err := writeCerts(d.paths, caDER, certDER, key); err != nil {
				return err
			}
			if err := d.creds.set(caDER, certDER, key); err != nil {
				return err
			}
		}
	}
	d.id.Manager, d.id.ReplicaID, d.id.RaftDir, d.id.Settled, d.id.JoinedNonVoting = false, 0, "", false, false
	if err := saveIdentity(d.paths, d.id); err != nil {
		return err
	}
	d.log.Info("demoted to worker")
	return nil
}

// demoteAckGrace is how long heartbeat acks must say that a manager is a
// worker before it stops its replicas by itself: longer than the removal
// of its replicas takes when it is reachable, after which the leader tells
// it directly.
const demoteAckGrace = 3 * time.Second

// OnHeartbeatAck implements actors.NodeEngine. Acknowledgements from the
// control shard's leader are authoritative: they update the manager list,
// and they tell a node that was removed or demoted while it could not be
// told. An ack of a heartbeat sent before this node's last role change says
// nothing of its role: it may have waited for d.mu while a promotion ran.
func (d *Daemon) OnHeartbeatAck(ack *swarmv1.HeartbeatAck, stale func() bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.id == nil || stale() {
		return
	}
	switch {
	case ack.UnknownNode:
		d.log.Warn("this node was removed from the swarm; leaving it")
		d.wipeLocked()
		return
	case ack.Role == swarmv1.NodeRole_NODE_ROLE_WORKER && d.id.Manager:
		// A demotion commits the role, then removes this node's replicas,
		// then tells the node (BecomeWorker). An ack of this node's own
		// deployment in between must not stop the replicas: with two
		// voters left the removal needs this one's vote, and stopping
		// would leave the other without a quorum and the demotion
		// hanging. Such acks take over only for a node demoted while it
		// could not be told, after demoteAckGrace. An ack of another
		// deployment (the swarm was forced into a new cluster while this
		// node was away) stops them at once, before they can form a
		// quorum of the old one.
		if ack.DeploymentId != 0 && ack.DeploymentId == d.id.DeploymentID {
			now := time.Now()
			if d.toldWorker.IsZero() {
				d.toldWorker = now
			}
			if now.Sub(d.toldWorker) < demoteAckGrace {
				break
			}
		}
		d.log.Warn("the swarm says this node is a worker; stopping its Raft replicas")
		if err := d.becomeWorkerLocked(nil); err != nil {
			d.log.Error("demote", "err", err)
		}
	default:
		d.toldWorker = time.Time{}
	}
	next := peersFrom(ack.Managers)
	if len(next) > 0 && !samePeers(next, d.id.Managers) {
		d.id.Managers = next
		if err := saveIdentity(d.paths, d.id); err != nil {
			d.log.Error("save identity", "err", err)
		}
	}
}

func samePeers(a, b []managerRef) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
