package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/actors/scheduler"
	"github.com/actorswarm/swarm/internal/ident"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// ValidateSpec checks a service spec from a user and fills Docker's
// defaults where a field is unset. Every error wraps ErrInvalid.
func ValidateSpec(spec *swarmv1.ServiceSpec) error {
	if spec == nil || spec.Task == nil {
		return fmt.Errorf("service spec without a task: %w", ErrInvalid)
	}
	if !validServiceName.MatchString(spec.Name) {
		return fmt.Errorf("invalid service name %q: names are 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit: %w", spec.Name, ErrInvalid)
	}
	t := spec.Task
	if t.Image == "" {
		return fmt.Errorf("no image given: %w", ErrInvalid)
	}
	switch t.Runtime {
	case "":
		t.Runtime = "process"
	case "process", "docker", "sim":
	default:
		return fmt.Errorf("unknown runtime %q (process, docker, sim): %w", t.Runtime, ErrInvalid)
	}
	switch spec.Mode {
	case swarmv1.ServiceMode_SERVICE_MODE_UNSPECIFIED:
		spec.Mode = swarmv1.ServiceMode_SERVICE_MODE_REPLICATED
	case swarmv1.ServiceMode_SERVICE_MODE_REPLICATED, swarmv1.ServiceMode_SERVICE_MODE_GLOBAL:
	default:
		return fmt.Errorf("unknown service mode %d: %w", spec.Mode, ErrInvalid)
	}
	if spec.Mode == swarmv1.ServiceMode_SERVICE_MODE_GLOBAL && spec.Replicas != 0 {
		return fmt.Errorf("replicas can only be used with replicated mode: %w", ErrInvalid)
	}
	for _, c := range t.GetPlacement().GetConstraints() {
		if _, err := scheduler.ParseConstraint(c); err != nil {
			return fmt.Errorf("%v: %w", err, ErrInvalid)
		}
	}
	for _, p := range spec.Ports {
		if p.TargetPort == 0 || p.TargetPort > 65535 || p.PublishedPort > 65535 {
			return fmt.Errorf("invalid port %d:%d: ports are 1-65535: %w", p.PublishedPort, p.TargetPort, ErrInvalid)
		}
		switch p.Protocol {
		case swarmv1.Protocol_PROTOCOL_UNSPECIFIED:
			p.Protocol = swarmv1.Protocol_PROTOCOL_TCP
		case swarmv1.Protocol_PROTOCOL_TCP, swarmv1.Protocol_PROTOCOL_UDP:
		default:
			return fmt.Errorf("unknown protocol %d: %w", p.Protocol, ErrInvalid)
		}
		if p.Mode == swarmv1.PublishMode_PUBLISH_MODE_UNSPECIFIED {
			p.Mode = swarmv1.PublishMode_PUBLISH_MODE_INGRESS
		}
	}
	if t.Restart == nil {
		t.Restart = &swarmv1.RestartPolicy{}
	}
	if t.Restart.Condition == swarmv1.RestartCondition_RESTART_CONDITION_UNSPECIFIED {
		t.Restart.Condition = swarmv1.RestartCondition_RESTART_CONDITION_ANY
		if t.Restart.DelayNano == 0 {
			t.Restart.DelayNano = int64(5 * time.Second)
		}
	}
	for _, d := range []int64{t.Restart.DelayNano, t.Restart.WindowNano, t.StopGraceNano} {
		if d < 0 {
			return fmt.Errorf("durations must not be negative: %w", ErrInvalid)
		}
	}
	if t.StopGraceNano == 0 {
		t.StopGraceNano = int64(10 * time.Second)
	}
	for _, u := range []**swarmv1.UpdateConfig{&spec.Update, &spec.Rollback} {
		if *u == nil {
			*u = &swarmv1.UpdateConfig{Parallelism: 1}
		}
		c := *u
		if c.FailureAction == swarmv1.FailureAction_FAILURE_ACTION_UNSPECIFIED {
			c.FailureAction = swarmv1.FailureAction_FAILURE_ACTION_PAUSE
		}
		if c.MonitorNano == 0 {
			c.MonitorNano = int64(5 * time.Second)
		}
		if c.Order == swarmv1.UpdateOrder_UPDATE_ORDER_UNSPECIFIED {
			c.Order = swarmv1.UpdateOrder_UPDATE_ORDER_STOP_FIRST
		}
		if c.MaxFailureRatio < 0 || c.MaxFailureRatio > 1 || c.DelayNano < 0 || c.MonitorNano < 0 {
			return fmt.Errorf("invalid update config: %w", ErrInvalid)
		}
	}
	return nil
}

