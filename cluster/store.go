package cluster

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// SnapshotVersion is the encoding version written into every snapshot.
const SnapshotVersion = 1

// Errors a command can be refused with. They cross the wire as a Result code
// (see Code) and come back as the same sentinel (see CodeError).
var (
	ErrInvalid    = errors.New("invalid argument")
	ErrNotFound   = errors.New("not found")
	ErrExists     = errors.New("already exists")
	ErrConflict   = errors.New("conflict")
	ErrNoCluster  = errors.New("this node is not part of a swarm")
	ErrBadVersion = errors.New("update out of sequence")
)

// codes maps sentinels to wire codes; the index is the code.
var codes = []error{nil, ErrInvalid, ErrNotFound, ErrExists, ErrConflict, ErrNoCluster, ErrBadVersion}

// Code returns the wire code of err's sentinel, 0 when it has none.
func Code(err error) int32 {
	for i, s := range codes {
		if s != nil && errors.Is(err, s) {
			return int32(i)
		}
	}
	return 0
}

// CodeError rebuilds an error from a wire code and message so that
// errors.Is works on the receiving side.
func CodeError(code int32, msg string) error {
	if code > 0 && int(code) < len(codes) {
		return &codedError{sentinel: codes[code], msg: msg}
	}
	return errors.New(msg)
}

type codedError struct {
	sentinel error
	msg      string
}

func (e *codedError) Error() string { return e.msg }
func (e *codedError) Unwrap() error { return e.sentinel }

// Store is the state of one Raft shard: the swarm object and the nodes on the
// control shard. It is pure: Apply is deterministic, does no I/O, reads no
// clock, and returns errors for bad commands instead of panicking.
//
// Store is not safe for concurrent use; the state machine wrapper serialises
// access.
type Store struct {
	cluster *swarmv1.Cluster
	nodes   map[string]*swarmv1.Node
	// Control shard: service names and published ports, cluster-wide.
	reservations map[string]*swarmv1.ServiceReservation
	// Control shard: overlay networks, and the tasks' addresses on them
	// by task ID.
	networks    map[string]*swarmv1.Network
	attachments map[string][]*swarmv1.Attachment
	// Service shards: services and their tasks, with indexes.
	services       map[string]*swarmv1.Service
	tasks          map[string]*swarmv1.Task
	tasksByService map[string]map[string]struct{}
	// tasksByNode holds each node's tasks with their versions, so that a
	// node's delta sync compares versions without a lookup in tasks, and
	// the node's revision.
	tasksByNode map[string]*nodeTaskSet
	// applying is the Raft index of the entry being applied (0: unknown).
	applying uint64
	// created is the created_index of the last task created (restored as
	// the highest a task has).
	created uint64
	usage   map[string]*NodeUsage
	// nodeRefs holds one copy of each node ID that tasks have (nodeRef).
	nodeRefs map[string]string
	// specs compares created tasks' specs with their service's.
	specs  specEncoder
	states map[swarmv1.TaskState]int
	// recent remembers the results of the last proposals by request ID,
	// oldest first, so that a retried proposal is not applied twice.
	recent      map[string]*swarmv1.Result
	recentOrder []string
	// nodeGen counts the applied commands that change nodes; the memos
	// below hold while it stays the same.
	nodeGen     uint64
	nodesMemo   *memo[[]*swarmv1.Node]
	nodeByID    *memo[map[string]*swarmv1.Node]
	managerMemo *memo[[]*swarmv1.Node]
	peersMemo   *memo[[]*swarmv1.Peer]
}

// memo is a value derived from a store, valid while the store's nodeGen
// is at.
// Readers share the store (under a read lock), so a memo has a lock of
// its own.
type memo[T any] struct {
	mu  sync.Mutex
	at  uint64
	val T
}

func (m *memo[T]) get(gen uint64, compute func() T) T {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.at != gen {
		m.val, m.at = compute(), gen
	}
	return m.val
}

// peek returns the value if it is current.
func (m *memo[T]) peek(gen uint64) (T, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.val, m.at == gen
}

// current reports whether the value is current.
func (m *memo[T]) current(gen uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.at == gen
}

