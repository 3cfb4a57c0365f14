package cluster

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/actorswarm/swarm/internal/ident"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// ErrForward marks a request this manager must not serve itself (demoting
// itself): the gateway hands it to another manager.
var ErrForward = errors.New("forward to another manager")

// Notifier reaches other nodes on the manager's behalf (through their node
// actors). Calls block until the node acknowledged or ctx ended.
type Notifier interface {
	BecomeManager(ctx context.Context, node *swarmv1.Node, msg *swarmv1.BecomeManager) error
	BecomeWorker(ctx context.Context, node *swarmv1.Node, msg *swarmv1.BecomeWorker) error
	Logs(ctx context.Context, node *swarmv1.Node, req *swarmv1.TaskLogsRequest) (*swarmv1.TaskLogsResponse, error)
}

// Manager serves cluster commands on a manager: node listing and updates,
// join admission, promotion and demotion, join tokens. Its methods block on
// Raft and are called off the actor loops; they are safe for concurrent use.
type Manager struct {
	raft         *Raft
	selfID       string
	deploymentID uint64
	notify       Notifier
	now          func() time.Time
}

// NewManager serves commands through raft as node selfID.
func NewManager(raft *Raft, selfID string, deploymentID uint64, notify Notifier) *Manager {
	return &Manager{raft: raft, selfID: selfID, deploymentID: deploymentID, notify: notify, now: time.Now}
}

// Raft returns the manager's Raft.
func (m *Manager) Raft() *Raft { return m.raft }

func (m *Manager) propose(ctx context.Context, cmd *swarmv1.Command) (*swarmv1.Result, error) {
	cmd.NowUnixNano = m.now().UnixNano()
	return m.raft.Propose(ctx, ControlShard, cmd)
}

func (m *Manager) read(ctx context.Context) (*swarmv1.Cluster, []*swarmv1.Node, error) {
	type view struct {
		cluster *swarmv1.Cluster
		nodes   []*swarmv1.Node
	}
	v, err := m.raft.Read(ctx, ControlShard, func(s *Store) any { return view{s.Cluster(), s.Nodes()} })
	if err != nil {
		return nil, nil, err
	}
	out := v.(view)
	if out.cluster == nil {
		return nil, nil, ErrNoCluster
	}
	return out.cluster, out.nodes, nil
}

func (m *Manager) find(ctx context.Context, ref string) (*swarmv1.Node, error) {
	if ref == "self" {
		ref = m.selfID
	}
	v, err := m.raft.Read(ctx, ControlShard, func(s *Store) any {
		n, err := s.FindNode(ref)
		return [2]any{n, err}
	})
	if err != nil {
		return nil, err
	}
	pair := v.([2]any)
	if pair[1] != nil {
		return nil, pair[1].(error)
	}
	return pair[0].(*swarmv1.Node), nil
}

// LeaderNodeID returns the node whose replica leads the control shard, as
// this replica knows it.
func (m *Manager) LeaderNodeID() string {
	id, ok := m.raft.Leader(ControlShard)
	if !ok {
		return ""
	}
	v, err := m.raft.LocalRead(ControlShard, func(s *Store) any {
		for _, n := range s.Managers() {
			if n.GetManager().GetReplicaId() == id {
				return n.Id
			}
		}
		return ""
	})
	if err != nil {
		return ""
	}
	return v.(string)
}

// Peers returns the managers as this replica knows them (no barrier).
func (m *Manager) Peers() []*swarmv1.Peer {
	v, err := m.raft.LocalRead(ControlShard, func(s *Store) any { return s.ManagerPeers() })
	if err != nil {
		return nil
	}
	return v.([]*swarmv1.Peer)
}

