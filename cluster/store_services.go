package cluster

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Published ports asked as 0 are allocated from this range, as Swarm does.
const (
	DynamicPortStart = 30000
	DynamicPortEnd   = 32767
)

// validServiceName is Docker's rule for object names.
var validServiceName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)

// Terminal reports whether a task in state st has ended for good.
func Terminal(st swarmv1.TaskState) bool {
	return st >= swarmv1.TaskState_TASK_STATE_COMPLETE
}

func portKey(p *swarmv1.PortConfig) string {
	proto := "tcp"
	if p.GetProtocol() == swarmv1.Protocol_PROTOCOL_UDP {
		proto = "udp"
	}
	return fmt.Sprintf("%d/%s", p.GetPublishedPort(), proto)
}

func ingress(p *swarmv1.PortConfig) bool {
	return p.GetMode() != swarmv1.PublishMode_PUBLISH_MODE_HOST
}

// applyReserve reserves a service's name and ingress ports on the control
// shard; a port asked as 0 gets the lowest free one of the dynamic range.
func (s *Store) applyReserve(c *swarmv1.ReserveService) (*swarmv1.Result, error) {
	id, name := c.GetServiceId(), c.GetName()
	if id == "" {
		return nil, fmt.Errorf("reserve: no service ID: %w", ErrInvalid)
	}
	if !validServiceName.MatchString(name) {
		return nil, fmt.Errorf("invalid service name %q: names are 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit: %w", name, ErrInvalid)
	}
	used := make(map[string]string)
	for otherID, r := range s.reservations {
		if otherID == id {
			continue
		}
		if r.Name == name {
			return nil, fmt.Errorf("service %s already exists: %w", name, ErrExists)
		}
		for _, p := range r.Ports {
			used[portKey(p)] = r.Name
		}
	}
	ports := make([]*swarmv1.PortConfig, 0, len(c.GetPorts()))
	for _, p := range c.GetPorts() {
		p = proto.Clone(p).(*swarmv1.PortConfig)
		if p.GetTargetPort() == 0 || p.GetTargetPort() > 65535 || p.GetPublishedPort() > 65535 {
			return nil, fmt.Errorf("invalid port %d:%d: ports are 1-65535: %w", p.GetPublishedPort(), p.GetTargetPort(), ErrInvalid)
		}
		if !ingress(p) {
			if p.PublishedPort == 0 {
				p.PublishedPort = p.TargetPort
			}
			ports = append(ports, p)
			continue
		}
		if p.PublishedPort == 0 {
			for port := uint32(DynamicPortStart); port <= DynamicPortEnd; port++ {
				p.PublishedPort = port
				if _, taken := used[portKey(p)]; !taken {
					break
				}
				p.PublishedPort = 0
			}
			if p.PublishedPort == 0 {
				return nil, fmt.Errorf("no free port left in %d-%d: %w", DynamicPortStart, DynamicPortEnd, ErrConflict)
			}
		} else if owner, taken := used[portKey(p)]; taken {
			return nil, fmt.Errorf("port '%d' is already in use by service '%s' as an ingress port: %w", p.PublishedPort, owner, ErrConflict)
		}
		used[portKey(p)] = name
		ports = append(ports, p)
	}
	nets, err := s.resolveNetworks(c.GetNetworks())
	if err != nil {
		return nil, err
	}
	s.reservations[id] = &swarmv1.ServiceReservation{ServiceId: id, Name: name, Ports: ports, NetworkIds: nets}
	return &swarmv1.Result{Ports: clonePorts(ports), NetworkIds: nets}, nil
}

func clonePorts(ps []*swarmv1.PortConfig) []*swarmv1.PortConfig {
	out := make([]*swarmv1.PortConfig, len(ps))
	for i, p := range ps {
		out[i] = proto.Clone(p).(*swarmv1.PortConfig)
	}
	return out
}

func (s *Store) applyRelease(c *swarmv1.ReleaseService) (*swarmv1.Result, error) {
	delete(s.reservations, c.GetServiceId())
	return &swarmv1.Result{}, nil
}

