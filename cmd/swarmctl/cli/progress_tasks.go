package cli

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

const (
	// maxProgressLines: services with more tasks show the overall line only.
	maxProgressLines = 20
	// stateWidth pads state names to the longest one shown ("preparing").
	stateWidth = 9
	// maxErrorWidth keeps a task error on one line of a narrow terminal.
	maxErrorWidth = 75
)

// stateRank orders task states as docker's progress display does; the
// rank of running is a full bar. States without a rank are not shown.
var stateRank = map[swarmv1.TaskState]int64{
	swarmv1.TaskState_TASK_STATE_NEW:       1,
	swarmv1.TaskState_TASK_STATE_PENDING:   3,
	swarmv1.TaskState_TASK_STATE_ASSIGNED:  4,
	swarmv1.TaskState_TASK_STATE_ACCEPTED:  5,
	swarmv1.TaskState_TASK_STATE_PREPARING: 6,
	swarmv1.TaskState_TASK_STATE_STARTING:  8,
	swarmv1.TaskState_TASK_STATE_RUNNING:   9,
	swarmv1.TaskState_TASK_STATE_COMPLETE:  10,
	swarmv1.TaskState_TASK_STATE_SHUTDOWN:  11,
	swarmv1.TaskState_TASK_STATE_FAILED:    12,
	swarmv1.TaskState_TASK_STATE_REJECTED:  13,
}

const runningRank = 9

// ended says whether a task in state s (or desired to be in it) is done.
func ended(s swarmv1.TaskState) bool { return stateRank[s] > runningRank }

// progressUpdater draws the task lines of one service mode and says
// whether every task the service wants is running.
type progressUpdater interface {
	update(svc *swarmv1.Service, tasks []*swarmv1.Task, rollback bool) (converged bool)
}

func newProgressUpdater(svc *swarmv1.Service, out *progressOutput) progressUpdater {
	if svc.GetSpec().GetMode() == swarmv1.ServiceMode_SERVICE_MODE_GLOBAL {
		return &globalProgress{out: out}
	}
	return &replicatedProgress{out: out, line: map[uint64]int{}}
}

// replicatedProgress shows one line per slot, "i/N: state [bar]".
type replicatedProgress struct {
	out         *progressOutput
	line        map[uint64]int // slot → line number, 1..N in order of appearance
	initialized bool
	done        bool
}

func (u *replicatedProgress) update(svc *swarmv1.Service, tasks []*swarmv1.Task, rollback bool) bool {
	replicas := svc.GetSpec().GetReplicas()
	if !u.initialized {
		// Draw every line once first, so that they stay in order.
		overallProgress(u.out, 0, replicas, rollback)
		if replicas <= maxProgressLines {
			for i := uint64(1); i <= replicas; i++ {
				u.out.update(fmt.Sprintf("%d/%d", i, replicas), " ", 0, 0)
			}
		}
		u.initialized = true
	}
	bySlot := pickTasks(tasks, func(t *swarmv1.Task) string { return fmt.Sprint(t.GetSlot()) })
	slots := slices.SortedFunc(maps.Values(bySlot), func(a, b *swarmv1.Task) int { return cmp.Compare(a.GetSlot(), b.GetSlot()) })
	u.done = u.done && allRunning(slots)
	// Tasks of slots beyond the replicas (a scale down removes them) are
	// not counted as progress; the service has converged once none of
	// them runs.
	var running, surplus uint64
	for _, t := range slots {
		line, ok := u.line[t.GetSlot()]
		if !ok {
			line = len(u.line) + 1
			u.line[t.GetSlot()] = line
		}
		if isRunning(t) {
			if t.GetSlot() <= replicas {
				running++
			} else {
				surplus++
			}
		}
		if !u.done && replicas <= maxProgressLines && uint64(line) <= replicas {
			taskProgress(u.out, fmt.Sprintf("%d/%d", line, replicas), t, rollback)
		}
	}
	converged := running == replicas && surplus == 0
	if !u.done {
		overallProgress(u.out, running, replicas, rollback)
		u.done = converged
	}
	return converged
}

