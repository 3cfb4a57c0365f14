package service

import (
	"fmt"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// The docker words for the enums of a service spec.

var restartConditions = map[string]swarmv1.RestartCondition{
	"none":       swarmv1.RestartCondition_RESTART_CONDITION_NONE,
	"on-failure": swarmv1.RestartCondition_RESTART_CONDITION_ON_FAILURE,
	"any":        swarmv1.RestartCondition_RESTART_CONDITION_ANY,
}

func parseRestartCondition(s string) (swarmv1.RestartCondition, error) {
	if c, ok := restartConditions[s]; ok {
		return c, nil
	}
	return 0, fmt.Errorf("invalid restart condition %q: want none, on-failure or any", s)
}

var failureActions = map[string]swarmv1.FailureAction{
	"pause":    swarmv1.FailureAction_FAILURE_ACTION_PAUSE,
	"continue": swarmv1.FailureAction_FAILURE_ACTION_CONTINUE,
	"rollback": swarmv1.FailureAction_FAILURE_ACTION_ROLLBACK,
}

// parseFailureAction reads --update-failure-action, or with rollback
// --rollback-failure-action (a rollback cannot roll back).
func parseFailureAction(s string, rollback bool) (swarmv1.FailureAction, error) {
	if a, ok := failureActions[s]; ok && !(rollback && a == swarmv1.FailureAction_FAILURE_ACTION_ROLLBACK) {
		return a, nil
	}
	if rollback {
		return 0, fmt.Errorf("invalid rollback failure action %q: want pause or continue", s)
	}
	return 0, fmt.Errorf("invalid update failure action %q: want pause, continue or rollback", s)
}

func failureActionName(a swarmv1.FailureAction) string {
	for name, v := range failureActions {
		if v == a {
			return name
		}
	}
	return ""
}

var updateOrders = map[string]swarmv1.UpdateOrder{
	"stop-first":  swarmv1.UpdateOrder_UPDATE_ORDER_STOP_FIRST,
	"start-first": swarmv1.UpdateOrder_UPDATE_ORDER_START_FIRST,
}

func parseUpdateOrder(s string) (swarmv1.UpdateOrder, error) {
	if o, ok := updateOrders[s]; ok {
		return o, nil
	}
	return 0, fmt.Errorf("invalid update order %q: want stop-first or start-first", s)
}

func updateOrderName(o swarmv1.UpdateOrder) string {
	for name, v := range updateOrders {
		if v == o {
			return name
		}
	}
	return ""
}

func parseMode(s string) (swarmv1.ServiceMode, error) {
	switch s {
	case "replicated":
		return swarmv1.ServiceMode_SERVICE_MODE_REPLICATED, nil
	case "global":
		return swarmv1.ServiceMode_SERVICE_MODE_GLOBAL, nil
	}
	return 0, fmt.Errorf("unknown mode: %s, only replicated and global supported", s)
}

// runtimes are the ways a task can run (DESIGN.md §7).
var runtimes = []string{"process", "docker", "sim"}

func publishModeName(m swarmv1.PublishMode) string {
	if m == swarmv1.PublishMode_PUBLISH_MODE_HOST {
		return "host"
	}
	return "ingress"
}
