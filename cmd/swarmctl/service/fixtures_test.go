package service

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// The services of the tests: http and pub are those of
// /work/shared/reference/docker-20.10-outputs.txt.
const (
	httpID   = "gujo969xnzkru2qa12rq1zo6j"
	pubID    = "w7zbifxbghkji34xlayks7rnp"
	webID    = "3nkq1ls0b7k9y2x4v6t8r0p2m"
	agentID  = "9x8w7v6u5t4s3r2q1p0o9n8m7"
	nodeID   = "k3olwtdqx9xkisqb4ldl2jqsg"
	createID = "c0ffee1234567890abcdefghi"
)

func nouns(c *cli.CLI) []*cobra.Command { return []*cobra.Command{NewCommand(c)} }

var referenceArgs = []string{"sh", "-c", "echo ok > /www/index.html; exec httpd -f -p 8080 -h /www"}

// referenceSpec is what `docker service create --name NAME --replicas N
// local/busybox:2 sh -c ...` stored, with swarmctl's defaults.
func referenceSpec(name string, replicas uint64) *swarmv1.ServiceSpec {
	spec := defaultSpec()
	spec.Name, spec.Replicas = name, replicas
	spec.Task.Image, spec.Task.Args = "local/busybox:2", referenceArgs
	return spec
}

func testService(id string, spec *swarmv1.ServiceSpec) *swarmv1.Service {
	created := clitest.Now().Add(-time.Hour).UnixNano()
	return &swarmv1.Service{Id: id, CreatedUnixNano: created, UpdatedUnixNano: created, Version: 7, Spec: spec, SpecVersion: 3}
}

func httpService() *swarmv1.Service { return testService(httpID, referenceSpec("http", 2)) }

func pubService() *swarmv1.Service {
	svc := testService(pubID, referenceSpec("pub", 1))
	port := &swarmv1.PortConfig{Protocol: swarmv1.Protocol_PROTOCOL_TCP, TargetPort: 8080, PublishedPort: 8090, Mode: swarmv1.PublishMode_PUBLISH_MODE_HOST}
	svc.Spec.Ports = []*swarmv1.PortConfig{port}
	svc.Ports = []*swarmv1.PortConfig{proto.Clone(port).(*swarmv1.PortConfig)}
	return svc
}

// webService has everything a spec can hold.
func webService() *swarmv1.Service {
	spec := referenceSpec("web", 6)
	spec.Labels = map[string]string{"tier": "front", "canary": ""}
	spec.Networks = []string{"skynet", "backend"}
	spec.Task.Image = "nginx:1.25@sha256:4b3f8f1a3f0f7b1f8c8a0b0f3f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2"
	spec.Task.Args = nil
	spec.Task.Env = []string{"MODE=prod", "DEBUG=0"}
	spec.Task.Placement = &swarmv1.Placement{Constraints: []string{"node.role==worker", "node.labels.zone!=c"}, SpreadLabels: []string{"zone"}, MaxReplicasPerNode: 2}
	spec.Task.Reservations = &swarmv1.Resources{NanoCpus: 500_000_000, MemoryBytes: 256 << 20}
	spec.Task.Limits = &swarmv1.Resources{NanoCpus: 1_000_000_000, MemoryBytes: 1 << 30}
	spec.Update.DelayNano = int64(10 * time.Second)
	spec.Update.MaxFailureRatio = 0.2
	spec.Update.Order = swarmv1.UpdateOrder_UPDATE_ORDER_START_FIRST
	spec.Update.FailureAction = swarmv1.FailureAction_FAILURE_ACTION_ROLLBACK
	spec.Ports = []*swarmv1.PortConfig{
		{TargetPort: 80, PublishedPort: 80, Mode: swarmv1.PublishMode_PUBLISH_MODE_INGRESS},
		{TargetPort: 8081, PublishedPort: 8081, Mode: swarmv1.PublishMode_PUBLISH_MODE_INGRESS},
		{TargetPort: 8080, PublishedPort: 8080, Mode: swarmv1.PublishMode_PUBLISH_MODE_INGRESS},
		{Protocol: swarmv1.Protocol_PROTOCOL_UDP, TargetPort: 53, PublishedPort: 30001, Mode: swarmv1.PublishMode_PUBLISH_MODE_INGRESS},
		{TargetPort: 9000, PublishedPort: 9000, Mode: swarmv1.PublishMode_PUBLISH_MODE_HOST},
	}
	svc := testService(webID, spec)
	svc.UpdateStatus = &swarmv1.UpdateStatus{
		State:             swarmv1.UpdateState_UPDATE_STATE_COMPLETED,
		StartedUnixNano:   clitest.Now().Add(-10 * time.Minute).UnixNano(),
		CompletedUnixNano: clitest.Now().Add(-8 * time.Minute).UnixNano(),
		Message:           "update completed",
	}
	return svc
}

func agentService() *swarmv1.Service {
	spec := referenceSpec("agent", 0)
	spec.Mode = swarmv1.ServiceMode_SERVICE_MODE_GLOBAL
	return testService(agentID, spec)
}

// daemon is a fake gateway holding services, whose tasks all run.
type daemon struct {
	services []*swarmv1.Service
	// refuse makes a request about the service it names fail with this
	// message.
	refuse map[string]string
	// logs answers ServiceLogs requests in turn, the last one for ever.
	logs []*swarmv1.ServiceLogsResponse
}