func (m *Manager) serviceShard(id string) uint64 { return m.raft.ServiceShard(id) }

// resolveService finds a service's reservation on the control shard.
func (m *Manager) resolveService(ctx context.Context, ref string) (*swarmv1.ServiceReservation, error) {
	v, err := m.raft.Read(ctx, ControlShard, func(s *Store) any {
		r, err := s.FindReservation(ref)
		return [2]any{r, err}
	})
	if err != nil {
		return nil, err
	}
	pair := v.([2]any)
	if pair[1] != nil {
		return nil, pair[1].(error)
	}
	return pair[0].(*swarmv1.ServiceReservation), nil
}

// readService reads a service from its shard.
func (m *Manager) readService(ctx context.Context, id string) (*swarmv1.Service, error) {
	v, err := m.raft.Read(ctx, m.serviceShard(id), func(s *Store) any {
		svc, _ := s.Service(id)
		return svc
	})
	if err != nil {
		return nil, err
	}
	svc := v.(*swarmv1.Service)
	if svc == nil {
		return nil, fmt.Errorf("no such service: %s: %w", id, ErrNotFound)
	}
	return svc, nil
}

func (m *Manager) findService(ctx context.Context, ref string) (*swarmv1.Service, error) {
	r, err := m.resolveService(ctx, ref)
	if err != nil {
		return nil, err
	}
	return m.readService(ctx, r.ServiceId)
}

func serviceResponse(svc *swarmv1.Service, warnings ...string) *swarmv1.GatewayResponse {
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_Service{Service: &swarmv1.ServiceResponse{Service: svc, Warnings: warnings}}}
}

// checkOverlay refuses a service on networks when no node of the swarm can
// attach tasks to them: its tasks could run nowhere. An unknown network is
// left to the reservation, which names it.
func (m *Manager) checkOverlay(ctx context.Context, spec *swarmv1.ServiceSpec) error {
	if len(spec.GetNetworks()) == 0 {
		return nil
	}
	v, err := m.raft.Read(ctx, ControlShard, func(s *Store) any {
		if _, err := s.resolveNetworks(spec.GetNetworks()); err != nil {
			return true
		}
		return slices.ContainsFunc(s.Nodes(), func(n *swarmv1.Node) bool { return n.GetDescription().GetOverlay() })
	})
	if err != nil {
		return err
	}
	if !v.(bool) {
		return fmt.Errorf("no node of the swarm can attach tasks to overlay networks: swarmd must run as root on Linux: %w", ErrInvalid)
	}
	return nil
}

// runtimeWarning says when no node offers the service's runtime: its tasks
// would stay pending.
func (m *Manager) runtimeWarning(ctx context.Context, spec *swarmv1.ServiceSpec) []string {
	rt := spec.GetTask().GetRuntime()
	v, err := m.raft.Read(ctx, ControlShard, func(s *Store) any { return s.OffersRuntime(rt) })
	if err != nil || v.(bool) {
		return nil
	}
	return []string{fmt.Sprintf("no node of the swarm offers the %s runtime: tasks stay pending until one does", spec.GetTask().GetRuntime())}
}

