package bench

import (
	"testing"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// TestEndedTasks: sim-scale counts the tasks past running, state by
// state in the order of their life, and says so when none ended.
func TestEndedTasks(t *testing.T) {
	for _, c := range []struct {
		states map[swarmv1.TaskState]int
		n      int
		text   string
	}{
		{map[swarmv1.TaskState]int{swarmv1.TaskState_TASK_STATE_RUNNING: 1000, swarmv1.TaskState_TASK_STATE_ASSIGNED: 3}, 0, "no task ended"},
		{nil, 0, "no task ended"},
		{map[swarmv1.TaskState]int{
			swarmv1.TaskState_TASK_STATE_RUNNING:  990,
			swarmv1.TaskState_TASK_STATE_ORPHANED: 10,
			swarmv1.TaskState_TASK_STATE_SHUTDOWN: 2,
			swarmv1.TaskState_TASK_STATE_FAILED:   0,
		}, 12, "12 tasks ended meanwhile: 2 shutdown, 10 orphaned"},
	} {
		n, text := endedTasks(c.states)
		if n != c.n || text != c.text {
			t.Errorf("endedTasks(%v) = %d, %q; want %d, %q", c.states, n, text, c.n, c.text)
		}
	}
}
