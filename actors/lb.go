package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/lb"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// LB is the load balancer of one published port on this node (a child of
// the node actor, "lb/<port>"): it owns the port's listener and points it
// at the port's backends as the mesh changes. A port that cannot be bound
// (in use on this host) is tried again with the next update; the other
// nodes keep serving it.
type LB struct {
	addr string
	ln   *lb.Listener
	err  error
}

// NewLB returns the load balancer of addr (IP:port).
func NewLB(addr string) *LB { return &LB{addr: addr} }

// Receive implements actor.Actor.
func (l *LB) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		l.listen()
	case *swarmv1.MeshPort:
		l.onPort(msg)
	case *actor.Stopping:
		if l.ln != nil {
			_ = l.ln.Close()
			l.ln = nil
		}
	}
}

func (l *LB) listen() {
	if l.ln != nil {
		return
	}
	l.ln, l.err = lb.Listen(l.addr)
}

func (l *LB) onPort(p *swarmv1.MeshPort) {
	l.listen()
	if l.ln != nil {
		l.ln.SetBackends(p.GetBackends())
	}
}
