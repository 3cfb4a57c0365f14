package cli

import (
	"strings"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// The docker words for service and task enums.

// TaskStateName is a task state in docker's lower-case word: "running",
// "pending", "shutdown"; "unknown" when unset.
func TaskStateName(s swarmv1.TaskState) string {
	if s == swarmv1.TaskState_TASK_STATE_UNSPECIFIED {
		return "unknown"
	}
	return enumWord(s.String(), "TASK_STATE_")
}

// ParseTaskState reads a task state word ("running", case-insensitive).
func ParseTaskState(word string) (swarmv1.TaskState, bool) {
	v, ok := swarmv1.TaskState_value["TASK_STATE_"+strings.ToUpper(word)]
	if !ok || v == int32(swarmv1.TaskState_TASK_STATE_UNSPECIFIED) {
		return swarmv1.TaskState_TASK_STATE_UNSPECIFIED, false
	}
	return swarmv1.TaskState(v), true
}

// UpdateStateName is a rolling update's state as docker words it:
// "updating", "paused", "completed", "rollback_started",
// "rollback_paused", "rollback_completed".
func UpdateStateName(s swarmv1.UpdateState) string {
	return enumWord(s.String(), "UPDATE_STATE_")
}

// ServiceModeName is "replicated" or "global" ("" when unset).
func ServiceModeName(m swarmv1.ServiceMode) string {
	switch m {
	case swarmv1.ServiceMode_SERVICE_MODE_REPLICATED:
		return "replicated"
	case swarmv1.ServiceMode_SERVICE_MODE_GLOBAL:
		return "global"
	}
	return ""
}

func enumWord(name, prefix string) string {
	return strings.ToLower(strings.TrimPrefix(name, prefix))
}