func (m *Manager) serviceCreate(ctx context.Context, r *swarmv1.ServiceCreateRequest) (*swarmv1.GatewayResponse, error) {
	spec := proto.Clone(r.GetSpec()).(*swarmv1.ServiceSpec)
	if err := ValidateSpec(spec); err != nil {
		return nil, err
	}
	if err := m.checkOverlay(ctx, spec); err != nil {
		return nil, err
	}
	id := ident.New()
	res, err := m.propose(ctx, &swarmv1.Command{Cmd: &swarmv1.Command_ReserveService{ReserveService: &swarmv1.ReserveService{
		ServiceId: id, Name: spec.Name, Ports: spec.Ports, Networks: spec.Networks,
	}}})
	if err != nil {
		return nil, err
	}
	svc := &swarmv1.Service{Id: id, Spec: spec, Ports: res.Ports}
	cres, err := m.raft.Propose(ctx, m.serviceShard(id), &swarmv1.Command{NowUnixNano: m.now().UnixNano(), Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}})
	if err != nil {
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = m.propose(uctx, &swarmv1.Command{Cmd: &swarmv1.Command_ReleaseService{ReleaseService: &swarmv1.ReleaseService{ServiceId: id}}})
		return nil, err
	}
	return serviceResponse(cres.Service, m.runtimeWarning(ctx, spec)...), nil
}

func (m *Manager) serviceList(ctx context.Context) (*swarmv1.GatewayResponse, error) {
	out := &swarmv1.ServiceListResponse{}
	parts, err := m.raft.ReadShards(ctx, m.raft.Shards()[1:], func(s *Store) any {
		var rows []*swarmv1.ServiceSummary
		for _, svc := range s.Services() {
			row := &swarmv1.ServiceSummary{Service: svc, Desired: svc.GetSpec().GetReplicas()}
			global := svc.GetSpec().GetMode() == swarmv1.ServiceMode_SERVICE_MODE_GLOBAL
			if global {
				row.Desired = 0
			}
			for _, t := range s.TasksOfService(svc.Id) {
				if t.DesiredState > swarmv1.TaskState_TASK_STATE_RUNNING {
					continue
				}
				if global && !Terminal(t.GetStatus().GetState()) {
					row.Desired++
				}
				if t.GetStatus().GetState() == swarmv1.TaskState_TASK_STATE_RUNNING {
					row.Running++
				}
			}
			rows = append(rows, row)
		}
		return rows
	})
	if err != nil {
		return nil, err
	}
	for _, v := range parts {
		out.Services = append(out.Services, v.([]*swarmv1.ServiceSummary)...)
	}
	sort.Slice(out.Services, func(i, j int) bool {
		return out.Services[i].Service.GetSpec().GetName() < out.Services[j].Service.GetSpec().GetName()
	})
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_ServiceList{ServiceList: out}}, nil
}

// serviceInspect reads the control shard once (the reference resolved,
// the nodes for the endpoint), then the service's shard.
func (m *Manager) serviceInspect(ctx context.Context, r *swarmv1.ServiceInspectRequest) (*swarmv1.GatewayResponse, error) {
	type view struct {
		res   *swarmv1.ServiceReservation
		nodes []*swarmv1.Node
		err   error
	}
	v, err := m.raft.Read(ctx, ControlShard, func(s *Store) any {
		if s.Cluster() == nil {
			return view{err: ErrNoCluster}
		}
		res, err := s.FindReservation(r.GetRef())
		if err != nil {
			return view{err: err}
		}
		return view{res: res, nodes: s.Nodes()}
	})
	if err != nil {
		return nil, err
	}
	ctl := v.(view)
	if ctl.err != nil {
		return nil, ctl.err
	}
	svc, err := m.readService(ctx, ctl.res.ServiceId)
	if err != nil {
		return nil, err
	}
	nodes := ctl.nodes
	svc = proto.Clone(svc).(*swarmv1.Service)
	svc.Endpoint = Endpoint(svc, nodes)
	return serviceResponse(svc), nil
}