// changesNodes reports whether a command may change the nodes.
func changesNodes(cmd *swarmv1.Command) bool {
	switch cmd.Cmd.(type) {
	case *swarmv1.Command_InitCluster, *swarmv1.Command_AddNode, *swarmv1.Command_UpdateNodeSpec,
		*swarmv1.Command_SetNodeRole, *swarmv1.Command_SetNodeStates, *swarmv1.Command_SetNodePortErrors,
		*swarmv1.Command_RemoveNode, *swarmv1.Command_RestoreState:
		return true
	}
	return false
}

// recentLimit is how many proposal results a store remembers.
const recentLimit = 1024

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{
		nodeGen:        1,
		nodesMemo:      &memo[[]*swarmv1.Node]{},
		nodeByID:       &memo[map[string]*swarmv1.Node]{},
		managerMemo:    &memo[[]*swarmv1.Node]{},
		peersMemo:      &memo[[]*swarmv1.Peer]{},
		nodes:          make(map[string]*swarmv1.Node),
		recent:         make(map[string]*swarmv1.Result),
		reservations:   make(map[string]*swarmv1.ServiceReservation),
		networks:       make(map[string]*swarmv1.Network),
		attachments:    make(map[string][]*swarmv1.Attachment),
		services:       make(map[string]*swarmv1.Service),
		tasks:          make(map[string]*swarmv1.Task),
		tasksByService: make(map[string]map[string]struct{}),
		tasksByNode:    make(map[string]*nodeTaskSet),
		usage:          make(map[string]*NodeUsage),
		nodeRefs:       make(map[string]string),
		states:         make(map[swarmv1.TaskState]int),
	}
}

// Apply executes one command. The returned error is meant for the user and
// wraps one of the package's sentinels; when it is not nil the objects are
// unchanged (only the refusal is remembered under the command's request
// ID). A command whose request ID was applied already returns the first
// result again and changes nothing. The store may keep parts of cmd (task
// statuses, created or reported): the caller must not change cmd
// afterwards.
func (s *Store) Apply(cmd *swarmv1.Command) (*swarmv1.Result, error) {
	return s.ApplyAt(0, cmd)
}

// ApplyAt is Apply for the entry at a Raft index: the nodes whose tasks
// it changes get that index as their revision (see NodeTasks). Index 0
// is unknown: it gives them revision 0, the same as no other.
func (s *Store) ApplyAt(index uint64, cmd *swarmv1.Command) (*swarmv1.Result, error) {
	s.applying = index
	defer func() { s.applying = 0 }()
	if cmd == nil {
		return nil, fmt.Errorf("empty command: %w", ErrInvalid)
	}
	if changesNodes(cmd) {
		s.nodeGen++
	}
	id := cmd.GetRequestId()
	if id == "" {
		return s.apply(cmd)
	}
	if res, ok := s.recent[id]; ok {
		res = proto.Clone(res).(*swarmv1.Result)
		if res.Error != "" {
			return nil, CodeError(res.Code, res.Error)
		}
		return res, nil
	}
	res, err := s.apply(cmd)
	remembered := res
	if err != nil {
		remembered = &swarmv1.Result{Error: err.Error(), Code: Code(err)}
	}
	s.remember(id, remembered)
	return res, err
}

func (s *Store) remember(id string, res *swarmv1.Result) {
	s.recent[id] = proto.Clone(res).(*swarmv1.Result)
	s.recentOrder = append(s.recentOrder, id)
	if len(s.recentOrder) > recentLimit {
		delete(s.recent, s.recentOrder[0])
		s.recentOrder = s.recentOrder[1:]
	}
}