func newDaemon(services ...*swarmv1.Service) *daemon { return &daemon{services: services} }

func (d *daemon) conn() *clitest.Conn { return &clitest.Conn{Reply: d.reply} }

func (d *daemon) find(ref string) (*swarmv1.Service, *swarmv1.GatewayResponse) {
	if msg, ok := d.refuse[ref]; ok {
		return nil, &swarmv1.GatewayResponse{Error: msg, Code: 4}
	}
	for _, svc := range d.services {
		if svc.GetId() == ref || svc.GetSpec().GetName() == ref || len(ref) >= 3 && strings.HasPrefix(svc.GetId(), ref) {
			return svc, nil
		}
	}
	return nil, &swarmv1.GatewayResponse{Error: "no such service: " + ref, Code: cli.CodeNotFound}
}

func serviceResponse(svc *swarmv1.Service) *swarmv1.GatewayResponse {
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_Service{Service: &swarmv1.ServiceResponse{Service: svc}}}
}

func (d *daemon) reply(req *swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
	var ref string
	switch r := req.GetReq().(type) {
	case *swarmv1.GatewayRequest_ServiceCreate:
		svc := testService(createID, r.ServiceCreate.GetSpec())
		d.services = append(d.services, svc)
		resp := serviceResponse(svc)
		resp.GetService().Warnings = []string{"no suitable node yet offers runtime sim"}
		return resp, nil
	case *swarmv1.GatewayRequest_ServiceList:
		list := &swarmv1.ServiceListResponse{}
		for _, svc := range d.services {
			running := svc.GetSpec().GetReplicas()
			if svc.GetSpec().GetMode() == swarmv1.ServiceMode_SERVICE_MODE_GLOBAL {
				running = 3
			}
			list.Services = append(list.Services, &swarmv1.ServiceSummary{Service: svc, Running: running, Desired: running})
		}
		return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_ServiceList{ServiceList: list}}, nil
	case *swarmv1.GatewayRequest_TaskList:
		return d.taskList(r.TaskList), nil
	case *swarmv1.GatewayRequest_ServiceLogs:
		ref = r.ServiceLogs.GetRef()
		if _, refused := d.find(ref); refused != nil {
			return refused, nil
		}
		resp := d.logs[0]
		if len(d.logs) > 1 {
			d.logs = d.logs[1:]
		}
		return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_ServiceLogs{ServiceLogs: resp}}, nil
	case *swarmv1.GatewayRequest_ServiceInspect:
		ref = r.ServiceInspect.GetRef()
	case *swarmv1.GatewayRequest_ServiceUpdate:
		ref = r.ServiceUpdate.GetRef()
	case *swarmv1.GatewayRequest_ServiceScale:
		ref = r.ServiceScale.GetRef()
	case *swarmv1.GatewayRequest_ServiceRollback:
		ref = r.ServiceRollback.GetRef()
	case *swarmv1.GatewayRequest_ServiceRemove:
		ref = r.ServiceRemove.GetRef()
	default:
		return nil, fmt.Errorf("unexpected request %T", r)
	}
	svc, refused := d.find(ref)
	if refused != nil {
		return refused, nil
	}
	if scale := req.GetServiceScale(); scale != nil {
		svc.Spec.Replicas = scale.GetReplicas()
	}
	if update := req.GetServiceUpdate(); update != nil {
		if update.GetVersion() != svc.GetVersion() {
			return &swarmv1.GatewayResponse{Error: "update out of sequence", Code: 6}, nil
		}
		svc.Spec, svc.Version, svc.SpecVersion = update.GetSpec(), svc.Version+1, svc.SpecVersion+1
	}
	return serviceResponse(svc), nil
}

// taskList answers with one running task per replica (per node for a
// global service) of the services asked for, each service once, or, as
// the managers do, with the refusal of the first reference not found.
func (d *daemon) taskList(r *swarmv1.TaskListRequest) *swarmv1.GatewayResponse {
	list := &swarmv1.TaskListResponse{NodeNames: map[string]string{nodeID: "vm"}, ServiceNames: map[string]string{}}
	for _, ref := range r.GetServiceRefs() {
		svc, refused := d.find(ref)
		if refused != nil {
			return refused
		}
		if _, ok := list.ServiceNames[svc.GetId()]; ok {
			continue
		}
		list.ServiceNames[svc.GetId()] = svc.GetSpec().GetName()
		for slot := uint64(1); slot <= max(svc.GetSpec().GetReplicas(), 1); slot++ {
			t := &swarmv1.Task{
				Id:           fmt.Sprintf("%s%02dq4mkz8trw1xbn", svc.GetId()[:10], slot),
				ServiceId:    svc.GetId(),
				Slot:         slot,
				NodeId:       nodeID,
				SpecVersion:  svc.GetSpecVersion(),
				Spec:         svc.GetSpec().GetTask(),
				DesiredState: swarmv1.TaskState_TASK_STATE_RUNNING,
				Status:       &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_RUNNING, TimestampUnixNano: clitest.Now().Add(-11 * time.Second).UnixNano()},
			}
			if svc.GetSpec().GetMode() == swarmv1.ServiceMode_SERVICE_MODE_GLOBAL {
				t.Slot = 0
			}
			list.Tasks = append(list.Tasks, t)
		}
	}
	return &swarmv1.GatewayResponse{Resp: &swarmv1.GatewayResponse_TaskList{TaskList: list}}
}
