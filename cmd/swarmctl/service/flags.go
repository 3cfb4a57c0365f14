package service

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// serviceOptions are the flags of create and update. Only the flags the
// user gave are applied to a spec (pflag's Changed), so their zero values
// mean nothing.
type serviceOptions struct {
	replicas    uint64
	maxReplicas uint64
	hostname    string
	runtime     string
	stopGrace   time.Duration
	resources   struct{ reserveCPU, limitCPU, reserveMemory, limitMemory int64 }
	restart     struct {
		condition     string
		delay, window time.Duration
		maxAttempts   uint64
	}
	update, rollback updateOptions
	health           struct {
		cmd                            string
		interval, timeout, startPeriod time.Duration
		retries                        int
		none                           bool
	}
	detach, quiet bool
}

// updateOptions are --update-* or --rollback-*.
type updateOptions struct {
	parallelism     uint64
	delay, monitor  time.Duration
	failureAction   string
	maxFailureRatio float32
	order           string
}

// The flags both create and update have.
const (
	flagReplicas           = "replicas"
	flagMaxReplicas        = "replicas-max-per-node"
	flagHostname           = "hostname"
	flagRuntime            = "runtime"
	flagStopGrace          = "stop-grace-period"
	flagReserveCPU         = "reserve-cpu"
	flagLimitCPU           = "limit-cpu"
	flagReserveMemory      = "reserve-memory"
	flagLimitMemory        = "limit-memory"
	flagRestartCondition   = "restart-condition"
	flagRestartDelay       = "restart-delay"
	flagRestartMaxAttempts = "restart-max-attempts"
	flagRestartWindow      = "restart-window"
	flagHealthCmd          = "health-cmd"
	flagHealthInterval     = "health-interval"
	flagHealthTimeout      = "health-timeout"
	flagHealthRetries      = "health-retries"
	flagHealthStartPeriod  = "health-start-period"
	flagNoHealthcheck      = "no-healthcheck"
)

// updateFlags names the flags of an update config: --update-X or
// --rollback-X.
type updateFlags struct{ parallelism, delay, monitor, failureAction, maxFailureRatio, order string }

func updateFlagNames(prefix string) updateFlags {
	return updateFlags{prefix + "-parallelism", prefix + "-delay", prefix + "-monitor", prefix + "-failure-action", prefix + "-max-failure-ratio", prefix + "-order"}
}

// withDefaults appends docker's "(default X)" to the descriptions of
// create, whose unset flags take swarmkit's defaults; update leaves
// unset flags alone, so it shows none.
type withDefaults bool

func (d withDefaults) desc(text string, def any) string {
	if !d {
		return text
	}
	return fmt.Sprintf("%s (default %v)", text, def)
}

