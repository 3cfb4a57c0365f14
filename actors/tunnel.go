package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// TunnelName is the tunnel actor's name under the node actor.
const TunnelName = "tunnel"

// Tunnel is this host's overlay forwarder actor (a child of the node
// actor): it takes the overlay networks of each mesh the node receives
// and hands their endpoints to the forwarder and the name servers, so a
// task that moved is reached at its new host as soon as the mesh says so.
// The devices of a network are set up when its first task here starts
// (task.Networker), not here.
type Tunnel struct {
	update func(nets []*swarmv1.MeshNetwork)
}

// NewTunnel returns the tunnel actor; update applies the networks.
func NewTunnel(update func(nets []*swarmv1.MeshNetwork)) *Tunnel {
	return &Tunnel{update: update}
}

// Receive implements actor.Actor.
func (t *Tunnel) Receive(ctx actor.Context) {
	if m, ok := ctx.Message().(*swarmv1.Mesh); ok {
		t.update(m.GetNetworks())
	}
}
