package cluster

import (
	"slices"

	"google.golang.org/protobuf/proto"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// CopyTask returns a new task with t's fields that shares t's spec, status
// and ports: the store never changes those in place (a new status or spec
// replaces the old one), and neither may a reader. Tasks are read by the
// hundred thousand at scale (a supervisor's view, a node's sync), and a
// deep copy of each was most of the managers' memory and CPU there.
// Attachments are not shared: they are never stored, only filled in.
func CopyTask(t *swarmv1.Task) *swarmv1.Task {
	return &swarmv1.Task{
		Id:              t.Id,
		ServiceId:       t.ServiceId,
		Slot:            t.Slot,
		NodeId:          t.NodeId,
		SpecVersion:     t.SpecVersion,
		Spec:            t.Spec,
		DesiredState:    t.DesiredState,
		Status:          t.Status,
		CreatedUnixNano: t.CreatedUnixNano,
		UpdatedUnixNano: t.UpdatedUnixNano,
		Version:         t.Version,
		ServiceName:     t.ServiceName,
		Ports:           slices.Clip(t.Ports),
		ShutdownReason:  t.ShutdownReason,
		Attachments:     slices.Clone(t.Attachments),
	}
}

// storedTask is the store's own copy of a task that comes with a command
// (or a snapshot): nothing of the command is kept, and a spec equal to
// its service's current one is that spec, shared by every task of the
// service that runs it rather than held once per task.
func (s *Store) storedTask(t *swarmv1.Task) *swarmv1.Task {
	c := CopyTask(t)
	c.Spec = s.sharedSpec(t)
	if t.Status != nil {
		c.Status = proto.Clone(t.Status).(*swarmv1.TaskStatus)
	}
	c.Ports = clonePorts(t.Ports)
	c.Attachments = nil
	return c
}

func (s *Store) sharedSpec(t *swarmv1.Task) *swarmv1.TaskSpec {
	if t.Spec == nil {
		return nil
	}
	if svc, ok := s.services[t.ServiceId]; ok && svc.SpecVersion == t.SpecVersion {
		if cur := svc.GetSpec().GetTask(); cur != nil && proto.Equal(cur, t.Spec) {
			return cur
		}
	}
	return proto.Clone(t.Spec).(*swarmv1.TaskSpec)
}
