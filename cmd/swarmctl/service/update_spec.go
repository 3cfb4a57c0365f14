package service

import (
	"cmp"
	"maps"
	"slices"

	"github.com/actorswarm/swarm/cmd/swarmctl/task"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// applyUpdate writes the flags the user gave into spec, docker's way:
// lists are edited (added, then removed), the shared flags replace what
// they name, --force makes the tasks be replaced.
func (o *updateCmdOptions) applyUpdate(spec *swarmv1.ServiceSpec, changed changedFunc) error {
	if spec.Task == nil {
		spec.Task = &swarmv1.TaskSpec{}
	}
	task := spec.Task
	if changed("image") {
		task.Image = o.image
	}
	if changed("args") {
		task.Args = o.args
	}
	task.Env = updateEnv(task.Env, o.envAdd, o.envRm)
	spec.Labels = updateLabels(spec.Labels, o.labelAdd, o.labelRm)
	task.Labels = updateLabels(task.Labels, o.containerLabelAdd, o.containerLabelRm)
	if changed.any("constraint-add", "constraint-rm") {
		p := placement(task)
		p.Constraints = updateList(p.Constraints, o.constraintAdd, o.constraintRm)
		slices.Sort(p.Constraints)
	}
	if changed.any("placement-pref-add", "placement-pref-rm") {
		p := placement(task)
		p.SpreadLabels = updateList(p.SpreadLabels, o.prefAdd, o.prefRm)
	}
	spec.Networks = updateList(spec.Networks, o.networkAdd, o.networkRm)
	if changed.any("publish-add", "publish-rm") {
		spec.Ports = updatePorts(spec.Ports, o.publishAdd, o.publishRm)
	}
	if err := o.apply(spec, changed); err != nil {
		return err
	}
	if o.force {
		task.ForceUpdate++
	}
	return nil
}

// updateEnv sets the variables of add (in place when already there, else
// at the end) after removing those named by rm.
func updateEnv(env, add, rm []string) []string {
	if len(add) == 0 && len(rm) == 0 {
		return env
	}
	out := slices.DeleteFunc(slices.Clone(env), func(e string) bool { return slices.Contains(rm, envKey(e)) })
	for _, a := range add {
		if i := slices.IndexFunc(out, func(e string) bool { return envKey(e) == envKey(a) }); i >= 0 {
			out[i] = a
		} else {
			out = append(out, a)
		}
	}
	return out
}

// updateLabels sets the labels of add, then removes the keys of rm.
func updateLabels(labels map[string]string, add, rm []string) map[string]string {
	if len(add) == 0 && len(rm) == 0 {
		return labels
	}
	out := maps.Clone(labels)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, labelMap(add))
	for _, k := range rm {
		delete(out, k)
	}
	return out
}

// updateList appends the values of add it lacks, then removes those of
// rm.
func updateList(list, add, rm []string) []string {
	if len(add) == 0 && len(rm) == 0 {
		return list
	}
	out := slices.Clone(list)
	for _, a := range add {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return slices.DeleteFunc(out, func(v string) bool { return slices.Contains(rm, v) })
}

// updatePorts removes the ports with the target port, protocol and mode
// of one in rm, then adds those of add not already there; the result is
// sorted (by published port, then target port, protocol and mode), as
// docker sorts it, so that the same flags give the same spec.
func updatePorts(ports, add, rm []*swarmv1.PortConfig) []*swarmv1.PortConfig {
	var out []*swarmv1.PortConfig
	for _, p := range ports {
		if !slices.ContainsFunc(rm, func(r *swarmv1.PortConfig) bool { return samePort(p, r) }) {
			out = append(out, p)
		}
	}
	for _, a := range add {
		if !slices.ContainsFunc(out, func(p *swarmv1.PortConfig) bool {
			return samePort(p, a) && p.GetPublishedPort() == a.GetPublishedPort()
		}) {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(a, b *swarmv1.PortConfig) int {
		return cmp.Or(cmp.Compare(a.GetPublishedPort(), b.GetPublishedPort()), cmp.Compare(a.GetTargetPort(), b.GetTargetPort()),
			cmp.Compare(task.ProtocolName(a.GetProtocol()), task.ProtocolName(b.GetProtocol())), cmp.Compare(publishModeName(a.GetMode()), publishModeName(b.GetMode())))
	})
	return out
}

// samePort says whether a and b have the same target port, protocol and
// mode.
func samePort(a, b *swarmv1.PortConfig) bool {
	return a.GetTargetPort() == b.GetTargetPort() && task.ProtocolName(a.GetProtocol()) == task.ProtocolName(b.GetProtocol()) &&
		publishModeName(a.GetMode()) == publishModeName(b.GetMode())
}