func (s *Store) applyCreateService(c *swarmv1.CreateService, now int64) (*swarmv1.Result, error) {
	svc := c.GetService()
	if svc.GetId() == "" || svc.GetSpec() == nil || svc.GetSpec().GetName() == "" || svc.GetSpec().GetTask() == nil {
		return nil, fmt.Errorf("create service: incomplete service: %w", ErrInvalid)
	}
	if _, ok := s.services[svc.Id]; ok {
		return nil, fmt.Errorf("service %s: %w", svc.Id, ErrExists)
	}
	svc = proto.Clone(svc).(*swarmv1.Service)
	svc.CreatedUnixNano, svc.UpdatedUnixNano, svc.Version, svc.SpecVersion = now, now, 1, 1
	s.services[svc.Id] = svc
	return &swarmv1.Result{Service: proto.Clone(svc).(*swarmv1.Service)}, nil
}

func (s *Store) service(id string) (*swarmv1.Service, error) {
	svc, ok := s.services[id]
	if !ok {
		return nil, fmt.Errorf("no such service: %s: %w", id, ErrNotFound)
	}
	return svc, nil
}

func (s *Store) applyUpdateService(c *swarmv1.UpdateService, now int64) (*swarmv1.Result, error) {
	svc, err := s.service(c.GetServiceId())
	if err != nil {
		return nil, err
	}
	if v := c.GetExpectedVersion(); v != 0 && v != svc.Version {
		return nil, fmt.Errorf("update out of sequence: service %s is at version %d, not %d: %w", svc.Spec.GetName(), svc.Version, v, ErrBadVersion)
	}
	if c.GetSpec() != nil && c.GetRollback() {
		return nil, fmt.Errorf("update service: a spec and a rollback at once: %w", ErrInvalid)
	}
	if spec := c.GetSpec(); spec != nil {
		if spec.GetName() != svc.Spec.GetName() {
			return nil, fmt.Errorf("renaming services is not supported: %w", ErrInvalid)
		}
		if spec.GetTask() == nil {
			return nil, fmt.Errorf("update service: spec without a task: %w", ErrInvalid)
		}
		svc.PreviousSpec = svc.Spec
		svc.Spec = proto.Clone(spec).(*swarmv1.ServiceSpec)
		svc.SpecVersion++
	}
	if c.GetRollback() {
		if svc.PreviousSpec == nil {
			return nil, fmt.Errorf("service %s has no previous spec to roll back to: %w", svc.Spec.GetName(), ErrConflict)
		}
		svc.Spec, svc.PreviousSpec = svc.PreviousSpec, svc.Spec
		svc.SpecVersion++
	}
	if c.GetPorts() != nil {
		svc.Ports = clonePorts(c.GetPorts())
	}
	if us := c.GetUpdateStatus(); us != nil {
		svc.UpdateStatus = proto.Clone(us).(*swarmv1.UpdateStatus)
	}
	svc.UpdatedUnixNano = now
	svc.Version++
	return &swarmv1.Result{Service: proto.Clone(svc).(*swarmv1.Service)}, nil
}

// applyRemoveService deletes a service and its tasks: nodes stop the tasks
// that are no longer theirs when they next sync.
func (s *Store) applyRemoveService(c *swarmv1.RemoveService) (*swarmv1.Result, error) {
	svc, err := s.service(c.GetServiceId())
	if err != nil {
		return nil, err
	}
	for id := range s.tasksByService[svc.Id] {
		s.deleteTask(id)
	}
	delete(s.services, svc.Id)
	delete(s.tasksByService, svc.Id)
	return &swarmv1.Result{Service: svc}, nil
}

func index[V any](m map[string]map[string]V, key, id string, v V) {
	if key == "" {
		return
	}
	set, ok := m[key]
	if !ok {
		set = make(map[string]V)
		m[key] = set
	}
	set[id] = v
}

func unindex[V any](m map[string]map[string]V, key, id string) {
	if set, ok := m[key]; ok {
		delete(set, id)
		if len(set) == 0 {
			delete(m, key)
		}
	}
}

