package task

import (
	"fmt"
	"strings"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// FilterKeys are the --filter keys of service ps and node ps.
var FilterKeys = []string{"desired-state", "id", "name", "node"}

// desiredStates are the values docker documents for desired-state.
var desiredStates = map[string]swarmv1.TaskState{
	"running":  swarmv1.TaskState_TASK_STATE_RUNNING,
	"shutdown": swarmv1.TaskState_TASK_STATE_SHUTDOWN,
	"accepted": swarmv1.TaskState_TASK_STATE_ACCEPTED,
}

// CheckFilters rejects unknown keys and desired states, before anything
// is asked of the daemon.
func CheckFilters(f *cli.Filters) error {
	if err := f.Validate(FilterKeys...); err != nil {
		return err
	}
	for _, v := range f.Get("desired-state") {
		if _, ok := desiredStates[strings.ToLower(v)]; !ok {
			return fmt.Errorf("invalid filter 'desired-state=%s': want running, shutdown or accepted", v)
		}
	}
	return nil
}

// Filter keeps the tasks matching f, docker's way: id is a prefix of the
// task ID, name a prefix of the task's name (service.slot), node a node's
// ID, ID prefix or hostname, desired-state running, shutdown or accepted.
// Values of one key are alternatives; all keys must match.
func Filter(r *swarmv1.TaskListResponse, tasks []*swarmv1.Task, f *cli.Filters) []*swarmv1.Task {
	var kept []*swarmv1.Task
	for _, t := range tasks {
		ok := f.MatchAny("id", func(v string) bool { return strings.HasPrefix(t.GetId(), v) }) &&
			f.MatchAny("name", func(v string) bool { return strings.HasPrefix(Name(r, t), v) }) &&
			f.MatchAny("node", func(v string) bool {
				return v != "" && (strings.HasPrefix(t.GetNodeId(), v) || r.GetNodeNames()[t.GetNodeId()] == v)
			}) &&
			f.MatchAny("desired-state", func(v string) bool { return desiredStates[strings.ToLower(v)] == t.GetDesiredState() })
		if ok {
			kept = append(kept, t)
		}
	}
	return kept
}
