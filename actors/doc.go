// Package actors holds the actor tree of every swarmd (DESIGN.md §5): the
// gateway (swarmctl's entry point, forwarding to managers), the node actor
// (heartbeats and role changes of this host) and, on managers, the health
// actor (the failure detector).
//
// Each actor's state is touched only by its own Receive. Blocking work (Raft
// proposals, starting replicas) runs in goroutines that answer the original
// sender or report back to the actor as a message. The actors reach the rest
// of swarmd through small interfaces defined here; they must not touch the
// data directory or Raft directly.
package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Well-known actor names, the same on every node, so that a peer's actor is
// addressed as actor.NewPID(peer.GatewayAddr, Name).
const (
	GatewayName = "gateway"
	NodeName    = "node"
	HealthName  = "health"
)

// RequestTimeout bounds a request one node's actor makes to another's.
const RequestTimeout = 20 * time.Second

// NodePID is where the node actor of node n listens: NodeName at its
// gateway, or the actor name it registered with (a simulated node).
func NodePID(n *swarmv1.Node) *actor.PID {
	name := n.GetActorName()
	if name == "" {
		name = NodeName
	}
	return actor.NewPID(n.GetGatewayAddr(), name)
}