func (s *Store) putTask(t *swarmv1.Task) {
	s.tasks[t.Id] = t
	index(s.tasksByService, t.ServiceId, t.Id, struct{}{})
	s.indexOnNode(t)
	s.use(t, 1)
}

// nodeTaskSet is a node's tasks in a shard, by ID with their node
// versions (Task.node_version), and the node's revision: the Raft index
// of the entry that last changed any of them in a way the node acts on
// (0: unknown, as after a restore). A node that has no task left has no
// set, hence revision 0.
type nodeTaskSet struct {
	rev      uint64
	versions map[string]uint64
}

// indexOnNode records a task's node version in its node's set (if it has
// a node) and moves the node's revision to the entry being applied.
func (s *Store) indexOnNode(t *swarmv1.Task) {
	if t.NodeId == "" {
		return
	}
	set, ok := s.tasksByNode[t.NodeId]
	if !ok {
		set = &nodeTaskSet{versions: make(map[string]uint64)}
		s.tasksByNode[t.NodeId] = set
	}
	set.versions[t.Id] = t.NodeVersion
	set.rev = s.applying
}

func (s *Store) unindexOnNode(t *swarmv1.Task) {
	set, ok := s.tasksByNode[t.NodeId]
	if !ok {
		return
	}
	delete(set.versions, t.Id)
	set.rev = s.applying
	if len(set.versions) == 0 {
		delete(s.tasksByNode, t.NodeId)
	}
}

func (s *Store) deleteTask(id string) {
	t, ok := s.tasks[id]
	if !ok {
		return
	}
	s.use(t, -1)
	unindex(s.tasksByService, t.ServiceId, id)
	s.unindexOnNode(t)
	delete(s.tasks, id)
}