func (s *Store) apply(cmd *swarmv1.Command) (*swarmv1.Result, error) {
	now := cmd.GetNowUnixNano()
	switch c := cmd.Cmd.(type) {
	case *swarmv1.Command_InitCluster:
		return s.applyInit(c.InitCluster, now)
	case *swarmv1.Command_AddNode:
		return s.applyAddNode(c.AddNode, now)
	case *swarmv1.Command_UpdateNodeSpec:
		return s.applyUpdateNodeSpec(c.UpdateNodeSpec, now)
	case *swarmv1.Command_SetNodeRole:
		return s.applySetNodeRole(c.SetNodeRole, now)
	case *swarmv1.Command_SetNodeStates:
		return s.applySetNodeStates(c.SetNodeStates, now)
	case *swarmv1.Command_SetNodePortErrors:
		return s.applySetNodePortErrors(c.SetNodePortErrors, now)
	case *swarmv1.Command_RemoveNode:
		return s.applyRemoveNode(c.RemoveNode)
	case *swarmv1.Command_CreateNetwork:
		return s.applyCreateNetwork(c.CreateNetwork, now)
	case *swarmv1.Command_RemoveNetwork:
		return s.applyRemoveNetwork(c.RemoveNetwork)
	case *swarmv1.Command_AllocateAttachments:
		return s.applyAllocateAttachments(c.AllocateAttachments)
	case *swarmv1.Command_ReleaseAttachments:
		return s.applyReleaseAttachments(c.ReleaseAttachments)
	case *swarmv1.Command_RotateToken:
		return s.applyRotateToken(c.RotateToken, now)
	case *swarmv1.Command_RestoreState:
		return s.applyRestore(c.RestoreState)
	case *swarmv1.Command_UpdateClusterSettings:
		return s.applySettings(c.UpdateClusterSettings, now)
	case *swarmv1.Command_ReserveService:
		return s.applyReserve(c.ReserveService)
	case *swarmv1.Command_ReleaseService:
		return s.applyRelease(c.ReleaseService)
	case *swarmv1.Command_CreateService:
		return s.applyCreateService(c.CreateService, now)
	case *swarmv1.Command_UpdateService:
		return s.applyUpdateService(c.UpdateService, now)
	case *swarmv1.Command_RemoveService:
		return s.applyRemoveService(c.RemoveService)
	case *swarmv1.Command_TaskBatch:
		return s.applyTaskBatch(c.TaskBatch, now)
	default:
		return nil, fmt.Errorf("unknown command: %w", ErrInvalid)
	}
}

func (s *Store) applyInit(c *swarmv1.InitCluster, now int64) (*swarmv1.Result, error) {
	if s.cluster != nil {
		return nil, fmt.Errorf("this node is already part of a swarm: %w", ErrExists)
	}
	cl, n := c.GetCluster(), c.GetNode()
	if cl.GetId() == "" || len(cl.GetCaCertDer()) == 0 || cl.GetWorkerToken() == nil || cl.GetManagerToken() == nil {
		return nil, fmt.Errorf("init: incomplete cluster: %w", ErrInvalid)
	}
	if err := validNewNode(n); err != nil {
		return nil, err
	}
	if n.GetRole() != swarmv1.NodeRole_NODE_ROLE_MANAGER || n.GetManager().GetReplicaId() == 0 {
		return nil, fmt.Errorf("init: the first node must be a manager with a replica ID: %w", ErrInvalid)
	}
	cl = proto.Clone(cl).(*swarmv1.Cluster)
	cl.CreatedUnixNano, cl.UpdatedUnixNano, cl.Version = now, now, 1
	if cl.NextReplicaId <= n.GetManager().GetReplicaId() {
		cl.NextReplicaId = n.GetManager().GetReplicaId() + 1
	}
	s.cluster = cl
	node := s.insertNode(n, now)
	return &swarmv1.Result{Node: node}, nil
}

func validNewNode(n *swarmv1.Node) error {
	if n.GetId() == "" {
		return fmt.Errorf("node without ID: %w", ErrInvalid)
	}
	switch n.GetRole() {
	case swarmv1.NodeRole_NODE_ROLE_WORKER, swarmv1.NodeRole_NODE_ROLE_MANAGER:
	default:
		return fmt.Errorf("node %s: unknown role: %w", n.GetId(), ErrInvalid)
	}
	if n.GetAddr() == "" || n.GetGatewayAddr() == "" {
		return fmt.Errorf("node %s: no address: %w", n.GetId(), ErrInvalid)
	}
	return nil
}

func (s *Store) insertNode(n *swarmv1.Node, now int64) *swarmv1.Node {
	node := proto.Clone(n).(*swarmv1.Node)
	node.CreatedUnixNano, node.UpdatedUnixNano, node.Version = now, now, 1
	if node.Spec == nil {
		node.Spec = &swarmv1.NodeSpec{}
	}
	if node.Spec.Availability == swarmv1.NodeAvailability_NODE_AVAILABILITY_UNSPECIFIED {
		node.Spec.Availability = swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE
	}
	if node.Status == nil {
		node.Status = &swarmv1.NodeStatus{State: swarmv1.NodeState_NODE_STATE_READY}
	}
	node.Status.UpdatedUnixNano = now
	s.nodes[node.Id] = node
	return proto.Clone(node).(*swarmv1.Node)
}

