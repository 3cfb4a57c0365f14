package service

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	"github.com/actorswarm/swarm/cmd/swarmctl/task"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// pretty is one service as `docker service inspect --pretty` prints it,
// tabs, trailing spaces and blank lines included: a blank line, the
// fields, a blank line. Sections without data are left out, as docker
// leaves them out.
func pretty(svc *swarmv1.Service, now time.Time) string {
	spec := svc.GetSpec()
	ts := spec.GetTask()
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	line("")
	line("ID:\t\t%s", svc.GetId())
	line("Name:\t\t%s", spec.GetName())
	if labels := spec.GetLabels(); len(labels) > 0 {
		line("Labels:")
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			if v := labels[k]; v != "" {
				line(" %s=%s", k, v)
			} else {
				line(" %s", k)
			}
		}
	}
	if spec.GetMode() == swarmv1.ServiceMode_SERVICE_MODE_GLOBAL {
		line("Service Mode:\tGlobal")
	} else {
		line("Service Mode:\tReplicated")
		line(" Replicas:\t%d", spec.GetReplicas())
	}
	writeUpdateStatus(line, svc.GetUpdateStatus(), now)
	line("Placement:")
	p := ts.GetPlacement()
	if len(p.GetConstraints()) > 0 {
		line(" Constraints:\t%v", p.GetConstraints())
	}
	if len(p.GetSpreadLabels()) > 0 {
		prefs := make([]string, len(p.GetSpreadLabels()))
		for i, l := range p.GetSpreadLabels() {
			prefs[i] = "spread=node.labels." + l
		}
		line(" Preferences:   %v", prefs)
	}
	if n := p.GetMaxReplicasPerNode(); n > 0 {
		line(" Max Replicas Per Node:   %d", n)
	}
	writeUpdateConfig(line, "UpdateConfig", "Update order:      ", spec.GetUpdate())
	writeUpdateConfig(line, "RollbackConfig", "Rollback order:    ", spec.GetRollback())
	line("ContainerSpec:")
	line(" Image:\t\t%s", ts.GetImage())
	if args := ts.GetArgs(); len(args) > 0 {
		line(" Args:\t\t%s ", strings.Join(args, " "))
	}
	if env := ts.GetEnv(); len(env) > 0 {
		line(" Env:\t\t%s ", strings.Join(env, " "))
	}
	line(" Init:\t\tfalse")
	writeResources(line, ts)
	if networks := spec.GetNetworks(); len(networks) > 0 {
		line("Networks: %s ", strings.Join(networks, " "))
	}
	line("Endpoint Mode:\tvip")
	if ports := publishedPorts(svc); len(ports) > 0 {
		line("Ports:")
		for i, port := range ports {
			line(" PublishedPort = %d", port.GetPublishedPort())
			line("  Protocol = %s", task.ProtocolName(port.GetProtocol()))
			line("  TargetPort = %d", port.GetTargetPort())
			end := ""
			if i == len(ports)-1 {
				end = " "
			}
			line("  PublishMode = %s%s", publishModeName(port.GetMode()), end)
			// ActorSwarm's own: the balancing options, and the nodes that
			// cannot serve the port.
			if port.GetLb() != "" {
				line("  LoadBalancing = %s", port.GetLb())
			}
			if port.GetProxyProtocol() {
				line("  ProxyProtocol = v2")
			}
			for _, f := range svc.GetEndpoint().GetFailures() {
				if f.GetPublishedPort() == port.GetPublishedPort() && f.GetProtocol() == port.GetProtocol() {
					line("  Unavailable on %s: %s", cmp.Or(f.GetHostname(), f.GetNodeId()), f.GetError())
				}
			}
		}
	}
	line("")
	return b.String()
}

func writeUpdateStatus(line func(string, ...any), us *swarmv1.UpdateStatus, now time.Time) {
	if us.GetState() == swarmv1.UpdateState_UPDATE_STATE_UNSPECIFIED {
		return
	}
	line("UpdateStatus:")
	line(" State:\t\t%s", cli.UpdateStateName(us.GetState()))
	if started := us.GetStartedUnixNano(); started != 0 {
		line(" Started:\t%s", cli.Ago(now, cli.TimeFromUnixNano(started)))
	}
	if completed := us.GetCompletedUnixNano(); completed != 0 && us.GetState() == swarmv1.UpdateState_UPDATE_STATE_COMPLETED {
		line(" Completed:\t%s", cli.Ago(now, cli.TimeFromUnixNano(completed)))
	}
	line(" Message:\t%s", us.GetMessage())
}

// writeUpdateConfig prints UpdateConfig or RollbackConfig; the delay and
// the monitor period only when set.
func writeUpdateConfig(line func(string, ...any), title, orderLabel string, c *swarmv1.UpdateConfig) {
	if c == nil {
		return
	}
	line("%s:", title)
	line(" Parallelism:\t%d", c.GetParallelism())
	if d := c.GetDelayNano(); d > 0 {
		line(" Delay:\t\t%s", time.Duration(d))
	}
	line(" On failure:\t%s", failureActionName(c.GetFailureAction()))
	if m := c.GetMonitorNano(); m > 0 {
		line(" Monitoring Period: %s", time.Duration(m))
	}
	line(" Max failure ratio: %v", c.GetMaxFailureRatio())
	line(" %s%s", orderLabel, updateOrderName(c.GetOrder()))
}

// writeResources prints the reservations and limits that are set.
func writeResources(line func(string, ...any), ts *swarmv1.TaskSpec) {
	line("Resources:")
	for _, r := range []struct {
		title string
		res   *swarmv1.Resources
	}{{" Reservations:", ts.GetReservations()}, {" Limits:", ts.GetLimits()}} {
		if r.res.GetNanoCpus() <= 0 && r.res.GetMemoryBytes() <= 0 {
			continue
		}
		line(r.title)
		if cpus := r.res.GetNanoCpus(); cpus > 0 {
			line("  CPU:\t\t%v", float64(cpus)/1e9)
		}
		if memory := r.res.GetMemoryBytes(); memory > 0 {
			line("  Memory:\t%s", cli.BytesSize(float64(memory)))
		}
	}
}