// applyTaskBatch applies task changes in order: creations (create, then
// new_tasks), assignments, desired states, reported states, deletions.
// The whole batch is checked first, so a bad batch changes nothing; changes that became moot (a
// report for a task deleted meanwhile, a state going backwards) are
// skipped, not refused, since nodes and supervisors race by design.
func (s *Store) applyTaskBatch(c *swarmv1.TaskBatch, now int64) (*swarmv1.Result, error) {
	seen := make(map[string]bool)
	for _, t := range c.GetCreate() {
		if t.GetId() == "" || t.GetServiceId() == "" || t.GetSpec() == nil {
			return nil, fmt.Errorf("create task: incomplete task: %w", ErrInvalid)
		}
		if _, ok := s.tasks[t.Id]; ok || seen[t.Id] {
			return nil, fmt.Errorf("task %s: %w", t.Id, ErrExists)
		}
		if _, ok := s.services[t.ServiceId]; !ok {
			return nil, fmt.Errorf("task %s of unknown service %s: %w", t.Id, t.ServiceId, ErrNotFound)
		}
		seen[t.Id] = true
	}
	for _, g := range c.GetNewTasks() {
		svc, ok := s.services[g.GetServiceId()]
		if !ok {
			return nil, fmt.Errorf("new tasks of unknown service %s: %w", g.GetServiceId(), ErrNotFound)
		}
		if svc.SpecVersion != g.GetSpecVersion() {
			return nil, fmt.Errorf("new tasks of service %s at spec version %d: the service is at %d: %w",
				svc.Id, g.GetSpecVersion(), svc.SpecVersion, ErrConflict)
		}
		for _, nt := range g.GetTasks() {
			if nt.GetId() == "" || nt.GetNodeId() == "" {
				return nil, fmt.Errorf("new task of service %s: no ID or node: %w", svc.Id, ErrInvalid)
			}
			if _, ok := s.tasks[nt.Id]; ok || seen[nt.Id] {
				return nil, fmt.Errorf("task %s: %w", nt.Id, ErrExists)
			}
			seen[nt.Id] = true
		}
	}
	for _, d := range c.GetDesire() {
		if d.GetDesiredState() == swarmv1.TaskState_TASK_STATE_UNSPECIFIED {
			return nil, fmt.Errorf("task %s: no desired state: %w", d.GetTaskId(), ErrInvalid)
		}
	}
	for _, u := range c.GetStatus() {
		if u.GetStatus().GetState() == swarmv1.TaskState_TASK_STATE_UNSPECIFIED {
			return nil, fmt.Errorf("task %s: no state: %w", u.GetTaskId(), ErrInvalid)
		}
	}
	for _, t := range c.GetCreate() {
		t = s.storedTask(t)
		s.created++
		t.CreatedUnixNano, t.UpdatedUnixNano, t.Version, t.CreatedIndex, t.NodeVersion = now, now, 1, s.created, CreatedNodeVersion
		switch {
		case t.Status == nil:
			t.Status = &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_NEW, TimestampUnixNano: now}
		case t.Status.TimestampUnixNano == 0:
			// The command's status is the store's to keep, not to change.
			t.Status = proto.Clone(t.Status).(*swarmv1.TaskStatus)
			t.Status.TimestampUnixNano = now
		}
		s.putTask(t)
	}
	for _, g := range c.GetNewTasks() {
		svc := s.services[g.ServiceId]
		// One status for the group: a status is replaced, never changed
		// in place.
		st := &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ASSIGNED, TimestampUnixNano: now, Message: AssignedMessage}
		for _, nt := range g.Tasks {
			s.created++
			s.putTask(&swarmv1.Task{
				Id: nt.Id, ServiceId: svc.Id, ServiceName: svc.GetSpec().GetName(), Slot: nt.Slot, NodeId: s.nodeRef(nt.NodeId),
				SpecVersion: svc.SpecVersion, Spec: svc.GetSpec().GetTask(), DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING, Status: st,
				CreatedUnixNano: now, UpdatedUnixNano: now, Version: 1, CreatedIndex: s.created, NodeVersion: CreatedNodeVersion,
			})
		}
	}
	for _, a := range c.GetAssign() {
		t, ok := s.tasks[a.GetTaskId()]
		if !ok || t.NodeId != "" || t.Status.GetState() > swarmv1.TaskState_TASK_STATE_PENDING || a.GetNodeId() == "" {
			continue
		}
		s.use(t, -1)
		t.NodeId = s.nodeRef(a.NodeId)
		t.Status = &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_ASSIGNED, TimestampUnixNano: now, Message: AssignedMessage}
		s.touchTaskForNode(t, now)
		s.use(t, 1)
	}
	for _, d := range c.GetDesire() {
		t, ok := s.tasks[d.GetTaskId()]
		if !ok || d.DesiredState <= t.DesiredState {
			continue
		}
		s.use(t, -1)
		t.DesiredState = d.DesiredState
		s.use(t, 1)
		if d.GetReason() != "" {
			t.ShutdownReason = d.Reason
		}
		s.touchTaskForNode(t, now)
	}
	for _, u := range c.GetStatus() {
		t, ok := s.tasks[u.GetTaskId()]
		if !ok || Terminal(t.Status.GetState()) || u.Status.State < t.Status.GetState() {
			continue
		}
		if u.Status.State == t.Status.GetState() && proto.Equal(u.Status, t.Status) {
			continue
		}
		// The report's status is kept as it is (see Apply), unless it
		// must be dated: a node's clock ahead of the manager's that
		// committed the report would date the task's state in the future
		// (and its restart delay with it), so no later than the entry.
		st := u.Status
		if st.TimestampUnixNano == 0 || (now > 0 && st.TimestampUnixNano > now) {
			st = proto.Clone(st).(*swarmv1.TaskStatus)
			st.TimestampUnixNano = now
		}
		s.use(t, -1)
		t.Status = st
		s.use(t, 1)
		s.touchTask(t, now)
	}
	for _, id := range c.GetDelete() {
		s.deleteTask(id)
	}
	return &swarmv1.Result{}, nil
}

// NodeUsage is what the active tasks of a shard hold on one node: the
// tasks that have the node, are meant to run and have not ended.
type NodeUsage struct {
	Tasks       int
	NanoCPUs    int64
	MemoryBytes int64
	// HostPorts counts the tasks publishing each port in host mode
	// ("80/tcp").
	HostPorts map[string]int
}