func (s *Store) applyAddNode(c *swarmv1.AddNode, now int64) (*swarmv1.Result, error) {
	if s.cluster == nil {
		return nil, ErrNoCluster
	}
	n := c.GetNode()
	if err := validNewNode(n); err != nil {
		return nil, err
	}
	if _, ok := s.nodes[n.GetId()]; ok {
		return nil, fmt.Errorf("node %s: %w", n.GetId(), ErrExists)
	}
	n = proto.Clone(n).(*swarmv1.Node)
	var replica uint64
	if n.Role == swarmv1.NodeRole_NODE_ROLE_MANAGER {
		if n.GetManager().GetRaftAddr() == "" {
			return nil, fmt.Errorf("manager %s without raft address: %w", n.Id, ErrInvalid)
		}
		replica = s.allocReplica(now)
		n.Manager.ReplicaId = replica
	} else {
		n.Manager = nil
	}
	node := s.insertNode(n, now)
	return &swarmv1.Result{Node: node, ReplicaId: replica}, nil
}

func (s *Store) allocReplica(now int64) uint64 {
	id := s.cluster.NextReplicaId
	if id == 0 {
		id = 1
	}
	s.cluster.NextReplicaId = id + 1
	s.touchCluster(now)
	return id
}

func (s *Store) touchCluster(now int64) {
	s.cluster.UpdatedUnixNano = now
	s.cluster.Version++
}

func (s *Store) node(id string) (*swarmv1.Node, error) {
	if s.cluster == nil {
		return nil, ErrNoCluster
	}
	n, ok := s.nodes[id]
	if !ok {
		return nil, fmt.Errorf("node %s not found: %w", id, ErrNotFound)
	}
	return n, nil
}

func (s *Store) touchNode(n *swarmv1.Node, now int64) *swarmv1.Node {
	n.UpdatedUnixNano = now
	n.Version++
	return proto.Clone(n).(*swarmv1.Node)
}

func (s *Store) applyUpdateNodeSpec(c *swarmv1.UpdateNodeSpec, now int64) (*swarmv1.Result, error) {
	n, err := s.node(c.GetNodeId())
	if err != nil {
		return nil, err
	}
	if v := c.GetExpectedVersion(); v != 0 && v != n.Version {
		return nil, fmt.Errorf("node %s is at version %d, not %d: %w", n.Id, n.Version, v, ErrBadVersion)
	}
	switch c.GetAvailability() {
	case swarmv1.NodeAvailability_NODE_AVAILABILITY_UNSPECIFIED,
		swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE,
		swarmv1.NodeAvailability_NODE_AVAILABILITY_PAUSE,
		swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN:
	default:
		return nil, fmt.Errorf("unknown availability %d: %w", c.GetAvailability(), ErrInvalid)
	}
	for k := range c.GetLabelAdd() {
		if k == "" {
			return nil, fmt.Errorf("empty label key: %w", ErrInvalid)
		}
	}
	for _, k := range c.GetLabelRm() {
		if _, ok := n.GetSpec().GetLabels()[k]; !ok {
			if _, adding := c.GetLabelAdd()[k]; !adding {
				return nil, fmt.Errorf("key %s doesn't exist in node's labels: %w", k, ErrNotFound)
			}
		}
	}
	if n.Spec == nil {
		n.Spec = &swarmv1.NodeSpec{}
	}
	if a := c.GetAvailability(); a != swarmv1.NodeAvailability_NODE_AVAILABILITY_UNSPECIFIED {
		n.Spec.Availability = a
	}
	for _, k := range c.GetLabelRm() {
		delete(n.Spec.Labels, k)
	}
	if len(c.GetLabelAdd()) > 0 && n.Spec.Labels == nil {
		n.Spec.Labels = make(map[string]string)
	}
	for k, v := range c.GetLabelAdd() {
		n.Spec.Labels[k] = v
	}
	return &swarmv1.Result{Node: s.touchNode(n, now)}, nil
}