// PeersOf turns manager nodes into peers.
func PeersOf(nodes []*swarmv1.Node) []*swarmv1.Peer {
	var out []*swarmv1.Peer
	for _, n := range nodes {
		if n.Role != swarmv1.NodeRole_NODE_ROLE_MANAGER {
			continue
		}
		out = append(out, &swarmv1.Peer{
			NodeId:      n.Id,
			GatewayAddr: n.GatewayAddr,
			RaftAddr:    n.GetManager().GetRaftAddr(),
			ReplicaId:   n.GetManager().GetReplicaId(),
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeId < out[j].NodeId })
	return out
}

// Handle serves one cluster command. Local commands (init, join, leave,
// info) are not its business.
func (m *Manager) Handle(ctx context.Context, req *swarmv1.GatewayRequest) *swarmv1.GatewayResponse {
	ctx = WithRequestID(ctx, req.GetRequestId())
	var (
		resp *swarmv1.GatewayResponse
		err  error
	)
	switch r := req.Req.(type) {
	case *swarmv1.GatewayRequest_JoinToken:
		resp, err = m.joinToken(ctx, r.JoinToken)
	case *swarmv1.GatewayRequest_NodeList:
		resp, err = m.nodeList(ctx)
	case *swarmv1.GatewayRequest_NodeInspect:
		resp, err = m.nodeInspect(ctx, r.NodeInspect)
	case *swarmv1.GatewayRequest_NodeUpdate:
		resp, err = m.nodeUpdate(ctx, r.NodeUpdate)
	case *swarmv1.GatewayRequest_NodePromote:
		resp, err = m.nodePromote(ctx, r.NodePromote)
	case *swarmv1.GatewayRequest_NodeDemote:
		resp, err = m.nodeDemote(ctx, r.NodeDemote)
	case *swarmv1.GatewayRequest_NodeRemove:
		resp, err = m.nodeRemove(ctx, r.NodeRemove)
	case *swarmv1.GatewayRequest_SwarmUpdate:
		resp, err = m.swarmUpdate(ctx, r.SwarmUpdate)
	case *swarmv1.GatewayRequest_ReplicaReady:
		resp, err = m.replicaReady(ctx, r.ReplicaReady)
	case *swarmv1.GatewayRequest_NetworkCreate:
		resp, err = m.networkCreate(ctx, r.NetworkCreate)
	case *swarmv1.GatewayRequest_NetworkList:
		resp, err = m.networkList(ctx)
	case *swarmv1.GatewayRequest_NetworkInspect:
		resp, err = m.networkInspect(ctx, r.NetworkInspect)
	case *swarmv1.GatewayRequest_NetworkRemove:
		resp, err = m.networkRemove(ctx, r.NetworkRemove)
	case *swarmv1.GatewayRequest_ServiceCreate:
		resp, err = m.serviceCreate(ctx, r.ServiceCreate)
	case *swarmv1.GatewayRequest_ServiceList:
		resp, err = m.serviceList(ctx)
	case *swarmv1.GatewayRequest_ServiceInspect:
		resp, err = m.serviceInspect(ctx, r.ServiceInspect)
	case *swarmv1.GatewayRequest_ServiceUpdate:
		resp, err = m.serviceUpdate(ctx, r.ServiceUpdate)
	case *swarmv1.GatewayRequest_ServiceScale:
		resp, err = m.serviceScale(ctx, r.ServiceScale)
	case *swarmv1.GatewayRequest_ServiceRollback:
		resp, err = m.serviceRollback(ctx, r.ServiceRollback)
	case *swarmv1.GatewayRequest_ServiceRemove:
		resp, err = m.serviceRemove(ctx, r.ServiceRemove)
	case *swarmv1.GatewayRequest_TaskList:
		resp, err = m.taskList(ctx, r.TaskList)
	case *swarmv1.GatewayRequest_ServiceLogs:
		resp, err = m.serviceLogs(ctx, r.ServiceLogs)
	default:
		err = fmt.Errorf("unsupported request %T: %w", req.Req, ErrInvalid)
	}
	if err != nil {
		return ErrorResponse(err)
	}
	return resp
}

// ErrorResponse turns err into a response carrying its message and code.
func ErrorResponse(err error) *swarmv1.GatewayResponse {
	code := Code(err)
	if errors.Is(err, ErrForward) {
		code = CodeForward
	}
	return &swarmv1.GatewayResponse{Error: userMessage(err), Code: code}
}

// CodeForward is the response code of ErrForward.
const CodeForward = 100

// userMessage strips the sentinel suffix ("…: not found") that wrapping
// adds, since the text before it already says it.
func userMessage(err error) string {
	msg := err.Error()
	for _, s := range codes {
		if s != nil {
			msg = strings.TrimSuffix(msg, ": "+s.Error())
		}
	}
	return msg
}

func (m *Manager) joinToken(ctx context.Context, r *swarmv1.JoinTokenRequest) (*swarmv1.GatewayResponse, error) {
	role := r.GetRole()
	if role != swarmv1.NodeRole_NODE_ROLE_WORKER && role != swarmv1.NodeRole_NODE_ROLE_MANAGER {
		return nil, fmt.Errorf("unknown role %d: %w", role, ErrInvalid)
	}
	cl, nodes, err := m.read(ctx)
	if err != nil {
		return nil, err
	}
	stored := cl.WorkerToken
	if role == swarmv1.NodeRole_NODE_ROLE_MANAGER {
		stored = cl.ManagerToken
	}
	if r.GetRotate() {
		sec, _, err := NewTokenSecret(rand.Reader, cl.CaKeyDer, role)
		if err != nil {
			return nil, err
		}
		cmd := &swarmv1.Command{Cmd: &swarmv1.Command_RotateToken{RotateToken: &swarmv1.RotateToken{Role: role, Secret: sec}}}
		if _, err := m.propose(ctx, cmd); err != nil {
			return nil, err
		}
		stored = sec
	}
	addr := ""
	for _, n := range nodes {
		if n.Id == m.selfID {
			addr = n.GatewayAddr
		}
	}
	token := TokenFor(cl.CaCertDer, cl.CaKeyDer, role, stored)
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_JoinToken{JoinToken: &swarmv1.JoinTokenResponse{Token: token, GatewayAddr: addr}}}, nil
}