// Endpoint tells how svc is reached: its published ports, and for each
// ingress one the nodes whose load balancer reports it cannot listen.
func Endpoint(svc *swarmv1.Service, nodes []*swarmv1.Node) *swarmv1.ServiceEndpoint {
	ep := &swarmv1.ServiceEndpoint{Mode: "vip", Ports: svc.GetPorts()}
	for _, p := range svc.GetPorts() {
		if p.GetMode() == swarmv1.PublishMode_PUBLISH_MODE_HOST {
			continue
		}
		key := fmt.Sprintf("%d/%s", p.GetPublishedPort(), protocolName(p.GetProtocol()))
		for _, n := range nodes {
			if e, ok := n.GetStatus().GetPortErrors()[key]; ok {
				ep.Failures = append(ep.Failures, &swarmv1.PortFailure{
					PublishedPort: p.GetPublishedPort(), Protocol: p.GetProtocol(),
					NodeId: n.GetId(), Hostname: n.GetDescription().GetHostname(), Error: e,
				})
			}
		}
	}
	return ep
}

func protocolName(p swarmv1.Protocol) string {
	if p == swarmv1.Protocol_PROTOCOL_UDP {
		return "udp"
	}
	return "tcp"
}

// updateSpec commits a new spec for svc (ports reserved anew first) and
// starts a rolling update.
func (m *Manager) updateSpec(ctx context.Context, svc *swarmv1.Service, version uint64, spec *swarmv1.ServiceSpec) (*swarmv1.GatewayResponse, error) {
	if err := ValidateSpec(spec); err != nil {
		return nil, err
	}
	if spec.Name != svc.GetSpec().GetName() {
		return nil, fmt.Errorf("renaming services is not supported: %w", ErrInvalid)
	}
	if spec.Mode != svc.GetSpec().GetMode() {
		return nil, fmt.Errorf("service mode cannot be changed: %w", ErrInvalid)
	}
	if err := m.checkOverlay(ctx, spec); err != nil {
		return nil, err
	}
	res, err := m.propose(ctx, &swarmv1.Command{Cmd: &swarmv1.Command_ReserveService{ReserveService: &swarmv1.ReserveService{
		ServiceId: svc.Id, Name: spec.Name, Ports: spec.Ports, Networks: spec.Networks,
	}}})
	if err != nil {
		return nil, err
	}
	up := &swarmv1.UpdateService{ServiceId: svc.Id, ExpectedVersion: version, Spec: spec, Ports: res.Ports}
	if !proto.Equal(spec.GetTask(), svc.GetSpec().GetTask()) {
		up.UpdateStatus = &swarmv1.UpdateStatus{State: swarmv1.UpdateState_UPDATE_STATE_UPDATING, StartedUnixNano: m.now().UnixNano(), Message: "update in progress"}
	}
	ures, err := m.raft.Propose(ctx, m.serviceShard(svc.Id), &swarmv1.Command{NowUnixNano: m.now().UnixNano(), Cmd: &swarmv1.Command_UpdateService{UpdateService: up}})
	if err != nil {
		// Put the old ports back.
		uctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = m.propose(uctx, &swarmv1.Command{Cmd: &swarmv1.Command_ReserveService{ReserveService: &swarmv1.ReserveService{
			ServiceId: svc.Id, Name: svc.GetSpec().GetName(), Ports: svc.Ports, Networks: svc.GetSpec().GetNetworks(),
		}}})
		return nil, err
	}
	return serviceResponse(ures.Service), nil
}

func (m *Manager) serviceUpdate(ctx context.Context, r *swarmv1.ServiceUpdateRequest) (*swarmv1.GatewayResponse, error) {
	svc, err := m.findService(ctx, r.GetRef())
	if err != nil {
		return nil, err
	}
	if r.GetSpec() == nil {
		return nil, fmt.Errorf("service update without a spec: %w", ErrInvalid)
	}
	return m.updateSpec(ctx, svc, r.GetVersion(), proto.Clone(r.GetSpec()).(*swarmv1.ServiceSpec))
}

