package cli

import (
	"fmt"
	"strings"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// The docker words for node enums, used in flags, filters and output.

// ParseRole reads "worker" or "manager".
func ParseRole(s string) (swarmv1.NodeRole, error) {
	switch strings.ToLower(s) {
	case "worker":
		return swarmv1.NodeRole_NODE_ROLE_WORKER, nil
	case "manager":
		return swarmv1.NodeRole_NODE_ROLE_MANAGER, nil
	}
	return swarmv1.NodeRole_NODE_ROLE_UNSPECIFIED, fmt.Errorf("unknown role %s", s)
}

// RoleName is "worker", "manager" or "unknown".
func RoleName(r swarmv1.NodeRole) string {
	switch r {
	case swarmv1.NodeRole_NODE_ROLE_WORKER:
		return "worker"
	case swarmv1.NodeRole_NODE_ROLE_MANAGER:
		return "manager"
	}
	return "unknown"
}

// ParseAvailability reads "active", "pause" or "drain".
func ParseAvailability(s string) (swarmv1.NodeAvailability, error) {
	switch strings.ToLower(s) {
	case "active":
		return swarmv1.NodeAvailability_NODE_AVAILABILITY_ACTIVE, nil
	case "pause":
		return swarmv1.NodeAvailability_NODE_AVAILABILITY_PAUSE, nil
	case "drain":
		return swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN, nil
	}
	return swarmv1.NodeAvailability_NODE_AVAILABILITY_UNSPECIFIED, fmt.Errorf("invalid availability %q: must be active, pause or drain", s)
}

// AvailabilityName is "Active", "Pause" or "Drain", as tables print it. An
// unset availability is the default, active.
func AvailabilityName(a swarmv1.NodeAvailability) string {
	switch a {
	case swarmv1.NodeAvailability_NODE_AVAILABILITY_PAUSE:
		return "Pause"
	case swarmv1.NodeAvailability_NODE_AVAILABILITY_DRAIN:
		return "Drain"
	}
	return "Active"
}

// StateName is "Ready", "Down" or "Unknown", as tables print a node state.
func StateName(s swarmv1.NodeState) string {
	switch s {
	case swarmv1.NodeState_NODE_STATE_READY:
		return "Ready"
	case swarmv1.NodeState_NODE_STATE_DOWN:
		return "Down"
	}
	return "Unknown"
}
