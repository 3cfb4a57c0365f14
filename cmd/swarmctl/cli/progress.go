package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"google.golang.org/protobuf/proto"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// defaultMonitor is how long tasks must stay running before a service
// counts as converged, when its spec sets no update monitor period.
const defaultMonitor = 5 * time.Second

// WaitOptions tune WaitOnService.
type WaitOptions struct {
	// Quiet waits without printing anything (-q).
	Quiet bool
	// Rollback words the progress as a rollback from the start.
	Rollback bool
}

// WaitOnService shows docker's progress display until the service ref
// converges: every c.PollInterval it reads the service and its tasks of
// the current spec and draws "overall progress: N out of M tasks" with a
// line per slot (per node for a global service); once all are running it
// counts down the monitor period ("verify: Waiting N seconds...") and
// ends with "verify: Service REF converged". On a terminal (c.Terminal)
// the lines are redrawn in place; elsewhere each line is printed when it
// changes. It waits as long as it takes. When ctx is cancelled (Ctrl-C)
// it prints "Operation continuing in background." and returns nil: the
// daemon carries on. A paused update or rollback is an error; a rollback
// that completes before the service converged ends the wait.
func (c *CLI) WaitOnService(ctx context.Context, ref string, opts WaitOptions) error {
	out, tty, width := c.Out, false, 0
	if opts.Quiet {
		out = io.Discard
	} else {
		tty, width = c.Terminal()
	}
	w := &serviceWait{c: c, ref: ref, out: newProgressOutput(out, tty, width), rollback: opts.Rollback}
	if err := w.run(ctx); err != nil {
		return err
	}
	return w.out.err
}

// serviceWait is one run of the progress display.
type serviceWait struct {
	c       *CLI
	ref     string
	out     *progressOutput
	updater progressUpdater

	rollback  bool // tasks are going back to the previous spec
	announced bool // the reason for the rollback was printed
	// initial is the update status found on the first poll: it may be
	// about an earlier update, so it ends nothing.
	initial     *swarmv1.UpdateStatus
	converged   bool
	convergedAt time.Time
}

func (w *serviceWait) run(ctx context.Context) error {
	for poll := 0; ; poll++ {
		svc, err := w.inspect(ctx)
		if err != nil {
			return w.stop(ctx, err)
		}
		if poll == 0 {
			w.initial = svc.GetUpdateStatus()
			w.updater = newProgressUpdater(svc, w.out)
		}
		if done, err := w.onUpdateStatus(svc.GetUpdateStatus()); done || err != nil {
			return err
		}
		monitor := defaultMonitor
		if m := svc.GetSpec().GetUpdate().GetMonitorNano(); m > 0 {
			monitor = time.Duration(m)
		}
		now := w.c.Now()
		if w.converged && now.Sub(w.convergedAt) >= monitor {
			w.out.update("verify", fmt.Sprintf("Service %s converged", w.ref), 0, 0)
			return nil
		}
		tasks, err := w.tasks(ctx, svc)
		if err != nil {
			return w.stop(ctx, err)
		}
		w.converged = w.updater.update(svc, tasks, w.rollback)
		w.verify(now, monitor)
		if err := w.c.Sleep(ctx, w.c.PollInterval); err != nil {
			return w.stop(ctx, err)
		}
	}
}

// onUpdateStatus follows the daemon's rolling update: done when the wait
// is over.
func (w *serviceWait) onUpdateStatus(us *swarmv1.UpdateStatus) (done bool, err error) {
	state := us.GetState()
	if state == swarmv1.UpdateState_UPDATE_STATE_UNSPECIFIED ||
		state != swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_STARTED && proto.Equal(us, w.initial) {
		return false, nil
	}
	switch state {
	case swarmv1.UpdateState_UPDATE_STATE_UPDATING:
		w.rollback = false
	case swarmv1.UpdateState_UPDATE_STATE_COMPLETED:
		return !w.converged, nil
	case swarmv1.UpdateState_UPDATE_STATE_PAUSED:
		return true, fmt.Errorf("service update paused: %s", us.GetMessage())
	case swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_STARTED:
		if !w.announced && us.GetMessage() != "" {
			w.out.update("rollback", us.GetMessage(), 0, 0)
		}
		w.announced, w.rollback = true, true
	case swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_PAUSED:
		return true, fmt.Errorf("service rollback paused: %s", us.GetMessage())
	case swarmv1.UpdateState_UPDATE_STATE_ROLLBACK_COMPLETED:
		if !w.converged {
			w.out.message("service rolled back: " + us.GetMessage())
			return true, nil
		}
	}
	return false, nil
}

// verify counts down the monitor period once every task runs, and starts
// over when one stops.
func (w *serviceWait) verify(now time.Time, monitor time.Duration) {
	if !w.converged {
		if !w.convergedAt.IsZero() {
			w.out.update("verify", "Detected task failure", 0, 0)
		}
		w.convergedAt = time.Time{}
		return
	}
	if w.convergedAt.IsZero() {
		w.convergedAt = now
	}
	if left := monitor - now.Sub(w.convergedAt); left >= 0 {
		seconds := max((left+time.Second-1)/time.Second, 1)
		w.out.update("verify", fmt.Sprintf("Waiting %d seconds to verify that tasks are stable...", seconds), 0, 0)
	}
}

// stop ends the wait on err, or quietly when the user interrupted it.
func (w *serviceWait) stop(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	if !w.converged {
		w.out.message("Operation continuing in background.")
	}
	return nil
}

func (w *serviceWait) inspect(ctx context.Context) (*swarmv1.Service, error) {
	resp, err := w.c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_ServiceInspect{ServiceInspect: &swarmv1.ServiceInspectRequest{Ref: w.ref}}})
	if err != nil {
		return nil, err
	}
	svc := resp.GetService().GetService()
	if svc == nil {
		return nil, ErrUnexpectedResponse
	}
	return svc, nil
}

// tasks lists the service's tasks that run its current spec.
func (w *serviceWait) tasks(ctx context.Context, svc *swarmv1.Service) ([]*swarmv1.Task, error) {
	resp, err := w.c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_TaskList{TaskList: &swarmv1.TaskListRequest{ServiceRefs: []string{svc.GetId()}}}})
	if err != nil {
		return nil, err
	}
	list := resp.GetTaskList()
	if list == nil {
		return nil, ErrUnexpectedResponse
	}
	var current []*swarmv1.Task
	for _, t := range list.GetTasks() {
		if t.GetServiceId() == svc.GetId() && upToDate(svc, t) {
			current = append(current, t)
		}
	}
	return current, nil
}

// upToDate says whether t runs svc's current spec: it was made for the
// current spec version, or its spec is the current one (a change of
// replicas bumps the version without replacing tasks).
func upToDate(svc *swarmv1.Service, t *swarmv1.Task) bool {
	return t.GetSpecVersion() == svc.GetSpecVersion() || proto.Equal(t.GetSpec(), svc.GetSpec().GetTask())
}
