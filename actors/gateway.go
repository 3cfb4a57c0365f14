package actors

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/cluster"
	"github.com/actorswarm/swarm/internal/ident"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// maxHops bounds how often a request is forwarded between gateways.
const maxHops = 2

// forwardTryTimeout bounds one forwarding attempt when other managers are
// left to try.
const forwardTryTimeout = 2 * time.Second

// GatewayEngine is what the gateway needs of its swarmd.
type GatewayEngine interface {
	// NodeID is this node's ID ("" before it joins).
	NodeID() string
	// HandleLocal serves requests about this node itself (info, init,
	// join, leave) and refuses cluster requests on an unjoined node; ok is
	// false for requests it leaves to the managers.
	HandleLocal(ctx context.Context, req *swarmv1.GatewayRequest) (resp *swarmv1.GatewayResponse, ok bool)
	// Manager is this node's manager, nil on a worker.
	Manager() *cluster.Manager
	// ManagerPeers lists the swarm's managers as this node knows them.
	ManagerPeers() []*swarmv1.Peer
	// LostSince reports whether the connection to the node at addr was
	// lost after t (the actor remote saw it break).
	LostSince(addr string, t time.Time) bool
	// SilentSince reports whether the manager nodeID has not answered this
	// node's heartbeats for a failure detector's grace, counted from t at
	// the earliest: it is most likely dead.
	SilentSince(nodeID string, t time.Time) bool
}

// Gateway answers swarmctl's requests on every node: it serves them itself
// on a manager and forwards them to a manager on a worker. It keeps no
// state; each request is served in its own goroutine so that a slow Raft
// commit does not hold up the others.
type Gateway struct {
	eng GatewayEngine
}

// NewGateway returns a gateway serving through eng.
func NewGateway(eng GatewayEngine) *Gateway { return &Gateway{eng: eng} }

// Receive implements actor.Actor.
func (g *Gateway) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *swarmv1.GatewayRequest:
		g.onRequest(ctx, msg)
	}
}

func (g *Gateway) onRequest(ctx actor.Context, req *swarmv1.GatewayRequest) {
	sender, root := ctx.Sender(), ctx.ActorSystem().Root
	go func() {
		resp := g.Serve(root, req)
		if sender != nil {
			root.Send(sender, resp)
		}
	}()
}

// Serve answers one request; it blocks.
func (g *Gateway) Serve(root *actor.RootContext, req *swarmv1.GatewayRequest) *swarmv1.GatewayResponse {
	ctx, cancel := context.WithTimeout(context.Background(), RequestTimeout-2*time.Second)
	defer cancel()
	if req.RequestId == "" {
		req.RequestId = ident.New()
	}
	if resp, ok := g.eng.HandleLocal(ctx, req); ok {
		return resp
	}
	if mgr := g.eng.Manager(); mgr != nil {
		resp := mgr.Handle(ctx, req)
		if resp.Code != cluster.CodeForward {
			return resp
		}
	}
	return g.forward(root, req)
}

// resolveSelf returns req with a node reference "self" replaced by this
// node's ID: the manager it is forwarded to would read it as itself.
func resolveSelf(req *swarmv1.GatewayRequest, self string) *swarmv1.GatewayRequest {
	out := proto.Clone(req).(*swarmv1.GatewayRequest)
	var ref *string
	switch r := out.Req.(type) {
	case *swarmv1.GatewayRequest_NodeInspect:
		if r.NodeInspect != nil {
			ref = &r.NodeInspect.Ref
		}
	case *swarmv1.GatewayRequest_NodeUpdate:
		if r.NodeUpdate != nil {
			ref = &r.NodeUpdate.Ref
		}
	case *swarmv1.GatewayRequest_NodePromote:
		if r.NodePromote != nil {
			ref = &r.NodePromote.Ref
		}
	case *swarmv1.GatewayRequest_NodeDemote:
		if r.NodeDemote != nil {
			ref = &r.NodeDemote.Ref
		}
	case *swarmv1.GatewayRequest_NodeRemove:
		if r.NodeRemove != nil {
			ref = &r.NodeRemove.Ref
		}
	}
	if ref != nil && *ref == "self" {
		*ref = self
	}
	return out
}

// errConnectionLost ends a forwarding attempt to a manager whose connection
// broke meanwhile.
var errConnectionLost = fmt.Errorf("connection to the manager was lost")

// ask sends req to the gateway at addr and waits for its answer, giving up
// early when the connection to that node is lost or it stopped answering
// heartbeats (a SIGKILLed manager's connection is seen broken only after
// the actor remote's reconnection attempts, seconds later).
func (g *Gateway) ask(root *actor.RootContext, p *swarmv1.Peer, req *swarmv1.GatewayRequest, timeout time.Duration) (any, error) {
	addr := p.GatewayAddr
	start := time.Now()
	f := root.RequestFuture(actor.NewPID(addr, GatewayName), req, timeout)
	type answer struct {
		res any
		err error
	}
	ch := make(chan answer, 1)
	go func() {
		res, err := f.Result()
		ch <- answer{res, err}
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case a := <-ch:
			return a.res, a.err
		case <-tick.C:
			if g.eng.LostSince(addr, start) || g.eng.SilentSince(p.NodeId, start) {
				return nil, errConnectionLost
			}
		}
	}
}

// forward hands req to the managers in turn until one answers.
func (g *Gateway) forward(root *actor.RootContext, req *swarmv1.GatewayRequest) *swarmv1.GatewayResponse {
	if req.Hops >= maxHops {
		return &swarmv1.GatewayResponse{Error: "request forwarded too many times between managers"}
	}
	self := g.eng.NodeID()
	fwd := &swarmv1.GatewayRequest{Req: resolveSelf(req, self).Req, Hops: req.Hops + 1, RequestId: req.RequestId}
	var peers []*swarmv1.Peer
	for _, p := range g.eng.ManagerPeers() {
		if p.NodeId != self {
			peers = append(peers, p)
		}
	}
	tried := 0
	var lastErr error
	for i, p := range peers {
		tried++
		// A manager that died since its last heartbeat answer must not
		// hold the request up for long while others remain to be tried.
		timeout := RequestTimeout - 4*time.Second
		if i < len(peers)-1 {
			timeout = forwardTryTimeout
		}
		res, err := g.ask(root, p, fwd, timeout)
		if err != nil {
			lastErr = err
			continue
		}
		resp, ok := res.(*swarmv1.GatewayResponse)
		if !ok {
			lastErr = fmt.Errorf("unexpected answer %T", res)
			continue
		}
		// "*" in node ls marks the node swarmctl talks to, not the manager.
		if nl := resp.GetNodeList(); nl != nil {
			nl.SelfId = self
		}
		if n := resp.GetNode(); n != nil {
			n.SelfId = self
		}
		return resp
	}
	if tried == 0 {
		return &swarmv1.GatewayResponse{Error: "no other manager is known to this node"}
	}
	return &swarmv1.GatewayResponse{Error: fmt.Sprintf("no manager of the swarm could be reached (tried %d): %v", tried, lastErr)}
}