func (s *Store) applySetNodeRole(c *swarmv1.SetNodeRole, now int64) (*swarmv1.Result, error) {
	n, err := s.node(c.GetNodeId())
	if err != nil {
		return nil, err
	}
	switch c.GetRole() {
	case swarmv1.NodeRole_NODE_ROLE_MANAGER:
		if n.Role == swarmv1.NodeRole_NODE_ROLE_MANAGER {
			return &swarmv1.Result{Node: proto.Clone(n).(*swarmv1.Node), ReplicaId: n.GetManager().GetReplicaId()}, nil
		}
		if c.GetRaftAddr() == "" {
			return nil, fmt.Errorf("promote %s: no raft address: %w", n.Id, ErrInvalid)
		}
		id := s.allocReplica(now)
		n.Role = swarmv1.NodeRole_NODE_ROLE_MANAGER
		n.Manager = &swarmv1.ManagerInfo{ReplicaId: id, RaftAddr: c.GetRaftAddr()}
		return &swarmv1.Result{Node: s.touchNode(n, now), ReplicaId: id}, nil
	case swarmv1.NodeRole_NODE_ROLE_WORKER:
		if n.Role == swarmv1.NodeRole_NODE_ROLE_WORKER {
			return &swarmv1.Result{Node: proto.Clone(n).(*swarmv1.Node)}, nil
		}
		if s.managerCount() <= 1 {
			return nil, fmt.Errorf("attempting to demote the last manager of the swarm: %w", ErrConflict)
		}
		old := n.GetManager().GetReplicaId()
		n.Role = swarmv1.NodeRole_NODE_ROLE_WORKER
		n.Manager = nil
		return &swarmv1.Result{Node: s.touchNode(n, now), ReplicaId: old}, nil
	default:
		return nil, fmt.Errorf("unknown role %d: %w", c.GetRole(), ErrInvalid)
	}
}

func (s *Store) managerCount() int {
	count := 0
	for _, n := range s.nodes {
		if n.Role == swarmv1.NodeRole_NODE_ROLE_MANAGER {
			count++
		}
	}
	return count
}

func (s *Store) applySetNodeStates(c *swarmv1.SetNodeStates, now int64) (*swarmv1.Result, error) {
	if s.cluster == nil {
		return nil, ErrNoCluster
	}
	for _, ch := range c.GetChanges() {
		switch ch.GetState() {
		case swarmv1.NodeState_NODE_STATE_READY, swarmv1.NodeState_NODE_STATE_DOWN:
		default:
			return nil, fmt.Errorf("node %s: unknown state %d: %w", ch.GetNodeId(), ch.GetState(), ErrInvalid)
		}
	}
	for _, ch := range c.GetChanges() {
		// A verdict about a node removed meanwhile is moot.
		n, ok := s.nodes[ch.GetNodeId()]
		if !ok {
			continue
		}
		if n.Status == nil {
			n.Status = &swarmv1.NodeStatus{}
		}
		if n.Status.State == ch.GetState() && n.Status.Message == ch.GetMessage() {
			continue
		}
		n.Status.State = ch.GetState()
		n.Status.Message = ch.GetMessage()
		n.Status.UpdatedUnixNano = now
		s.touchNode(n, now)
	}
	return &swarmv1.Result{}, nil
}

// maxPortErrors bounds what a node may report: one entry per published
// port of the swarm at most, each error cut to maxPortErrorLen bytes.
const (
	maxPortErrors   = 1024
	maxPortErrorLen = 256
)

func (s *Store) applySetNodePortErrors(c *swarmv1.SetNodePortErrors, now int64) (*swarmv1.Result, error) {
	n, err := s.node(c.GetNodeId())
	if err != nil {
		return nil, err
	}
	if len(c.GetPortErrors()) > maxPortErrors {
		return nil, fmt.Errorf("node %s reports %d port errors, at most %d: %w", n.Id, len(c.GetPortErrors()), maxPortErrors, ErrInvalid)
	}
	errs := make(map[string]string, len(c.GetPortErrors()))
	for k, v := range c.GetPortErrors() {
		if k == "" || len(k) > 16 {
			return nil, fmt.Errorf("node %s: bad port %q: %w", n.Id, k, ErrInvalid)
		}
		if len(v) > maxPortErrorLen {
			v = v[:maxPortErrorLen]
		}
		errs[k] = v
	}
	if n.Status == nil {
		n.Status = &swarmv1.NodeStatus{}
	}
	if maps.Equal(n.Status.PortErrors, errs) {
		return &swarmv1.Result{Node: n}, nil
	}
	n.Status.PortErrors = errs
	if len(errs) == 0 {
		n.Status.PortErrors = nil
	}
	s.touchNode(n, now)
	return &swarmv1.Result{Node: n}, nil
}