func (m *Manager) serviceScale(ctx context.Context, r *swarmv1.ServiceScaleRequest) (*swarmv1.GatewayResponse, error) {
	svc, err := m.findService(ctx, r.GetRef())
	if err != nil {
		return nil, err
	}
	if svc.GetSpec().GetMode() != swarmv1.ServiceMode_SERVICE_MODE_REPLICATED {
		return nil, fmt.Errorf("scale can only be used with replicated mode: %w", ErrInvalid)
	}
	spec := proto.Clone(svc.Spec).(*swarmv1.ServiceSpec)
	spec.Replicas = r.GetReplicas()
	return m.updateSpec(ctx, svc, svc.Version, spec)
}

func (m *Manager) serviceRollback(ctx context.Context, r *swarmv1.ServiceRollbackRequest) (*swarmv1.GatewayResponse, error) {
	svc, err := m.findService(ctx, r.GetRef())
	if err != nil {
		return nil, err
	}
	prev := svc.GetPreviousSpec()
	if prev == nil {
		return nil, fmt.Errorf("service %s does not have a previous spec: %w", svc.GetSpec().GetName(), ErrConflict)
	}
	res, err := m.propose(ctx, &swarmv1.Command{Cmd: &swarmv1.Command_ReserveService{ReserveService: &swarmv1.ReserveService{
		ServiceId: svc.Id, Name: prev.Name, Ports: prev.Ports, Networks: prev.Networks,
	}}})
	if err != nil {
		return nil, err
	}
	ures, err := m.raft.Propose(ctx, m.serviceShard(svc.Id), &swarmv1.Command{NowUnixNano: m.now().UnixNano(), Cmd: &swarmv1.Command_UpdateService{UpdateService: &swarmv1.UpdateService{
		ServiceId: svc.Id, ExpectedVersion: svc.Version, Rollback: true, Ports: res.Ports,
		UpdateStatus: &swarmv1.UpdateStatus{State: swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_STARTED, StartedUnixNano: m.now().UnixNano(), Message: "manually requested rollback"},
	}}})
	if err != nil {
		return nil, err
	}
	return serviceResponse(ures.Service), nil
}

func (m *Manager) serviceRemove(ctx context.Context, r *swarmv1.ServiceRemoveRequest) (*swarmv1.GatewayResponse, error) {
	res, err := m.resolveService(ctx, r.GetRef())
	if err != nil {
		return nil, err
	}
	_, err = m.raft.Propose(ctx, m.serviceShard(res.ServiceId), &swarmv1.Command{NowUnixNano: m.now().UnixNano(), Cmd: &swarmv1.Command_RemoveService{RemoveService: &swarmv1.RemoveService{ServiceId: res.ServiceId}}})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	if _, err := m.propose(ctx, &swarmv1.Command{Cmd: &swarmv1.Command_ReleaseService{ReleaseService: &swarmv1.ReleaseService{ServiceId: res.ServiceId}}}); err != nil {
		return nil, err
	}
	return serviceResponse(&swarmv1.Service{Id: res.ServiceId, Spec: &swarmv1.ServiceSpec{Name: res.Name}}), nil
}

