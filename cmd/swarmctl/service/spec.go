package service

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// changedFunc says whether the user gave a flag.
type changedFunc func(name string) bool

func (changed changedFunc) any(names ...string) bool {
	return slices.ContainsFunc(names, changed)
}

// defaultSpec is a service before create's flags: swarmkit's defaults,
// one replica, process runtime.
func defaultSpec() *swarmv1.ServiceSpec {
	return &swarmv1.ServiceSpec{
		Mode:     swarmv1.ServiceMode_SERVICE_MODE_REPLICATED,
		Replicas: 1,
		Task: &swarmv1.TaskSpec{
			Runtime:       "process",
			Restart:       defaultRestartPolicy(),
			StopGraceNano: int64(10 * time.Second),
		},
		Update:   defaultUpdateConfig(),
		Rollback: defaultUpdateConfig(),
	}
}

// apply writes the shared flags the user gave into spec, whose task must
// be set, keeping what they do not change.
func (o *serviceOptions) apply(spec *swarmv1.ServiceSpec, changed changedFunc) error {
	task := spec.Task
	global := spec.GetMode() == swarmv1.ServiceMode_SERVICE_MODE_GLOBAL
	if changed(flagReplicas) {
		if global {
			return errors.New("replicas can only be used with replicated mode")
		}
		spec.Replicas = o.replicas
	}
	if changed(flagMaxReplicas) {
		if global {
			return errors.New("replicas-max-per-node can only be used with replicated mode")
		}
		placement(task).MaxReplicasPerNode = o.maxReplicas
	}
	if changed(flagHostname) {
		task.Hostname = o.hostname
	}
	if changed(flagRuntime) {
		if !slices.Contains(runtimes, o.runtime) {
			return fmt.Errorf("invalid runtime %q: want %s", o.runtime, strings.Join(runtimes, ", "))
		}
		task.Runtime = o.runtime
	}
	if changed(flagStopGrace) {
		task.StopGraceNano = int64(o.stopGrace)
	}
	r := &o.resources
	setResources(&task.Reservations, changed, flagReserveCPU, r.reserveCPU, flagReserveMemory, r.reserveMemory)
	setResources(&task.Limits, changed, flagLimitCPU, r.limitCPU, flagLimitMemory, r.limitMemory)
	if err := o.applyRestart(task, changed); err != nil {
		return err
	}
	var err error
	if spec.Update, err = o.update.apply(spec.Update, updateFlagNames("update"), false, changed); err != nil {
		return err
	}
	if spec.Rollback, err = o.rollback.apply(spec.Rollback, updateFlagNames("rollback"), true, changed); err != nil {
		return err
	}
	return o.applyHealth(task, changed)
}

func placement(task *swarmv1.TaskSpec) *swarmv1.Placement {
	if task.Placement == nil {
		task.Placement = &swarmv1.Placement{}
	}
	return task.Placement
}

func setResources(r **swarmv1.Resources, changed changedFunc, cpuFlag string, nanoCPUs int64, memoryFlag string, memory int64) {
	if !changed.any(cpuFlag, memoryFlag) {
		return
	}
	if *r == nil {
		*r = &swarmv1.Resources{}
	}
	if changed(cpuFlag) {
		(*r).NanoCpus = nanoCPUs
	}
	if changed(memoryFlag) {
		(*r).MemoryBytes = memory
	}
}

func (o *serviceOptions) applyRestart(task *swarmv1.TaskSpec, changed changedFunc) error {
	if !changed.any(flagRestartCondition, flagRestartDelay, flagRestartMaxAttempts, flagRestartWindow) {
		return nil
	}
	if task.Restart == nil {
		task.Restart = defaultRestartPolicy()
	}
	if changed(flagRestartCondition) {
		c, err := parseRestartCondition(o.restart.condition)
		if err != nil {
			return err
		}
		task.Restart.Condition = c
	}
	if changed(flagRestartDelay) {
		task.Restart.DelayNano = int64(o.restart.delay)
	}
	if changed(flagRestartMaxAttempts) {
		task.Restart.MaxAttempts = o.restart.maxAttempts
	}
	if changed(flagRestartWindow) {
		task.Restart.WindowNano = int64(o.restart.window)
	}
	return nil
}

// apply writes the --update-* (or --rollback-*) flags given into c,
// starting from the defaults when c is nil.
func (u *updateOptions) apply(c *swarmv1.UpdateConfig, f updateFlags, rollback bool, changed changedFunc) (*swarmv1.UpdateConfig, error) {
	if !changed.any(f.parallelism, f.delay, f.monitor, f.failureAction, f.maxFailureRatio, f.order) {
		return c, nil
	}
	if c == nil {
		c = defaultUpdateConfig()
	}
	if changed(f.parallelism) {
		c.Parallelism = u.parallelism
	}
	if changed(f.delay) {
		c.DelayNano = int64(u.delay)
	}
	if changed(f.monitor) {
		c.MonitorNano = int64(u.monitor)
	}
	if changed(f.failureAction) {
		a, err := parseFailureAction(u.failureAction, rollback)
		if err != nil {
			return nil, err
		}
		c.FailureAction = a
	}
	if changed(f.maxFailureRatio) {
		c.MaxFailureRatio = u.maxFailureRatio
	}
	if changed(f.order) {
		o, err := parseUpdateOrder(u.order)
		if err != nil {
			return nil, err
		}
		c.Order = o
	}
	return c, nil
}

// applyHealth writes the health check flags given: --health-cmd runs a
// shell command (CMD-SHELL), --no-healthcheck disables the check (NONE).
func (o *serviceOptions) applyHealth(task *swarmv1.TaskSpec, changed changedFunc) error {
	h := &o.health
	settings := changed.any(flagHealthCmd, flagHealthInterval, flagHealthTimeout, flagHealthRetries, flagHealthStartPeriod)
	if changed(flagNoHealthcheck) && h.none {
		if settings {
			return fmt.Errorf("--%s conflicts with --health-* options", flagNoHealthcheck)
		}
		task.Health = &swarmv1.HealthCheck{Test: []string{"NONE"}}
		return nil
	}
	if !settings {
		return nil
	}
	if h.retries < 0 {
		return fmt.Errorf("invalid --%s %d: must not be negative", flagHealthRetries, h.retries)
	}
	check := task.Health
	if check == nil || slices.Equal(check.Test, []string{"NONE"}) {
		check = &swarmv1.HealthCheck{}
	}
	if changed(flagHealthCmd) {
		check.Test = nil
		if h.cmd != "" {
			check.Test = []string{"CMD-SHELL", h.cmd}
		}
	}
	if changed(flagHealthInterval) {
		check.IntervalNano = int64(h.interval)
	}
	if changed(flagHealthTimeout) {
		check.TimeoutNano = int64(h.timeout)
	}
	if changed(flagHealthRetries) {
		check.Retries = uint32(h.retries)
	}
	if changed(flagHealthStartPeriod) {
		check.StartPeriodNano = int64(h.startPeriod)
	}
	task.Health = check
	return nil
}