// globalProgress shows one line per node, "nodeid: state [bar]". The
// number of tasks wanted is the number of nodes with an up-to-date task:
// the orchestrator creates them all at once.
type globalProgress struct {
	out         *progressOutput
	initialized bool
	done        bool
}

func (u *globalProgress) update(_ *swarmv1.Service, tasks []*swarmv1.Task, rollback bool) bool {
	byNode := pickTasks(tasks, (*swarmv1.Task).GetNodeId)
	nodes := uint64(len(byNode))
	if !u.initialized {
		if nodes == 0 {
			u.out.update("overall progress", "waiting for new tasks", 0, 0)
			return false
		}
		overallProgress(u.out, 0, nodes, rollback)
		u.initialized = true
	}
	sorted := slices.SortedFunc(maps.Values(byNode), func(a, b *swarmv1.Task) int { return strings.Compare(a.GetNodeId(), b.GetNodeId()) })
	u.done = u.done && allRunning(sorted)
	var running uint64
	for _, t := range sorted {
		if isRunning(t) {
			running++
		}
		if !u.done && nodes <= maxProgressLines {
			taskProgress(u.out, ShortID(t.GetNodeId()), t, rollback)
		}
	}
	if !u.done {
		overallProgress(u.out, running, nodes, rollback)
		u.done = running == nodes
	}
	return running == nodes
}

// pickTasks keeps one task per key (slot or node): the one with the
// lowest desired state, then the lowest observed state (a restarted task
// and its replacement, or the two tasks of a start-first update).
func pickTasks(tasks []*swarmv1.Task, key func(*swarmv1.Task) string) map[string]*swarmv1.Task {
	picked := map[string]*swarmv1.Task{}
	for _, t := range tasks {
		desired, state := stateRank[t.GetDesiredState()], stateRank[t.GetStatus().GetState()]
		if desired == 0 || state == 0 {
			continue
		}
		k := key(t)
		if old, ok := picked[k]; ok {
			oldDesired := stateRank[old.GetDesiredState()]
			if oldDesired < desired || oldDesired == desired && stateRank[old.GetStatus().GetState()] <= state {
				continue
			}
		}
		picked[k] = t
	}
	return picked
}

func isRunning(t *swarmv1.Task) bool {
	return !ended(t.GetDesiredState()) && t.GetStatus().GetState() == swarmv1.TaskState_TASK_STATE_RUNNING
}

func allRunning(tasks []*swarmv1.Task) bool {
	for _, t := range tasks {
		if t.GetStatus().GetState() != swarmv1.TaskState_TASK_STATE_RUNNING {
			return false
		}
	}
	return true
}

func overallProgress(out *progressOutput, running, wanted uint64, rollback bool) {
	if rollback {
		out.update("overall progress", fmt.Sprintf("rolling back update: %d out of %d tasks", running, wanted), 0, 0)
		return
	}
	out.update("overall progress", fmt.Sprintf("%d out of %d tasks", running, wanted), 0, 0)
}

// taskProgress draws one task's line: its error if it has one, else its
// state and a bar (emptying as a rollback proceeds).
func taskProgress(out *progressOutput, id string, t *swarmv1.Task, rollback bool) {
	if msg := t.GetStatus().GetErr(); msg != "" {
		out.update(id, oneLineError(msg), 0, 0)
		return
	}
	state := t.GetStatus().GetState()
	if ended(t.GetDesiredState()) || ended(state) {
		return
	}
	done := stateRank[state]
	if rollback {
		done = runningRank - done
	}
	out.update(id, fmt.Sprintf("%-*s", stateWidth, TaskStateName(state)), done, runningRank)
}

// oneLineError fits a task error on one line of a narrow terminal.
func oneLineError(msg string) string {
	msg = strings.ReplaceAll(msg, "\n", " ")
	if r := []rune(msg); len(r) > maxErrorWidth {
		msg = string(r[:maxErrorWidth-1]) + "…"
	}
	return msg
}