// taskList serves `service ps` and `node ps`: one read of the control
// shard (names, and the references resolved), then the service shards
// read at once.
func (m *Manager) taskList(ctx context.Context, r *swarmv1.TaskListRequest) (*swarmv1.GatewayResponse, error) {
	type view struct {
		cluster             bool
		nodes               map[string]string
		services            map[string]string
		nodeIDs, serviceIDs []string
		err                 error
	}
	v, err := m.raft.Read(ctx, ControlShard, func(s *Store) any {
		out := view{cluster: s.Cluster() != nil, nodes: make(map[string]string), services: make(map[string]string)}
		for _, n := range s.Nodes() {
			out.nodes[n.Id] = n.GetDescription().GetHostname()
		}
		for _, res := range s.Reservations() {
			out.services[res.ServiceId] = res.Name
		}
		for _, ref := range r.GetNodeRefs() {
			if ref == "self" {
				ref = m.selfID
			}
			n, err := s.FindNode(ref)
			if err != nil {
				out.err = err
				return out
			}
			if !slices.Contains(out.nodeIDs, n.Id) {
				out.nodeIDs = append(out.nodeIDs, n.Id)
			}
		}
		for _, ref := range r.GetServiceRefs() {
			res, err := s.FindReservation(ref)
			if err != nil {
				out.err = err
				return out
			}
			if !slices.Contains(out.serviceIDs, res.ServiceId) {
				out.serviceIDs = append(out.serviceIDs, res.ServiceId)
			}
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	ctl := v.(view)
	switch {
	case !ctl.cluster:
		return nil, ErrNoCluster
	case ctl.err != nil:
		return nil, ctl.err
	}
	nodeIDs, serviceIDs := ctl.nodeIDs, ctl.serviceIDs
	parts, err := m.raft.ReadShards(ctx, m.raft.Shards()[1:], func(s *Store) any {
		switch {
		case len(serviceIDs) > 0:
			var ts []*swarmv1.Task
			for _, id := range serviceIDs {
				ts = append(ts, s.TasksOfService(id)...)
			}
			if len(nodeIDs) == 0 {
				return ts
			}
			return filterNodes(ts, nodeIDs)
		case len(nodeIDs) > 0:
			var ts []*swarmv1.Task
			for _, id := range nodeIDs {
				ts = append(ts, s.TasksOfNode(id)...)
			}
			return ts
		default:
			return s.Tasks()
		}
	})
	if err != nil {
		return nil, err
	}
	out := &swarmv1.TaskListResponse{NodeNames: ctl.nodes, ServiceNames: ctl.services}
	for _, v := range parts {
		out.Tasks = append(out.Tasks, v.([]*swarmv1.Task)...)
	}
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_TaskList{TaskList: out}}, nil
}

func filterNodes(ts []*swarmv1.Task, nodeIDs []string) []*swarmv1.Task {
	var out []*swarmv1.Task
	for _, t := range ts {
		for _, id := range nodeIDs {
			if t.NodeId == id {
				out = append(out, t)
			}
		}
	}
	return out
}

// serviceLogs gathers the kept output of a service's tasks from their
// nodes; nodes that do not answer are skipped.
func (m *Manager) serviceLogs(ctx context.Context, r *swarmv1.ServiceLogsRequest) (*swarmv1.GatewayResponse, error) {
	svc, err := m.findService(ctx, r.GetRef())
	if err != nil {
		return nil, err
	}
	v, err := m.raft.Read(ctx, m.serviceShard(svc.Id), func(s *Store) any { return s.TasksOfService(svc.Id) })
	if err != nil {
		return nil, err
	}
	tasks := v.([]*swarmv1.Task)
	_, nodes, err := m.read(ctx)
	if err != nil {
		return nil, err
	}
	out := &swarmv1.ServiceLogsResponse{Tasks: tasks, NodeNames: make(map[string]string), ServiceName: svc.GetSpec().GetName()}
	byNode := make(map[string][]string)
	for _, t := range tasks {
		if t.NodeId != "" {
			byNode[t.NodeId] = append(byNode[t.NodeId], t.Id)
		}
	}
	for _, n := range nodes {
		out.NodeNames[n.Id] = n.GetDescription().GetHostname()
		ids, ok := byNode[n.Id]
		if !ok || n.GetStatus().GetState() != swarmv1.NodeState_NODE_STATE_READY {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		resp, err := m.notify.Logs(lctx, n, &swarmv1.TaskLogsRequest{TaskIds: ids, Tail: r.GetTail(), SinceUnixNano: r.GetSinceUnixNano()})
		cancel()
		if err != nil {
			continue
		}
		out.Lines = append(out.Lines, resp.Lines...)
	}
	// --tail applies per task, as docker's does per container: the nodes
	// cut each task's lines.
	sort.SliceStable(out.Lines, func(i, j int) bool { return out.Lines[i].TimestampUnixNano < out.Lines[j].TimestampUnixNano })
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_ServiceLogs{ServiceLogs: out}}, nil
}
