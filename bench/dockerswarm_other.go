//go:build !linux

package bench

import (
	"context"
	"errors"
)

// runDockerNodeCrash needs Linux namespaces for its worker engine.
func runDockerNodeCrash(context.Context, Options) ([]Record, error) {
	return nil, errors.New("the Docker Swarm target needs Linux (network and PID namespaces)")
}

// runDockerLeaderCrash needs Linux namespaces for its engines.
func runDockerLeaderCrash(context.Context, Options) ([]Record, error) {
	return nil, errors.New("the Docker Swarm target needs Linux (network and PID namespaces)")
}

// runDockerPartition needs Linux namespaces for its engines.
func runDockerPartition(context.Context, Options) ([]Record, error) {
	return nil, errors.New("the Docker Swarm target needs Linux (network and PID namespaces)")
}

// runDockerLossyNodeCrash needs Linux namespaces for its engines.
func runDockerLossyNodeCrash(context.Context, Options) ([]Record, error) {
	return nil, errors.New("the Docker Swarm target needs Linux (network and PID namespaces)")
}

// runDockerLatencyNodeCrash needs Linux namespaces for its engines.
func runDockerLatencyNodeCrash(context.Context, Options) ([]Record, error) {
	return nil, errors.New("the Docker Swarm target needs Linux (network and PID namespaces)")
}

// runDockerDiskFull needs Linux namespaces for its engines.
func runDockerDiskFull(context.Context, Options) ([]Record, error) {
	return nil, errors.New("the Docker Swarm target needs Linux (network and PID namespaces)")
}

// runDockerChaos needs Linux namespaces for its engines.
func runDockerChaos(context.Context, Options) ([]Record, error) {
	return nil, errors.New("the Docker Swarm target needs Linux (network and PID namespaces)")
}

// runDockerNodeFreeze needs Linux namespaces for its engines.
func runDockerNodeFreeze(context.Context, Options) ([]Record, error) {
	return nil, errors.New("the Docker Swarm target needs Linux (network and PID namespaces)")
}

// runDockerConverge needs Linux namespaces for its worker engine.
func runDockerConverge(context.Context, Options) ([]Record, error) {
	return nil, errors.New("the Docker Swarm target needs Linux (network and PID namespaces)")
}

// runDockerScale needs Linux namespaces for its worker engine.
func runDockerScale(context.Context, Options) ([]Record, error) {
	return nil, errors.New("the Docker Swarm target needs Linux (network and PID namespaces)")
}

// runConvergeContainers needs the benchmark image, built on Linux.
func runConvergeContainers(context.Context, Options) ([]Record, error) {
	return nil, errors.New("converge-containers needs Linux (the benchmark image and the docker runtime)")
}

// runScaleContainers needs the benchmark image, built on Linux.
func runScaleContainers(context.Context, Options) ([]Record, error) {
	return nil, errors.New("scale-containers needs Linux (the benchmark image and the docker runtime)")
}

// runDiskFull mounts a tmpfs, which this needs Linux for.
func runDiskFull(context.Context, Options) ([]Record, error) {
	return nil, errors.New("disk-full needs Linux (a tmpfs as a manager's data directory)")
}