func (s *Store) applyRemoveNode(c *swarmv1.RemoveNode) (*swarmv1.Result, error) {
	n, err := s.node(c.GetNodeId())
	if err != nil {
		return nil, err
	}
	if n.Role == swarmv1.NodeRole_NODE_ROLE_MANAGER {
		return nil, fmt.Errorf("node %s is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal: %w", n.Id, ErrConflict)
	}
	delete(s.nodes, n.Id)
	return &swarmv1.Result{Node: n}, nil
}

func (s *Store) applyRotateToken(c *swarmv1.RotateToken, now int64) (*swarmv1.Result, error) {
	if s.cluster == nil {
		return nil, ErrNoCluster
	}
	sec := c.GetSecret()
	if len(sec.GetNonce()) == 0 || len(sec.GetHash()) == 0 {
		return nil, fmt.Errorf("rotate token: empty secret: %w", ErrInvalid)
	}
	switch c.GetRole() {
	case swarmv1.NodeRole_NODE_ROLE_WORKER:
		s.cluster.WorkerToken = proto.Clone(sec).(*swarmv1.JoinTokenSecret)
	case swarmv1.NodeRole_NODE_ROLE_MANAGER:
		s.cluster.ManagerToken = proto.Clone(sec).(*swarmv1.JoinTokenSecret)
	default:
		return nil, fmt.Errorf("rotate token: unknown role %d: %w", c.GetRole(), ErrInvalid)
	}
	s.touchCluster(now)
	return &swarmv1.Result{}, nil
}

func (s *Store) applyRestore(c *swarmv1.RestoreState) (*swarmv1.Result, error) {
	next := NewStore()
	if err := next.restore(c.GetSnapshot()); err != nil {
		return nil, err
	}
	*s = *next
	return &swarmv1.Result{}, nil
}

func (s *Store) applySettings(c *swarmv1.UpdateClusterSettings, now int64) (*swarmv1.Result, error) {
	if s.cluster == nil {
		return nil, ErrNoCluster
	}
	set := c.GetSettings()
	if set == nil {
		return nil, fmt.Errorf("no settings: %w", ErrInvalid)
	}
	if set.GetHeartbeatPeriodNano() < 0 {
		return nil, fmt.Errorf("heartbeat period must not be negative: %w", ErrInvalid)
	}
	s.cluster.Settings = proto.Clone(set).(*swarmv1.ClusterSettings)
	s.touchCluster(now)
	return &swarmv1.Result{}, nil
}

// Snapshot returns a deep copy of the whole state.
func (s *Store) Snapshot() *swarmv1.Snapshot {
	return proto.Clone(s.sharedSnapshot()).(*swarmv1.Snapshot)
}

// sharedSnapshot returns the whole state as a snapshot that shares the
// store's objects: it must not be modified, and must be used (encoded)
// before the store changes.
func (s *Store) sharedSnapshot() *swarmv1.Snapshot {
	snap := &swarmv1.Snapshot{Version: SnapshotVersion, Cluster: s.cluster}
	for _, id := range sortedKeys(s.nodes) {
		snap.Nodes = append(snap.Nodes, s.nodes[id])
	}
	for _, id := range sortedKeys(s.reservations) {
		snap.Reservations = append(snap.Reservations, s.reservations[id])
	}
	for _, id := range sortedKeys(s.services) {
		snap.Services = append(snap.Services, s.services[id])
	}
	for _, id := range sortedKeys(s.tasks) {
		snap.Tasks = append(snap.Tasks, s.tasks[id])
	}
	for _, n := range s.networks {
		snap.Networks = append(snap.Networks, n)
	}
	slices.SortFunc(snap.Networks, func(a, b *swarmv1.Network) int { return strings.Compare(a.GetSpec().GetName(), b.GetSpec().GetName()) })
	for _, id := range sortedKeys(s.attachments) {
		snap.Attachments = append(snap.Attachments, s.attachments[id]...)
	}
	for _, id := range s.recentOrder {
		snap.Recent = append(snap.Recent, &swarmv1.RecentResult{RequestId: id, Result: s.recent[id]})
	}
	return snap
}

// EncodeSnapshot encodes the whole state, as Snapshot would, without
// copying it first.
func (s *Store) EncodeSnapshot() ([]byte, error) {
	return proto.Marshal(s.sharedSnapshot())
}

// Restore replaces the state with snap after validating it.
func (s *Store) Restore(snap *swarmv1.Snapshot) error {
	next := NewStore()
	if err := next.restore(snap); err != nil {
		return err
	}
	*s = *next
	return nil
}