// active reports whether a task holds its node: the scheduler counts it.
func active(t *swarmv1.Task) bool {
	return t.NodeId != "" && t.DesiredState <= swarmv1.TaskState_TASK_STATE_RUNNING && !Terminal(t.GetStatus().GetState())
}

// use adds (sign 1) or takes away (sign -1) a task's share of the counts
// by state and, when it is active, of its node's usage. Callers take a
// task away before changing it and add it back after.
func (s *Store) use(t *swarmv1.Task, sign int) {
	st := t.GetStatus().GetState()
	if s.states[st] += sign; s.states[st] == 0 {
		delete(s.states, st)
	}
	if !active(t) {
		return
	}
	u := s.usage[t.NodeId]
	if u == nil {
		u = &NodeUsage{}
		s.usage[t.NodeId] = u
	}
	r := t.GetSpec().GetReservations()
	u.Tasks += sign
	u.NanoCPUs += int64(sign) * max(r.GetNanoCpus(), 0)
	u.MemoryBytes += int64(sign) * max(r.GetMemoryBytes(), 0)
	for _, p := range t.GetPorts() {
		if p.GetMode() != swarmv1.PublishMode_PUBLISH_MODE_HOST || p.GetPublishedPort() == 0 {
			continue
		}
		key := portKey(p)
		if u.HostPorts == nil {
			u.HostPorts = make(map[string]int)
		}
		if u.HostPorts[key] += sign; u.HostPorts[key] <= 0 {
			delete(u.HostPorts, key)
		}
	}
	if u.Tasks <= 0 {
		delete(s.usage, t.NodeId)
	}
}

// EachUsage calls fn with what the active tasks of this shard hold on each
// node that has any, in no order: what the scheduler needs of the other
// services' tasks, summed, in swarms too big to list them all at every
// placement. fn must not keep u.
func (s *Store) EachUsage(fn func(node string, u *NodeUsage)) {
	for id, u := range s.usage {
		fn(id, u)
	}
}

// AssignedMessage is the message of a task's status once it is placed on
// a node, Docker's.
const AssignedMessage = "scheduler assigned task to node"

// CreatedNodeVersion is every task's node version when it is created (see
// Task.node_version): a node given a new task by a poke knows it at that.
const CreatedNodeVersion = 1

// touchTask marks a stored task changed: a new version. Its node's index
// is not changed: the node need not hear of it (its state was reported).
func (s *Store) touchTask(t *swarmv1.Task, now int64) {
	t.UpdatedUnixNano = now
	t.Version++
}

// touchTaskForNode marks a stored task changed in a way its node acts on
// (assigned, told a desired state): a new version and node version, in
// its node's index too.
func (s *Store) touchTaskForNode(t *swarmv1.Task, now int64) {
	s.touchTask(t, now)
	t.NodeVersion++
	s.indexOnNode(t)
}