// addServiceFlags registers the flags create and update share.
func addServiceFlags(flags *pflag.FlagSet, o *serviceOptions, d withDefaults) {
	flags.BoolVarP(&o.detach, "detach", "d", false, "Exit immediately instead of waiting for the service to converge")
	flags.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress progress output")

	flags.Var(replicasValue{&o.replicas}, flagReplicas, "Number of tasks")
	flags.Uint64Var(&o.maxReplicas, flagMaxReplicas, 0, "Maximum number of tasks per node (default 0 = unlimited)")
	flags.StringVar(&o.hostname, flagHostname, "", "Container hostname")
	flags.StringVar(&o.runtime, flagRuntime, "", d.desc(`Task runtime ("process"|"docker"|"sim")`, `"process"`))
	flags.Var(durationValue{&o.stopGrace}, flagStopGrace, d.desc("Time to wait before force killing a container (ns|us|ms|s|m|h)", "10s"))

	flags.Var(cpuValue{&o.resources.limitCPU}, flagLimitCPU, "Limit CPUs")
	flags.Var(bytesValue{&o.resources.limitMemory}, flagLimitMemory, "Limit Memory")
	flags.Var(cpuValue{&o.resources.reserveCPU}, flagReserveCPU, "Reserve CPUs")
	flags.Var(bytesValue{&o.resources.reserveMemory}, flagReserveMemory, "Reserve Memory")

	flags.StringVar(&o.restart.condition, flagRestartCondition, "", d.desc(`Restart when condition is met ("none"|"on-failure"|"any")`, `"any"`))
	flags.Var(durationValue{&o.restart.delay}, flagRestartDelay, d.desc("Delay between restart attempts (ns|us|ms|s|m|h)", "5s"))
	flags.Uint64Var(&o.restart.maxAttempts, flagRestartMaxAttempts, 0, "Maximum number of restarts before giving up")
	flags.Var(durationValue{&o.restart.window}, flagRestartWindow, "Window used to evaluate the restart policy (ns|us|ms|s|m|h)")

	addUpdateFlags(flags, &o.update, updateFlagNames("update"), "updated", "update", d)
	addUpdateFlags(flags, &o.rollback, updateFlagNames("rollback"), "rolled back", "rollback", d)

	flags.StringVar(&o.health.cmd, flagHealthCmd, "", "Command to run to check health")
	flags.Var(durationValue{&o.health.interval}, flagHealthInterval, "Time between running the check (ns|us|ms|s|m|h)")
	flags.Var(durationValue{&o.health.timeout}, flagHealthTimeout, "Maximum time to allow one check to run (ns|us|ms|s|m|h)")
	flags.IntVar(&o.health.retries, flagHealthRetries, 0, "Consecutive failures needed to report unhealthy")
	flags.Var(durationValue{&o.health.startPeriod}, flagHealthStartPeriod, "Start period for the container to initialize before counting retries towards unstable (ns|us|ms|s|m|h)")
	flags.BoolVar(&o.health.none, flagNoHealthcheck, false, "Disable any container-specified HEALTHCHECK")
}

// addUpdateFlags registers --update-* (or --rollback-*) with docker's
// descriptions.
func addUpdateFlags(flags *pflag.FlagSet, u *updateOptions, f updateFlags, done, noun string, d withDefaults) {
	parallelism := uint64(0)
	if d {
		parallelism = 1
	}
	all, delay := "update all at once", "Delay between updates (ns|us|ms|s|m|h)"
	actions := `("pause"|"continue"|"rollback")`
	during := "an update"
	if noun == "rollback" {
		all, delay = "roll back all at once", "Delay between task rollbacks (ns|us|ms|s|m|h)"
		actions, during = `("pause"|"continue")`, "a rollback"
	}
	flags.Uint64Var(&u.parallelism, f.parallelism, parallelism, fmt.Sprintf("Maximum number of tasks %s simultaneously (0 to %s)", done, all))
	flags.Var(durationValue{&u.delay}, f.delay, d.desc(delay, "0s"))
	flags.Var(durationValue{&u.monitor}, f.monitor, d.desc(fmt.Sprintf("Duration after each task %s to monitor for failure (ns|us|ms|s|m|h)", noun), "5s"))
	flags.StringVar(&u.failureAction, f.failureAction, "", d.desc(fmt.Sprintf("Action on %s failure %s", noun, actions), `"pause"`))
	flags.Var(ratioValue{&u.maxFailureRatio}, f.maxFailureRatio, d.desc("Failure rate to tolerate during "+during, 0))
	flags.StringVar(&u.order, f.order, "", d.desc(fmt.Sprintf(`%s order ("start-first"|"stop-first")`, upperFirst(noun)), `"stop-first"`))
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// defaultUpdateConfig is swarmkit's: one task at a time, no delay, pause
// on failure, watch each task 5 s, tolerate no failure, stop first.
func defaultUpdateConfig() *swarmv1.UpdateConfig {
	return &swarmv1.UpdateConfig{
		Parallelism:   1,
		FailureAction: swarmv1.FailureAction_FAILURE_ACTION_PAUSE,
		MonitorNano:   int64(5 * time.Second),
		Order:         swarmv1.UpdateOrder_UPDATE_ORDER_STOP_FIRST,
	}
}

// defaultRestartPolicy is swarmkit's: restart always, 5 s apart, without
// limit.
func defaultRestartPolicy() *swarmv1.RestartPolicy {
	return &swarmv1.RestartPolicy{Condition: swarmv1.RestartCondition_RESTART_CONDITION_ANY, DelayNano: int64(5 * time.Second)}
}
