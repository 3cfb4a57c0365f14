package bench

import (
	"context"
	"syscall"
	"time"
)

// runNodeFreeze measures, on the swarm of node-crash with its service,
// what a hung node costs: swarmd of a worker that runs tasks is frozen
// with SIGSTOP (its task processes run on, but it answers nothing), and
// the time is measured until the service has its replicas running on the
// live nodes again; then it is thawed with SIGCONT, and the time is
// measured until the swarm has exactly the desired replicas again: the
// thawed node stopped the tasks that were replaced meanwhile (newer tasks
// win) and no surplus task process is left. Samples are in ms.
func runNodeFreeze(ctx context.Context, opts Options) ([]Record, error) {
	signal := func(sig syscall.Signal) func(context.Context, *swarm, int) (time.Time, error) {
		return func(_ context.Context, s *swarm, victim int) (time.Time, error) { return s.Signal(victim, sig) }
	}
	return runSurplusFault(ctx, opts, surplusFault{
		name: "node-freeze", service: "freeze",
		params: map[string]string{"fault": "SIGSTOP of a worker's swarmd (its tasks run on), SIGCONT when replaced"},
		begin:  signal(syscall.SIGSTOP), end: signal(syscall.SIGCONT),
		did: "froze %s", ended: "thawed",
	})
}