func (s *Store) restoreServices(snap *swarmv1.Snapshot) error {
	for _, r := range snap.GetReservations() {
		if r.GetServiceId() == "" {
			return fmt.Errorf("snapshot holds a reservation without service ID: %w", ErrInvalid)
		}
		s.reservations[r.ServiceId] = proto.Clone(r).(*swarmv1.ServiceReservation)
	}
	for _, svc := range snap.GetServices() {
		if svc.GetId() == "" {
			return fmt.Errorf("snapshot holds a service without ID: %w", ErrInvalid)
		}
		s.services[svc.Id] = proto.Clone(svc).(*swarmv1.Service)
	}
	for _, t := range snap.GetTasks() {
		if t.GetId() == "" {
			return fmt.Errorf("snapshot holds a task without ID: %w", ErrInvalid)
		}
		if _, dup := s.tasks[t.Id]; dup {
			return fmt.Errorf("snapshot holds task %s twice: %w", t.Id, ErrInvalid)
		}
		s.putTask(s.storedTask(t))
		s.created = max(s.created, t.GetCreatedIndex())
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Services returns copies of every service, sorted by ID.
func (s *Store) Services() []*swarmv1.Service {
	out := make([]*swarmv1.Service, 0, len(s.services))
	for _, id := range sortedKeys(s.services) {
		out = append(out, proto.Clone(s.services[id]).(*swarmv1.Service))
	}
	return out
}

// EachService calls fn with every service, stored, in no order: fn must
// neither modify nor keep it (the routing mesh looks at every service for
// published ports, often).
func (s *Store) EachService(fn func(*swarmv1.Service)) {
	for _, svc := range s.services {
		fn(svc)
	}
}

// Service returns a copy of one service.
func (s *Store) Service(id string) (*swarmv1.Service, bool) {
	svc, ok := s.services[id]
	if !ok {
		return nil, false
	}
	return proto.Clone(svc).(*swarmv1.Service), true
}

// Task returns a copy of one task (see CopyTask).
func (s *Store) Task(id string) (*swarmv1.Task, bool) {
	t, ok := s.tasks[id]
	if !ok {
		return nil, false
	}
	return CopyTask(t), true
}

// TaskName is what names a task in events: its service's name, its slot
// (0 for a global task) and its node.
type TaskName struct {
	Service string
	Slot    uint64
	Node    string
}

// TaskName returns what names task id, sharing the stored strings.
func (s *Store) TaskName(id string) (TaskName, bool) {
	t, ok := s.tasks[id]
	if !ok {
		return TaskName{}, false
	}
	return TaskName{Service: t.ServiceName, Slot: t.Slot, Node: t.NodeId}, true
}

// TasksOfService returns copies of a service's tasks (see CopyTask),
// sorted by ID.
func (s *Store) TasksOfService(id string) []*swarmv1.Task {
	return tasksIn(s, s.tasksByService[id])
}

// TasksOfServiceCached is TasksOfService for a reader that keeps the tasks
// it read last time, by ID: a task whose version did not change since is
// taken from cache instead of copied again. The cached tasks must not have
// been modified.
func (s *Store) TasksOfServiceCached(id string, cache map[string]*swarmv1.Task) []*swarmv1.Task {
	set := s.tasksByService[id]
	out := make([]*swarmv1.Task, 0, len(set))
	for tid := range set {
		t := s.tasks[tid]
		if c, ok := cache[tid]; ok && c.Version == t.Version {
			out = append(out, c)
			continue
		}
		out = append(out, CopyTask(t))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Id < out[j].Id })
	return out
}

// TasksOfNode returns copies of the tasks assigned to a node (see
// CopyTask), sorted by ID.
func (s *Store) TasksOfNode(id string) []*swarmv1.Task {
	return tasksIn(s, s.tasksByNode[id].tasks())
}

func (set *nodeTaskSet) tasks() map[string]uint64 {
	if set == nil {
		return nil
	}
	return set.versions
}

// TasksOfNodeSince is TasksOfNode for a reader that has some of the
// node's tasks already, by ID with their node version (Task.node_version):
// it copies only the tasks that known lacks or has at another node
// version, and counts the others, unchanged since for the node.
func (s *Store) TasksOfNodeSince(id string, known map[string]uint64) (changed []*swarmv1.Task, same int) {
	return s.tasksSince(s.tasksByNode[id], known)
}

func (s *Store) tasksSince(set *nodeTaskSet, known map[string]uint64) (changed []*swarmv1.Task, same int) {
	for tid, version := range set.tasks() {
		if v, ok := known[tid]; ok && v == version {
			same++
			continue
		}
		changed = append(changed, CopyTask(s.tasks[tid]))
	}
	sort.Slice(changed, func(i, j int) bool { return changed[i].Id < changed[j].Id })
	return changed, same
}

// NodeTasks is what ReadNodeTasks read of a node's tasks.
type NodeTasks struct {
	// Revision is the node's revision: the Raft index of the entry that
	// last changed its tasks here, 0 when unknown. Two replicas with the
	// same non-zero revision of a node hold its tasks alike, whatever
	// else they applied since.
	Revision uint64
	// Unchanged says that Revision is the one asked for: nothing was
	// read, the node's tasks are as the reader knows them.
	Unchanged bool
	// Changed and Same are as TasksOfNodeSince returns them.
	Changed []*swarmv1.Task
	Same    int
	// IDs are those of all the node's tasks (withIDs).
	IDs []string
}

// ReadNodeTasks reads a node's tasks for its sync: nothing when its
// revision is since (not 0) and IDs are not asked for, otherwise those
// that changed since known (TasksOfNodeSince), with withIDs the IDs of
// all too.
func (s *Store) ReadNodeTasks(id string, known map[string]uint64, since uint64, withIDs bool) NodeTasks {
	set := s.tasksByNode[id] // once: a map of every node, a cache miss
	var r NodeTasks
	if set != nil {
		r.Revision = set.rev
	}
	if !withIDs && since != 0 && r.Revision == since {
		r.Unchanged = true
		return r
	}
	r.Changed, r.Same = s.tasksSince(set, known)
	if withIDs {
		r.IDs = slices.Collect(maps.Keys(set.tasks()))
	}
	return r
}

// TaskIDsOfNode returns the IDs of the tasks that have node id, in no
// order.
func (s *Store) TaskIDsOfNode(id string) []string {
	return slices.Collect(maps.Keys(s.tasksByNode[id].tasks()))
}

// Tasks returns copies of every task (see CopyTask), sorted by ID.
func (s *Store) Tasks() []*swarmv1.Task {
	out := make([]*swarmv1.Task, 0, len(s.tasks))
	for _, id := range sortedKeys(s.tasks) {
		out = append(out, CopyTask(s.tasks[id]))
	}
	return out
}

func tasksIn[V any](s *Store, set map[string]V) []*swarmv1.Task {
	out := make([]*swarmv1.Task, 0, len(set))
	for id := range set {
		out = append(out, CopyTask(s.tasks[id]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Id < out[j].Id })
	return out
}

// Reservations returns copies of every service reservation (control shard).
func (s *Store) Reservations() []*swarmv1.ServiceReservation {
	out := make([]*swarmv1.ServiceReservation, 0, len(s.reservations))
	for _, id := range sortedKeys(s.reservations) {
		out = append(out, proto.Clone(s.reservations[id]).(*swarmv1.ServiceReservation))
	}
	return out
}

// FindReservation resolves a user's reference to a service the way docker
// does: exact ID, exact name, unique ID prefix.
func (s *Store) FindReservation(ref string) (*swarmv1.ServiceReservation, error) {
	if ref == "" {
		return nil, fmt.Errorf("service reference is empty: %w", ErrInvalid)
	}
	if r, ok := s.reservations[ref]; ok {
		return proto.Clone(r).(*swarmv1.ServiceReservation), nil
	}
	var prefix []*swarmv1.ServiceReservation
	for _, r := range s.reservations {
		if r.Name == ref {
			return proto.Clone(r).(*swarmv1.ServiceReservation), nil
		}
		if strings.HasPrefix(r.ServiceId, ref) {
			prefix = append(prefix, r)
		}
	}
	switch len(prefix) {
	case 1:
		return proto.Clone(prefix[0]).(*swarmv1.ServiceReservation), nil
	case 0:
		return nil, fmt.Errorf("no such service: %s: %w", ref, ErrNotFound)
	default:
		return nil, fmt.Errorf("service %s is ambiguous (%d matches found): %w", ref, len(prefix), ErrConflict)
	}
}

// StartingTasks counts the tasks that are assigned to a node and not
// running yet (assigned, accepted, preparing or starting).
func (s *Store) StartingTasks() int {
	n := 0
	for st := swarmv1.TaskState_TASK_STATE_ASSIGNED; st < swarmv1.TaskState_TASK_STATE_RUNNING; st++ {
		n += s.states[st]
	}
	return n
}

// TaskStates counts the tasks by state.
func (s *Store) TaskStates() map[swarmv1.TaskState]int {
	return maps.Clone(s.states)
}
