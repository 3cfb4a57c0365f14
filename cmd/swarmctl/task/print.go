package task

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// DefaultFormat is docker's task table.
const DefaultFormat = "table {{.ID}}\t{{.Name}}\t{{.Image}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}\t{{.Ports}}"

// maxErrorLength is where the ERROR column is cut unless --no-trunc.
const maxErrorLength = 30

// Options are the output flags of service ps and node ps.
type Options struct {
	NoTrunc bool
	Quiet   bool
	Format  string
}

// Row is what --format templates see of a task, and `{{json .}}` prints.
type Row struct {
	ID           string
	Name         string
	Image        string
	Node         string
	DesiredState string
	CurrentState string
	Error        string
	Ports        string
}

// Write prints tasks (described by r's node and service names) sorted by
// name, numbers compared as numbers, and for one name newest first; in a
// table the older tasks of a slot are indented with ` \_ `. now dates the
// CURRENT STATE column.
func Write(w io.Writer, r *swarmv1.TaskListResponse, tasks []*swarmv1.Task, opts Options, now time.Time) error {
	type named struct {
		task *swarmv1.Task
		name string
	}
	sorted := make([]named, len(tasks))
	for i, t := range tasks {
		sorted[i] = named{t, Name(r, t)}
	}
	slices.SortStableFunc(sorted, func(a, b named) int {
		if a.name != b.name {
			if cli.NaturalLess(a.name, b.name) {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.task.GetCreatedUnixNano(), a.task.GetCreatedUnixNano())
	})
	format := cli.ListFormat(opts.Format, opts.Quiet, DefaultFormat)
	indent := strings.HasPrefix(format, cli.TableFormatKey)
	rows := make([]Row, len(sorted))
	for i, n := range sorted {
		rows[i] = row(r, n.task, opts.NoTrunc, now)
		rows[i].Name = n.name
		if indent && i > 0 && sorted[i-1].name == n.name {
			rows[i].Name = ` \_ ` + n.name
		}
	}
	return cli.WriteFormatted(w, format, rows)
}

// Name is a task's name: service.slot, or service.nodeID for a task of a
// global service.
func Name(r *swarmv1.TaskListResponse, t *swarmv1.Task) string {
	service := r.GetServiceNames()[t.GetServiceId()]
	if service == "" {
		service = cmp.Or(t.GetServiceName(), t.GetServiceId())
	}
	if t.GetSlot() != 0 {
		return fmt.Sprintf("%s.%d", service, t.GetSlot())
	}
	return service + "." + t.GetNodeId()
}

func row(r *swarmv1.TaskListResponse, t *swarmv1.Task, noTrunc bool, now time.Time) Row {
	id, taskErr := t.GetId(), t.GetStatus().GetErr()
	if taskErr == "" && t.GetDesiredState() > swarmv1.TaskState_TASK_STATE_RUNNING {
		taskErr = t.GetShutdownReason()
	}
	if !noTrunc {
		id = cli.ShortID(id)
		if e := []rune(taskErr); len(e) > maxErrorLength {
			taskErr = string(e[:maxErrorLength-1]) + "…"
		}
	}
	if taskErr != "" {
		taskErr = `"` + taskErr + `"`
	}
	node := t.GetNodeId()
	if name, ok := r.GetNodeNames()[node]; ok && name != "" {
		node = name
	}
	return Row{
		ID:           id,
		Image:        DisplayImage(t.GetSpec().GetImage(), noTrunc),
		Node:         node,
		DesiredState: cli.Capitalize(cli.TaskStateName(t.GetDesiredState())),
		CurrentState: CurrentState(t, now),
		Error:        taskErr,
		Ports:        Ports(t.GetPorts()),
	}
}

// CurrentState is "Running 5 seconds ago": the state and how long ago the
// task reached it.
func CurrentState(t *swarmv1.Task, now time.Time) string {
	since := cli.TimeFromUnixNano(cmp.Or(t.GetStatus().GetTimestampUnixNano(), t.GetUpdatedUnixNano()))
	return cli.Capitalize(cli.TaskStateName(t.GetStatus().GetState())) + " " + strings.ToLower(cli.Ago(now, since))
}

// Ports lists a task's host-mode ports: "*:8080->80/tcp,*:53->53/udp".
func Ports(ports []*swarmv1.PortConfig) string {
	var out []string
	for _, p := range ports {
		if p.GetMode() == swarmv1.PublishMode_PUBLISH_MODE_HOST {
			out = append(out, fmt.Sprintf("*:%d->%d/%s", p.GetPublishedPort(), p.GetTargetPort(), ProtocolName(p.GetProtocol())))
		}
	}
	return strings.Join(out, ",")
}

// ProtocolName is "tcp" or "udp"; unset means tcp.
func ProtocolName(p swarmv1.Protocol) string {
	if p == swarmv1.Protocol_PROTOCOL_UDP {
		return "udp"
	}
	return "tcp"
}

// DisplayImage drops the digest of a tagged image reference
// ("nginx:1.25@sha256:…" → "nginx:1.25"), as docker's tables do, unless
// noTrunc.
func DisplayImage(image string, noTrunc bool) string {
	if noTrunc {
		return image
	}
	name, _, hasDigest := strings.Cut(image, "@")
	if !hasDigest {
		return image
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name
	}
	return image
}