func (s *Store) restore(snap *swarmv1.Snapshot) error {
	if snap == nil {
		return fmt.Errorf("empty snapshot: %w", ErrInvalid)
	}
	if snap.GetVersion() != SnapshotVersion {
		return fmt.Errorf("snapshot version %d, want %d: %w", snap.GetVersion(), SnapshotVersion, ErrInvalid)
	}
	if snap.Cluster == nil && len(snap.GetNodes()) > 0 {
		return fmt.Errorf("snapshot holds nodes but no swarm: %w", ErrInvalid)
	}
	if snap.Cluster != nil {
		s.cluster = proto.Clone(snap.Cluster).(*swarmv1.Cluster)
	}
	for _, n := range snap.GetNodes() {
		if n.GetId() == "" {
			return fmt.Errorf("snapshot holds a node without ID: %w", ErrInvalid)
		}
		if _, dup := s.nodes[n.Id]; dup {
			return fmt.Errorf("snapshot holds node %s twice: %w", n.Id, ErrInvalid)
		}
		s.nodes[n.Id] = proto.Clone(n).(*swarmv1.Node)
		// Replica IDs are never reused, whatever the snapshot says.
		if id := n.GetManager().GetReplicaId(); id >= s.cluster.NextReplicaId {
			s.cluster.NextReplicaId = id + 1
		}
	}
	if err := s.restoreNetworks(snap); err != nil {
		return err
	}
	if err := s.restoreAttachments(snap); err != nil {
		return err
	}
	if err := s.restoreServices(snap); err != nil {
		return err
	}
	for _, r := range snap.GetRecent() {
		if r.GetRequestId() == "" || r.GetResult() == nil {
			return fmt.Errorf("snapshot holds a malformed request record: %w", ErrInvalid)
		}
		if _, dup := s.recent[r.RequestId]; dup {
			continue
		}
		s.remember(r.RequestId, r.Result)
	}
	return nil
}

// Cluster returns a copy of the swarm object, nil before init.
func (s *Store) Cluster() *swarmv1.Cluster {
	if s.cluster == nil {
		return nil
	}
	return proto.Clone(s.cluster).(*swarmv1.Cluster)
}

// HeartbeatPeriod is the swarm's heartbeat period, 0 before init. Every
// heartbeat asks: it copies nothing.
func (s *Store) HeartbeatPeriod() time.Duration {
	return time.Duration(s.cluster.GetSettings().GetHeartbeatPeriodNano())
}

// RebalanceDisabled reports the swarm's rebalance setting without a copy.
func (s *Store) RebalanceDisabled() bool {
	return s.cluster.GetSettings().GetRebalanceDisabled()
}

// Nodes returns copies of every node, sorted by ID.
func (s *Store) Nodes() []*swarmv1.Node {
	out := make([]*swarmv1.Node, 0, len(s.nodes))
	for _, n := range s.nodes {
		out = append(out, proto.Clone(n).(*swarmv1.Node))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Id < out[j].Id })
	return out
}

// OffersRuntime tells whether a node of the swarm offers runtime rt, without
// copying the nodes (every service create asks).
func (s *Store) OffersRuntime(rt string) bool {
	for _, n := range s.nodes {
		if slices.Contains(n.GetDescription().GetRuntimes(), rt) {
			return true
		}
	}
	return false
}

// NodeHostname returns a node's hostname, without copying the node (the
// events of every entry name the nodes of its tasks).
func (s *Store) NodeHostname(id string) (string, bool) {
	n, ok := s.nodes[id]
	if !ok {
		return "", false
	}
	return n.GetDescription().GetHostname(), true
}

// NodeAddress returns where a node's actors are reached: its gateway
// address and the name of its node actor ("" for the default), without
// copying the node (every sync and every poke asks).
func (s *Store) NodeAddress(id string) (gateway, actorName string, ok bool) {
	n, ok := s.nodes[id]
	if !ok {
		return "", "", false
	}
	return n.GetGatewayAddr(), n.GetActorName(), true
}

// PortErrorsEqual reports whether a node is known and its recorded port
// errors are errs, without copying the node.
func (s *Store) PortErrorsEqual(id string, errs map[string]string) (known, equal bool) {
	n, ok := s.nodes[id]
	if !ok {
		return false, false
	}
	return true, maps.Equal(n.GetStatus().GetPortErrors(), errs)
}

