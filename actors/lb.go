package actors

import (
	"cmp"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/lb"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// portListener is what an lb actor needs of a TCP or UDP listener.
type portListener interface {
	SetBackends([]string)
	SetPolicy(string) error
	SetProxyProtocol(bool)
	Stats() lb.PortStats
	Close() error
}

// PortKey names a published port on a node: "80/tcp".
func PortKey(port uint32, proto swarmv1.Protocol) string {
	return strconv.FormatUint(uint64(port), 10) + "/" + protocolName(proto)
}

func protocolName(p swarmv1.Protocol) string {
	if p == swarmv1.Protocol_PROTOCOL_UDP {
		return "udp"
	}
	return "tcp"
}

// lbStatus tells the node actor whether one of its lb actors listens:
// err is empty when it does. The node reports failures to the managers.
type lbStatus struct {
	key, err string
}

// LB is the load balancer of one published port on this node (a child of
// the node actor, "lb/<port>/<protocol>"): it owns the port's listener
// and points it at the port's backends, with the port's policy and
// options, as the mesh changes. A port that cannot be bound (in use on
// this host) is reported to the node actor and tried again with the next
// update; the other nodes keep serving it.
type LB struct {
	addr  string
	proto swarmv1.Protocol
	reg   *LBRegistry
	ln    portListener
	err   string
	// last is the port as last received, and retrying is set while a
	// retry of a failed listen is due.
	last     *swarmv1.MeshPort
	retrying bool
}

// lbRetry makes an lb actor that could not listen try again. Local only.
type lbRetry struct{}

// lbRetryEvery is how often a port that could not be bound is tried
// again, so that it serves soon after whatever held it let go.
const lbRetryEvery = 2 * time.Second

// NewLB returns the load balancer of addr (IP:port) for proto; it lists
// its listener's counters in reg while it listens (reg may be nil).
func NewLB(addr string, proto swarmv1.Protocol, reg *LBRegistry) *LB {
	return &LB{addr: addr, proto: proto, reg: reg}
}

// Receive implements actor.Actor.
func (l *LB) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *swarmv1.MeshPort:
		l.onPort(ctx, msg)
	case *lbRetry:
		l.retrying = false
		if l.last != nil {
			l.onPort(ctx, l.last)
		}
	case *actor.Stopping:
		l.close()
	}
}

func (l *LB) key() string {
	_, port, _ := net.SplitHostPort(l.addr)
	return port + "/" + protocolName(l.proto)
}

func (l *LB) listen(ctx actor.Context, p *swarmv1.MeshPort) {
	if l.ln != nil {
		return
	}
	opts := lb.ListenOptions{Policy: p.GetLb(), ProxyProtocol: p.GetProxyProtocol(), DrainTimeout: drainTimeout(p)}
	var (
		ln  portListener
		err error
	)
	if l.proto == swarmv1.Protocol_PROTOCOL_UDP {
		ln, err = lb.ListenUDP(l.addr, opts)
	} else {
		ln, err = lb.ListenWith(l.addr, opts)
	}
	status := ""
	if err != nil {
		status = err.Error()
	} else {
		l.ln = ln
		l.reg.set(l.key(), ln.Stats)
	}
	if status != l.err && ctx.Parent() != nil {
		ctx.Send(ctx.Parent(), &lbStatus{key: l.key(), err: status})
	}
	l.err = status
	if err != nil && !l.retrying {
		l.retrying = true
		self, root := ctx.Self(), ctx.ActorSystem().Root
		time.AfterFunc(lbRetryEvery, func() { root.Send(self, &lbRetry{}) })
	}
}

// drainTimeout is how long the connections to a task that left the port's
// backends may go on: its stop grace period, as the task gets as long.
func drainTimeout(p *swarmv1.MeshPort) time.Duration {
	if d := time.Duration(p.GetDrainTimeoutNano()); d > 0 {
		return d
	}
	return 0 // lb's default
}

func (l *LB) onPort(ctx actor.Context, p *swarmv1.MeshPort) {
	l.last = p
	if l.ln == nil {
		l.listen(ctx, p)
		if l.ln == nil {
			return
		}
	}
	_ = l.ln.SetPolicy(p.GetLb()) // validated at service create
	l.ln.SetProxyProtocol(p.GetProxyProtocol())
	if tl, ok := l.ln.(*lb.Listener); ok {
		tl.SetDrainTimeout(drainTimeout(p))
	}
	l.ln.SetBackends(p.GetBackends())
}

func (l *LB) close() {
	if l.ln == nil {
		return
	}
	l.reg.remove(l.key())
	_ = l.ln.Close()
	l.ln = nil
}

// LBRegistry lists the listening load balancers of a node for its
// /metrics: an lb actor adds its listener's counters while it listens.
// Safe for concurrent use (the scrape runs outside the actors).
type LBRegistry struct {
	mu    sync.Mutex
	stats map[string]func() lb.PortStats
}

// NewLBRegistry returns an empty registry.
func NewLBRegistry() *LBRegistry {
	return &LBRegistry{stats: make(map[string]func() lb.PortStats)}
}

func (r *LBRegistry) set(key string, f func() lb.PortStats) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats[key] = f
}

func (r *LBRegistry) remove(key string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.stats, key)
}

// Stats returns the counters of every listening port, by port then
// protocol.
func (r *LBRegistry) Stats() []lb.PortStats {
	r.mu.Lock()
	fs := make([]func() lb.PortStats, 0, len(r.stats))
	for _, f := range r.stats {
		fs = append(fs, f)
	}
	r.mu.Unlock()
	out := make([]lb.PortStats, 0, len(fs))
	for _, f := range fs {
		out = append(out, f())
	}
	slices.SortFunc(out, func(a, b lb.PortStats) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol))
	})
	return out
}
