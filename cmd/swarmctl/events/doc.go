// Package events is `swarmctl events`: the swarm's events (nodes down and
// back, task state changes, services, Raft leaders) as docker prints them,
// streamed until interrupted or until --until.
package events