// Node returns a copy of one node.
func (s *Store) Node(id string) (*swarmv1.Node, bool) {
	n, ok := s.nodes[id]
	if !ok {
		return nil, false
	}
	return proto.Clone(n).(*swarmv1.Node), true
}

// FindNode resolves a user's reference to a node the way docker does: an
// exact ID, then an exact hostname, then a unique ID prefix.
func (s *Store) FindNode(ref string) (*swarmv1.Node, error) {
	if ref == "" {
		return nil, fmt.Errorf("node reference is empty: %w", ErrInvalid)
	}
	if n, ok := s.nodes[ref]; ok {
		return proto.Clone(n).(*swarmv1.Node), nil
	}
	var byName, byPrefix []*swarmv1.Node
	for _, n := range s.nodes {
		if n.GetDescription().GetHostname() == ref {
			byName = append(byName, n)
		}
		if strings.HasPrefix(n.Id, ref) {
			byPrefix = append(byPrefix, n)
		}
	}
	for _, set := range [][]*swarmv1.Node{byName, byPrefix} {
		switch len(set) {
		case 0:
			continue
		case 1:
			return proto.Clone(set[0]).(*swarmv1.Node), nil
		default:
			return nil, fmt.Errorf("node %s is ambiguous (%d matches found): %w", ref, len(set), ErrConflict)
		}
	}
	return nil, fmt.Errorf("node %s not found: %w", ref, ErrNotFound)
}

// SharedNodes returns every node, sorted by ID, as copies shared by every
// caller until the store changes: callers must not modify them. It is
// for the readers that look at every node often (the failure detector,
// the supervisors, the routing mesh) in swarms of thousands of nodes.
func (s *Store) SharedNodes() []*swarmv1.Node {
	return s.nodesMemo.get(s.nodeGen, s.Nodes)
}

// SharedNodesByID returns SharedNodes by node ID, a map shared by every
// caller until the store changes: callers must not modify it or its nodes.
func (s *Store) SharedNodesByID() map[string]*swarmv1.Node {
	return s.nodeByID.get(s.nodeGen, func() map[string]*swarmv1.Node {
		nodes := s.SharedNodes()
		m := make(map[string]*swarmv1.Node, len(nodes))
		for _, n := range nodes {
			m[n.Id] = n
		}
		return m
	})
}

// SharedNode returns one node as SharedNodes has it, or a copy of its own
// while SharedNodes is out of date (rebuilding that for one node would
// make every node's change cost a copy of them all): callers must not
// modify it.
func (s *Store) SharedNode(id string) (*swarmv1.Node, bool) {
	if byID, ok := s.nodeByID.peek(s.nodeGen); ok {
		n, ok := byID[id]
		return n, ok
	}
	if s.nodesMemo.current(s.nodeGen) {
		n, ok := s.SharedNodesByID()[id]
		return n, ok
	}
	return s.Node(id)
}

// Managers returns copies of the manager nodes, sorted by ID.
func (s *Store) Managers() []*swarmv1.Node {
	ms := s.sharedManagers()
	out := make([]*swarmv1.Node, len(ms))
	for i, n := range ms {
		out[i] = proto.Clone(n).(*swarmv1.Node)
	}
	return out
}

// ManagerPeers returns the managers as peers (see PeersOf) in a slice of
// the caller's own, which it may reorder; the peers are shared by every
// caller until a node changes, and must not be modified. Every node asks
// for them at every heartbeat and sync, so they are kept rather than made
// from the nodes, or copied, each time.
func (s *Store) ManagerPeers() []*swarmv1.Peer {
	return slices.Clone(s.peersMemo.get(s.nodeGen, func() []*swarmv1.Peer { return PeersOf(s.sharedManagers()) }))
}

func (s *Store) sharedManagers() []*swarmv1.Node {
	return s.managerMemo.get(s.nodeGen, func() []*swarmv1.Node {
		var out []*swarmv1.Node
		for _, n := range s.nodes {
			if n.Role == swarmv1.NodeRole_NODE_ROLE_MANAGER {
				out = append(out, n)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Id < out[j].Id })
		return out
	})
}

// objects counts the nodes, services, tasks and networks of the state.
func (s *Store) objects() int {
	return len(s.nodes) + len(s.services) + len(s.tasks) + len(s.networks)
}