func (m *Manager) nodeList(ctx context.Context) (*swarmv1.GatewayResponse, error) {
	_, nodes, err := m.read(ctx)
	if err != nil {
		return nil, err
	}
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_NodeList{NodeList: &swarmv1.NodeListResponse{
		Nodes: nodes, SelfId: m.selfID, LeaderId: m.LeaderNodeID(),
	}}}, nil
}

func (m *Manager) nodeResponse(n *swarmv1.Node) *swarmv1.GatewayResponse {
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_Node{Node: &swarmv1.NodeResponse{
		Node: n, SelfId: m.selfID, LeaderId: m.LeaderNodeID(),
	}}}
}

func (m *Manager) nodeInspect(ctx context.Context, r *swarmv1.NodeInspectRequest) (*swarmv1.GatewayResponse, error) {
	n, err := m.find(ctx, r.GetRef())
	if err != nil {
		return nil, err
	}
	return m.nodeResponse(n), nil
}

func (m *Manager) nodeUpdate(ctx context.Context, r *swarmv1.NodeUpdateRequest) (*swarmv1.GatewayResponse, error) {
	n, err := m.find(ctx, r.GetRef())
	if err != nil {
		return nil, err
	}
	cmd := &swarmv1.Command{Cmd: &swarmv1.Command_UpdateNodeSpec{UpdateNodeSpec: &swarmv1.UpdateNodeSpec{
		NodeId: n.Id, ExpectedVersion: n.Version, Availability: r.GetAvailability(),
		LabelAdd: r.GetLabelAdd(), LabelRm: r.GetLabelRm(),
	}}}
	res, err := m.propose(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return m.nodeResponse(res.Node), nil
}

func (m *Manager) nodePromote(ctx context.Context, r *swarmv1.NodePromoteRequest) (*swarmv1.GatewayResponse, error) {
	n, err := m.find(ctx, r.GetRef())
	if err != nil {
		return nil, err
	}
	if n.Role == swarmv1.NodeRole_NODE_ROLE_MANAGER {
		return m.nodeResponse(n), nil
	}
	if n.GetStatus().GetState() != swarmv1.NodeState_NODE_STATE_READY {
		return nil, fmt.Errorf("node %s is down and cannot be promoted: %w", n.Id, ErrConflict)
	}
	n, err = m.promote(ctx, n)
	if err != nil {
		return nil, err
	}
	return m.nodeResponse(n), nil
}

// promote makes worker n a manager: a new replica ID in Raft state, a voting
// replica in every shard, then the node starts its replicas. When the node
// cannot be reached, the replica is taken back out so the quorum does not
// count a member that will never come.
func (m *Manager) promote(ctx context.Context, n *swarmv1.Node) (*swarmv1.Node, error) {
	cl, _, err := m.read(ctx)
	if err != nil {
		return nil, err
	}
	raftAddr, err := raftAddrOf(n)
	if err != nil {
		return nil, err
	}
	res, err := m.propose(ctx, &swarmv1.Command{Cmd: &swarmv1.Command_SetNodeRole{SetNodeRole: &swarmv1.SetNodeRole{
		NodeId: n.Id, Role: swarmv1.NodeRole_NODE_ROLE_MANAGER, RaftAddr: raftAddr,
	}}})
	if err != nil {
		return nil, err
	}
	replica := res.ReplicaId
	undo := func(cause error) error {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = m.raft.RemoveReplica(uctx, replica)
		_, _ = m.propose(uctx, &swarmv1.Command{Cmd: &swarmv1.Command_SetNodeRole{SetNodeRole: &swarmv1.SetNodeRole{
			NodeId: n.Id, Role: swarmv1.NodeRole_NODE_ROLE_WORKER,
		}}})
		return fmt.Errorf("promote %s: %w", n.Id, cause)
	}
	cert, err := m.issue(cl, n, OUManager)
	if err != nil {
		return nil, undo(err)
	}
	// The node starts its replicas, then has them added through this
	// manager (ReplicaReadyRequest), before it answers.
	peers := m.Peers()
	via := ""
	for _, p := range peers {
		if p.NodeId == m.selfID {
			via = p.GatewayAddr
		}
	}
	msg := &swarmv1.BecomeManager{ReplicaId: replica, CertDer: cert, Managers: peers, DeploymentId: m.deploymentID, Via: via}
	if err := m.notify.BecomeManager(ctx, res.Node, msg); err != nil {
		return nil, undo(err)
	}
	return res.Node, nil
}

func raftAddrOf(n *swarmv1.Node) (string, error) {
	if a := n.GetRaftAddr(); a != "" {
		return a, nil
	}
	return "", fmt.Errorf("node %s did not report a raft address: %w", n.Id, ErrInvalid)
}

func (m *Manager) issue(cl *swarmv1.Cluster, n *swarmv1.Node, ou string) ([]byte, error) {
	ca, err := ParseCA(cl.CaCertDer, cl.CaKeyDer)
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(n.GetDescription().GetPublicKeyDer())
	if err != nil {
		return nil, fmt.Errorf("node %s public key: %w", n.Id, err)
	}
	ip := net.ParseIP(n.Addr)
	return ca.Issue(pub, n.Id, ou, []net.IP{ip}, m.now(), rand.Reader)
}

func (m *Manager) nodeDemote(ctx context.Context, r *swarmv1.NodeDemoteRequest) (*swarmv1.GatewayResponse, error) {
	n, err := m.find(ctx, r.GetRef())
	if err != nil {
		return nil, err
	}
	if n.Role != swarmv1.NodeRole_NODE_ROLE_MANAGER {
		return m.nodeResponse(n), nil
	}
	_, nodes, err := m.read(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkDemoteQuorum(nodes, n.Id); err != nil {
		return nil, err
	}
	// A manager does not remove its own replicas: another one does.
	if n.Id == m.selfID {
		return nil, ErrForward
	}
	cl, _, err := m.read(ctx)
	if err != nil {
		return nil, err
	}
	res, err := m.propose(ctx, &swarmv1.Command{Cmd: &swarmv1.Command_SetNodeRole{SetNodeRole: &swarmv1.SetNodeRole{
		NodeId: n.Id, Role: swarmv1.NodeRole_NODE_ROLE_WORKER,
	}}})
	if err != nil {
		return nil, err
	}
	if err := m.raft.RemoveReplica(ctx, res.ReplicaId); err != nil {
		return nil, err
	}
	// The node learns of its demotion here or, if it is unreachable now,
	// from its next heartbeat acknowledgement.
	if cert, err := m.issue(cl, res.Node, OUWorker); err == nil {
		_ = m.notify.BecomeWorker(ctx, res.Node, &swarmv1.BecomeWorker{CertDer: cert})
	}
	return m.nodeResponse(res.Node), nil
}

// checkDemoteQuorum refuses a demotion that would leave the remaining
// managers without a reachable majority, or no manager at all.
func checkDemoteQuorum(nodes []*swarmv1.Node, target string) error {
	remaining, reachable := 0, 0
	for _, n := range nodes {
		if n.Role != swarmv1.NodeRole_NODE_ROLE_MANAGER || n.Id == target {
			continue
		}
		remaining++
		if n.GetStatus().GetState() == swarmv1.NodeState_NODE_STATE_READY {
			reachable++
		}
	}
	if remaining == 0 {
		return fmt.Errorf("attempting to demote the last manager of the swarm: %w", ErrConflict)
	}
	if reachable <= remaining/2 {
		return fmt.Errorf("can't demote %s: it would leave %d reachable managers out of %d, and the swarm would lose its quorum: %w", target, reachable, remaining, ErrConflict)
	}
	return nil
}

func (m *Manager) nodeRemove(ctx context.Context, r *swarmv1.NodeRemoveRequest) (*swarmv1.GatewayResponse, error) {
	n, err := m.find(ctx, r.GetRef())
	if err != nil {
		return nil, err
	}
	if n.Role == swarmv1.NodeRole_NODE_ROLE_MANAGER {
		return nil, fmt.Errorf("node %s is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal: %w", n.Id, ErrConflict)
	}
	if !r.GetForce() && n.GetStatus().GetState() == swarmv1.NodeState_NODE_STATE_READY {
		return nil, fmt.Errorf("node %s is not down and can't be removed: %w", n.Id, ErrConflict)
	}
	if _, err := m.propose(ctx, &swarmv1.Command{Cmd: &swarmv1.Command_RemoveNode{RemoveNode: &swarmv1.RemoveNode{NodeId: n.Id}}}); err != nil {
		return nil, err
	}
	return m.nodeResponse(n), nil
}

func (m *Manager) swarmUpdate(ctx context.Context, r *swarmv1.SwarmUpdateRequest) (*swarmv1.GatewayResponse, error) {
	cl, _, err := m.read(ctx)
	if err != nil {
		return nil, err
	}
	set := cl.GetSettings()
	if set == nil {
		set = &swarmv1.ClusterSettings{}
	}
	if p := r.GetHeartbeatPeriodNano(); p != 0 {
		if p < int64(10*time.Millisecond) || p > int64(time.Minute) {
			return nil, fmt.Errorf("heartbeat period must be between 10ms and 1m: %w", ErrInvalid)
		}
		set.HeartbeatPeriodNano = p
	}
	if r.GetSetRebalance() {
		set.RebalanceDisabled = !r.GetRebalance()
	}
	if _, err := m.propose(ctx, &swarmv1.Command{Cmd: &swarmv1.Command_UpdateClusterSettings{UpdateClusterSettings: &swarmv1.UpdateClusterSettings{Settings: set}}}); err != nil {
		return nil, err
	}
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_Empty{Empty: &swarmv1.EmptyResponse{}}}, nil
}

// Admit checks a join request's token and adds the node: a worker, or a
// manager with a replica ID whose replicas are added once it has started
// them (see replicaReady).
func (m *Manager) Admit(ctx context.Context, req *swarmv1.JoinRequest) (*swarmv1.JoinResponse, error) {
	digest, secret, err := ParseToken(req.GetToken())
	if err != nil {
		return nil, err
	}
	cl, _, err := m.read(ctx)
	if err != nil {
		return nil, err
	}
	if digest != CADigest(cl.CaCertDer) {
		return nil, fmt.Errorf("%w: the token is for another swarm", ErrMalformedToken)
	}
	var role swarmv1.NodeRole
	switch {
	case CheckSecret(cl.WorkerToken, secret):
		role = swarmv1.NodeRole_NODE_ROLE_WORKER
	case CheckSecret(cl.ManagerToken, secret):
		role = swarmv1.NodeRole_NODE_ROLE_MANAGER
	default:
		return nil, fmt.Errorf("%w: the token was rotated or never valid", ErrMalformedToken)
	}
	if err := validJoin(req); err != nil {
		return nil, err
	}
	node := &swarmv1.Node{
		Id:   ident.New(),
		Role: swarmv1.NodeRole_NODE_ROLE_WORKER,
		Description: &swarmv1.NodeDescription{
			Hostname: req.Hostname, EngineVersion: req.EngineVersion, Runtimes: req.Runtimes,
			NanoCpus: req.NanoCpus, MemoryBytes: req.MemoryBytes, Os: req.Os, Arch: req.Arch,
			PublicKeyDer: req.PublicKeyDer, VxlanPort: req.VxlanPort, Overlay: req.Overlay,
		},
		Addr:        req.Addr,
		GatewayAddr: req.GatewayAddr,
		RaftAddr:    req.RaftAddr,
		Status:      &swarmv1.NodeStatus{State: swarmv1.NodeState_NODE_STATE_READY},
	}
	res, err := m.propose(ctx, &swarmv1.Command{Cmd: &swarmv1.Command_AddNode{AddNode: &swarmv1.AddNode{Node: node}}})
	if err != nil {
		return nil, err
	}
	node = res.Node
	ou := OUWorker
	var replica uint64
	if role == swarmv1.NodeRole_NODE_ROLE_MANAGER {
		// The joining node starts its replicas itself when this returns.
		res, err := m.propose(ctx, &swarmv1.Command{Cmd: &swarmv1.Command_SetNodeRole{SetNodeRole: &swarmv1.SetNodeRole{
			NodeId: node.Id, Role: swarmv1.NodeRole_NODE_ROLE_MANAGER, RaftAddr: req.RaftAddr,
		}}})
		if err != nil {
			return nil, err
		}
		replica = res.ReplicaId
		ou = OUManager
	}
	cert, err := m.issue(cl, node, ou)
	if err != nil {
		return nil, err
	}
	// A joining manager starts its replicas, then asks for them to be added
	// (ReplicaReadyRequest).
	return &swarmv1.JoinResponse{
		NodeId: node.Id, Role: role, ClusterId: cl.Id, CertDer: cert, CaCertDer: cl.CaCertDer,
		ReplicaId: replica, Managers: m.Peers(), DeploymentId: m.deploymentID,
	}, nil
}

// AddSimNode adds a simulated node (swarmd --sim-nodes, for scale
// benchmarks): a worker whose node actor lives at n.GatewayAddr under
// n.ActorName, in the actor system of the manager hosting it, so it needs
// no certificate of its own. It is not reachable through Admit.
func (m *Manager) AddSimNode(ctx context.Context, n *swarmv1.Node) (*swarmv1.Node, error) {
	if n.GetActorName() == "" || n.Role != swarmv1.NodeRole_NODE_ROLE_WORKER {
		return nil, fmt.Errorf("simulated node %s: a worker with an actor name: %w", n.GetId(), ErrInvalid)
	}
	res, err := m.propose(ctx, &swarmv1.Command{Cmd: &swarmv1.Command_AddNode{AddNode: &swarmv1.AddNode{Node: n}}})
	if err != nil {
		return nil, err
	}
	return res.Node, nil
}

// replicaReady adds the started replicas of a node admitted as a manager.
func (m *Manager) replicaReady(ctx context.Context, r *swarmv1.ReplicaReadyRequest) (*swarmv1.GatewayResponse, error) {
	n, err := m.find(ctx, r.GetNodeId())
	if err != nil {
		return nil, err
	}
	if n.Id != r.GetNodeId() || n.Role != swarmv1.NodeRole_NODE_ROLE_MANAGER || n.GetManager().GetReplicaId() == 0 {
		return nil, fmt.Errorf("node %s is not a manager awaiting its replicas: %w", r.GetNodeId(), ErrConflict)
	}
	add := m.raft.AddNonVoting
	if r.GetVoting() {
		add = m.raft.AddReplica
	}
	if err := add(ctx, n.Manager.ReplicaId, n.Manager.RaftAddr); err != nil {
		return nil, fmt.Errorf("add manager replica: %w", err)
	}
	return m.nodeResponse(n), nil
}

func validJoin(req *swarmv1.JoinRequest) error {
	if req.GetHostname() == "" {
		return fmt.Errorf("join: no hostname: %w", ErrInvalid)
	}
	if _, err := netip.ParseAddr(req.GetAddr()); err != nil {
		return fmt.Errorf("join: bad address %q: %w", req.GetAddr(), ErrInvalid)
	}
	for _, hp := range []string{req.GetGatewayAddr(), req.GetRaftAddr()} {
		if _, err := netip.ParseAddrPort(hp); err != nil {
			return fmt.Errorf("join: bad address %q: %w", hp, ErrInvalid)
		}
	}
	if _, err := x509.ParsePKIXPublicKey(req.GetPublicKeyDer()); err != nil {
		return fmt.Errorf("join: bad public key: %w", ErrInvalid)
	}
	return nil
}
