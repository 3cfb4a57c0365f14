package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/actorswarm/swarm/actors"
	"github.com/actorswarm/swarm/actors/task"
	"github.com/actorswarm/swarm/cluster"
	"github.com/actorswarm/swarm/internal/clock"
	"github.com/actorswarm/swarm/internal/gwrpc"
	"github.com/actorswarm/swarm/internal/tcpopt"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Daemon is one running swarmd.
type Daemon struct {
	// meshGen counts the commands applied on this node's replicas: the
	// routing mesh is computed again when it moved.
	meshGen atomic.Uint64
	// lbs lists this node's load balancers for /metrics.
	lbs *actors.LBRegistry
	// overlay is this host's side of the overlay networks.
	overlay    *overlayHost
	metricsSrv *http.Server
	cfg        Config
	log        *slog.Logger
	paths      paths
	lock       *os.File
	creds      *creds

	system     *actor.ActorSystem
	remote     *remote.Remote
	unixSrv    *grpc.Server
	gatewayPID *actor.PID
	nodePID    *actor.PID
	simStop    chan struct{}
	// simPool runs the simulated nodes' actors, once they are started.
	simPool atomic.Pointer[actors.Pool]
	// fatal carries the error that stops swarmd by itself; watchStop ends
	// the disk watch and the clock skew watch.
	fatal     chan error
	watchStop chan struct{}

	// mu guards the fields below; lifecycle operations hold it throughout.
	mu            sync.RWMutex
	id            *identity
	raft          *cluster.Raft
	mgr           *cluster.Manager
	healthPID     *actor.PID
	dispatcherPID *actor.PID
	// servicesPID is read by Raft's apply hook without the lock.
	servicesPID atomic.Pointer[actor.PID]
	eventsPID   atomic.Pointer[actor.PID]
	runtimes    map[string]task.Runtime
	// toldWorker is when heartbeat acks began to say that this manager is
	// a worker (zero while they do not); see OnHeartbeatAck.
	toldWorker time.Time

	// ackMu guards acks (when each manager last answered a heartbeat, by
	// node ID) and lost (when the remote last saw the connection to a node
	// break, by address).
	ackMu sync.Mutex
	acks  map[string]time.Time
	lost  map[string]time.Time
}

// endpointQueue is the room a peer's endpoint writer starts with, in
// messages: a batch of the writer's (1,000), twice. The queue grows as
// needed.
const endpointQueue = 2048

// remoteConfig is the remote configuration of a daemon on addr:port with
// opts. The library's default queue of a peer's endpoint writer starts
// with room for a million messages: 16 MB of pointers per peer, scanned by
// every garbage collection, on a manager for every node it talks to.
func remoteConfig(addr string, port int, opts ...remote.ConfigOption) *remote.Config {
	return remote.Configure(addr, port, append(opts, remote.WithEndpointWriterQueueSize(endpointQueue))...)
}

// New locks the data directory and loads this node's identity; it starts
// nothing.
func New(cfg Config) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := paths{dir: cfg.DataDir}
	lock, err := lockDir(p)
	if err != nil {
		return nil, err
	}
	id, err := loadIdentity(p)
	if err != nil {
		lock.Close()
		return nil, err
	}
	c, err := newCreds()
	if err != nil {
		lock.Close()
		return nil, err
	}
	rts, err := newRuntimes(&cfg, p)
	if err != nil {
		lock.Close()
		return nil, err
	}
	var latency io.WriteCloser
	if cfg.OverlayLowLatency {
		if latency, err = openLatencyDevice(); err != nil {
			lock.Close()
			return nil, fmt.Errorf("--overlay-low-latency: %w", err)
		}
	}
	d := &Daemon{fatal: make(chan error, 1), lbs: actors.NewLBRegistry(), runtimes: rts, cfg: cfg, log: cfg.Logger, paths: p, lock: lock, creds: c, id: id, acks: make(map[string]time.Time), lost: make(map[string]time.Time)}
	d.overlay = newOverlayHost(cfg.Addr, cfg.VXLANPort, cfg.DataDir, cfg.Logger, d.NodeID, latency)
	return d, nil
}

// Start brings the node up: the actor system and its remote on
// --addr:--port, the admin socket, and, for a node that was part of a swarm
// before, its Raft replicas and heartbeats.
func (d *Daemon) Start() error {
	ln, err := net.Listen("tcp", d.cfg.GatewayAddr())
	if err != nil {
		return fmt.Errorf("listen on %s: %w", d.cfg.GatewayAddr(), err)
	}
	ln.Close()

	libLog := slog.New(errorsOnly{d.cfg.Logger.Handler()})
	d.system = actor.NewActorSystemWithConfig(actor.Configure(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return libLog }),
		actor.WithDeadLetterThrottleCount(1),
		actor.WithDeadLetterThrottleInterval(time.Minute),
	))
	rcfg := remoteConfig(d.cfg.Addr, d.cfg.Port,
		remote.WithServerOptions(
			grpc.Creds(credentials.NewTLS(d.creds.serverTLS())),
			grpc.UnknownServiceHandler(d.serveRPC(false)),
			grpc.StreamInterceptor(authStream),
			grpc.UnaryInterceptor(authUnary),
		),
		remote.WithDialOptions(grpc.WithTransportCredentials(credentials.NewTLS(d.creds.clientTLS())),
			// Heartbeats ride these connections: linear retransmission
			// timeouts keep a lossy link from stalling one past the grace.
			grpc.WithContextDialer(tcpopt.DialContext)),
	)
	d.remote = remote.NewRemote(d.system, rcfg)
	d.remote.Start()
	d.system.EventStream.Subscribe(func(evt any) {
		if t, ok := evt.(*remote.EndpointTerminatedEvent); ok {
			d.ackMu.Lock()
			d.lost[t.Address] = time.Now()
			d.ackMu.Unlock()
		}
	})

	d.gatewayPID, err = d.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return actors.NewGateway(d) }), actors.GatewayName)
	if err != nil {
		return fmt.Errorf("spawn gateway: %w", err)
	}
	d.nodePID, err = d.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return actors.NewNode(d, d.cfg.Heartbeat) }), actors.NodeName)
	if err != nil {
		return fmt.Errorf("spawn node: %w", err)
	}

	if err := d.resume(); err != nil {
		return err
	}
	if d.cfg.SimNodes > 0 {
		d.simStop = make(chan struct{})
		go d.runSimNodes(d.simStop)
	}
	d.watchStop = make(chan struct{})
	go d.watchDisk(d.watchStop)
	if d.cfg.ClockSkewFile != "" {
		go d.watchClockSkew(d.watchStop)
	}
	d.serveMetrics()
	return d.serveSocket()
}

func (d *Daemon) serveSocket() error {
	path := d.paths.socket()
	// The data-dir lock is ours, so a socket left here is stale.
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("admin socket: %w", err)
	}
	d.unixSrv = grpc.NewServer(grpc.UnknownServiceHandler(d.serveRPC(true)))
	go func() { _ = d.unixSrv.Serve(ln) }()
	d.log.Info("swarmd started", "addr", d.cfg.GatewayAddr(), "socket", path, "data_dir", d.cfg.DataDir, "version", d.cfg.Version)
	return nil
}

// resume restarts what a node that was part of a swarm ran before.
func (d *Daemon) resume() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.id == nil {
		return nil
	}
	caDER, certDER, key, err := loadCerts(d.paths)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if err := d.creds.set(caDER, certDER, key); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if d.id.Manager {
		rc := d.raftConfig(d.id.ReplicaID, d.id.DeploymentID, d.id.RaftDir)
		joined, dir, replica := d.id.JoinedNonVoting, rc.Dir, d.id.ReplicaID
		rc.NonVoting = func(shard uint64) bool { return joined && !cluster.HasSnapshot(dir, shard, replica) }
		r, err := cluster.StartRaft(rc, cluster.Restart, nil)
		if err != nil {
			return fmt.Errorf("resume raft: %w", err)
		}
		d.startManagerLocked(r)
		if !d.id.Settled {
			go d.settle(r)
		}
	}
	d.log.Info("resumed swarm membership", "node_id", d.id.NodeID, "manager", d.id.Manager)
	return nil
}

func (d *Daemon) raftConfig(replica, deployment uint64, dir string) cluster.RaftConfig {
	return cluster.RaftConfig{
		Dir:           d.paths.raft(dir),
		RTT:           d.cfg.RaftTick,
		RaftAddr:      d.cfg.RaftAddr(),
		ReplicaID:     replica,
		DeploymentID:  deployment,
		ServiceShards: d.cfg.ServiceShards,
		CAFile:        d.paths.caPEM(),
		CertFile:      d.paths.certPEM(),
		KeyFile:       d.paths.keyPEM(),
		Watch:         d.watch,
	}
}

// startManagerLocked makes this node serve as a manager through r.
func (d *Daemon) startManagerLocked(r *cluster.Raft) {
	d.raft = r
	d.mgr = cluster.NewManager(r, d.id.NodeID, d.id.DeploymentID, notifier{root: d.system.Root})
	env := &managerEnv{raft: r, mgr: d.mgr, system: d.system, log: d.log, mesh: &meshCache{gen: &d.meshGen}}
	ctl := &healthControl{managerEnv: env, d: d, deployment: d.id.DeploymentID, self: d.id.NodeID}
	pid, err := d.system.Root.SpawnNamed(actor.PropsFromProducer(func() actor.Actor { return actors.NewHealth(ctl, clock.Real{}) }), actors.HealthName)
	if err != nil {
		d.log.Error("spawn health actor", "err", err)
		return
	}
	d.healthPID = pid
	d.startOrchestrationLocked(env)
}

// settle makes a restarted, not yet settled manager's promotion durable.
func (d *Daemon) settle(r *cluster.Raft) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.SettleVoting(ctx); err != nil {
		d.log.Warn("settle raft replicas", "err", err)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.raft == r && d.id != nil {
		d.id.Settled = true
		if err := saveIdentity(d.paths, d.id); err != nil {
			d.log.Error("save identity", "err", err)
		}
	}
}

// stopManagerLocked stops the health actor and Raft.
func (d *Daemon) stopManagerLocked() {
	d.stopOrchestrationLocked()
	if d.healthPID != nil {
		_ = d.system.Root.StopFuture(d.healthPID).Wait()
		d.healthPID = nil
	}
	if d.raft != nil {
		d.raft.Close()
		d.raft = nil
	}
	d.mgr = nil
}

// Networker implements actors.NodeEngine.
func (d *Daemon) Networker() task.Networker { return d.overlay }

// OverlayNode implements actors.NodeEngine.
func (d *Daemon) OverlayNode(as []*swarmv1.Attachment) { d.overlay.node(as) }

// OverlayUpdate implements actors.NodeEngine.
func (d *Daemon) OverlayUpdate(nets []*swarmv1.MeshNetwork) { d.overlay.update(nets) }

// LBRegistry implements actors.NodeEngine.
func (d *Daemon) LBRegistry() *actors.LBRegistry { return d.lbs }

// Close stops everything Start started and releases the data directory.
func (d *Daemon) Close() {
	if d.simStop != nil {
		close(d.simStop)
	}
	if d.watchStop != nil {
		close(d.watchStop)
		d.watchStop = nil
	}
	d.stopMetrics()
	defer d.overlay.close()
	d.mu.Lock()
	d.stopManagerLocked()
	d.mu.Unlock()
	if d.unixSrv != nil {
		d.unixSrv.Stop()
	}
	_ = os.Remove(d.paths.socket())
	if d.remote != nil {
		d.remote.Shutdown(false)
	}
	if d.system != nil {
		d.system.Shutdown()
	}
	if p := d.simPool.Load(); p != nil {
		p.Close()
	}
	d.lock.Close()
	d.log.Info("swarmd stopped")
}

// serveRPC routes the gateway methods of one listener. Over TCP, Call needs
// the admin certificate and Join needs nothing (the token is checked); the
// admin socket serves Call only.
func (d *Daemon) serveRPC(local bool) grpc.StreamHandler {
	return func(_ any, stream grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(stream)
		switch {
		case method == gwrpc.MethodCall:
			if !local && peerRole(stream.Context()) != cluster.OUAdmin {
				return status.Error(codes.PermissionDenied, "the gateway over TCP needs the admin client certificate that swarm init writes to DATA_DIR/admin (swarmctl --tls-dir)")
			}
			req := &swarmv1.GatewayRequest{}
			if err := stream.RecvMsg(req); err != nil {
				return err
			}
			return stream.SendMsg(d.call(req))
		case method == gwrpc.MethodJoin && !local:
			req := &swarmv1.JoinRequest{}
			if err := stream.RecvMsg(req); err != nil {
				return err
			}
			return stream.SendMsg(d.admit(stream.Context(), req))
		default:
			return status.Errorf(codes.Unimplemented, "unknown method %s", method)
		}
	}
}

// authStream lets the gateway methods through (they check per call) and
// requires a node certificate of the swarm for the actor remote.
func authStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if strings.HasPrefix(info.FullMethod, "/actorswarm.v1.Gateway/") {
		return handler(srv, ss)
	}
	if !isNodeRole(peerRole(ss.Context())) {
		return status.Error(codes.PermissionDenied, "actor remote needs a node certificate of this swarm")
	}
	return handler(srv, ss)
}

func authUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !isNodeRole(peerRole(ctx)) {
		return nil, status.Error(codes.PermissionDenied, "actor remote needs a node certificate of this swarm")
	}
	return handler(ctx, req)
}

func isNodeRole(ou string) bool { return ou == cluster.OUWorker || ou == cluster.OUManager }

// call hands a request to the gateway actor and waits for its answer.
func (d *Daemon) call(req *swarmv1.GatewayRequest) *swarmv1.GatewayResponse {
	res, err := d.system.Root.RequestFuture(d.gatewayPID, req, actors.RequestTimeout).Result()
	if err != nil {
		return &swarmv1.GatewayResponse{Error: "gateway: " + err.Error()}
	}
	resp, ok := res.(*swarmv1.GatewayResponse)
	if !ok {
		return &swarmv1.GatewayResponse{Error: fmt.Sprintf("gateway: unexpected answer %T", res)}
	}
	return resp
}

// admit serves a join request when this node is a manager.
func (d *Daemon) admit(ctx context.Context, req *swarmv1.JoinRequest) *swarmv1.JoinResponse {
	mgr := d.Manager()
	if mgr == nil {
		return &swarmv1.JoinResponse{Error: "this node is not a manager of the swarm"}
	}
	ctx, cancel := context.WithTimeout(ctx, actors.RequestTimeout)
	defer cancel()
	resp, err := mgr.Admit(ctx, req)
	if err != nil {
		d.log.Warn("join refused", "hostname", req.GetHostname(), "addr", req.GetAddr(), "err", err)
		return &swarmv1.JoinResponse{Error: cluster.ErrorResponse(err).Error}
	}
	d.log.Info("node joined", "node_id", resp.NodeId, "hostname", req.Hostname, "role", resp.Role.String())
	return resp
}

// notifier reaches other nodes' node actors for the manager.
type notifier struct{ root *actor.RootContext }

func (n notifier) BecomeManager(ctx context.Context, node *swarmv1.Node, msg *swarmv1.BecomeManager) error {
	return n.ask(ctx, node, msg)
}

func (n notifier) BecomeWorker(ctx context.Context, node *swarmv1.Node, msg *swarmv1.BecomeWorker) error {
	return n.ask(ctx, node, msg)
}

func (n notifier) Logs(ctx context.Context, node *swarmv1.Node, req *swarmv1.TaskLogsRequest) (*swarmv1.TaskLogsResponse, error) {
	timeout := 3 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	res, err := n.root.RequestFuture(actors.NodePID(node), req, timeout).Result()
	if err != nil {
		return nil, err
	}
	resp, ok := res.(*swarmv1.TaskLogsResponse)
	if !ok {
		return nil, fmt.Errorf("node %s: unexpected answer %T", node.Id, res)
	}
	return resp, nil
}

func (n notifier) ask(ctx context.Context, node *swarmv1.Node, msg any) error {
	timeout := actors.RequestTimeout / 2
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	res, err := n.root.RequestFuture(actors.NodePID(node), msg, timeout).Result()
	if err != nil {
		return fmt.Errorf("node %s did not answer: %w", node.Id, err)
	}
	rc, ok := res.(*swarmv1.RoleChanged)
	if !ok {
		return fmt.Errorf("node %s: unexpected answer %T", node.Id, res)
	}
	if rc.Error != "" {
		return errors.New(rc.Error)
	}
	return nil
}

// healthControl is the failure detector's view of its manager: the
// manager's reads (managerEnv) plus what only the detector needs.
type healthControl struct {
	*managerEnv
	d          *Daemon
	deployment uint64
	self       string
}

func (h *healthControl) IsControlLeader() bool { return h.raft.IsLeader(cluster.ControlShard) }

func (h *healthControl) MeshVersion() string { return h.Mesh().GetVersion() }

func (h *healthControl) Peers() []*swarmv1.Peer {
	v, err := h.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any { return s.ManagerPeers() })
	if err != nil {
		return nil
	}
	return v.([]*swarmv1.Peer)
}

func (h *healthControl) HeartbeatPeriod() time.Duration {
	v, err := h.raft.LocalRead(cluster.ControlShard, func(s *cluster.Store) any { return s.HeartbeatPeriod() })
	if err == nil && v.(time.Duration) > 0 {
		return v.(time.Duration)
	}
	return h.d.cfg.Heartbeat
}

func (h *healthControl) DeploymentID() uint64 { return h.deployment }

func (h *healthControl) SelfID() string { return h.self }

func (h *healthControl) ProposeStates(ctx context.Context, changes []*swarmv1.NodeStateChange) error {
	_, err := h.raft.Propose(ctx, cluster.ControlShard, &swarmv1.Command{
		Cmd: &swarmv1.Command_SetNodeStates{SetNodeStates: &swarmv1.SetNodeStates{Changes: changes}},
	})
	if err == nil {
		h.logVerdicts(changes)
	}
	return err
}

// logVerdicts logs the nodes the failure detector marked Down or Ready:
// a line per state, naming at most a few nodes (a swarm of thousands may
// change many at once).
func (h *healthControl) logVerdicts(changes []*swarmv1.NodeStateChange) {
	const named = 5
	byState := make(map[swarmv1.NodeState][]string)
	for _, c := range changes {
		byState[c.GetState()] = append(byState[c.GetState()], c.GetNodeId())
	}
	for st, ids := range byState {
		level, msg := slog.LevelInfo, "nodes ready"
		if st == swarmv1.NodeState_NODE_STATE_DOWN {
			level, msg = slog.LevelWarn, "nodes down"
		}
		h.log.Log(context.Background(), level, msg, "count", len(ids), "nodes", strings.Join(ids[:min(len(ids), named)], ","))
	}
}

// errorsOnly passes on the errors of protoactor's own logs.
type errorsOnly struct{ slog.Handler }

func (h errorsOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError && h.Handler.Enabled(ctx, l)
}

func (h errorsOnly) WithAttrs(as []slog.Attr) slog.Handler {
	return errorsOnly{h.Handler.WithAttrs(as)}
}

func (h errorsOnly) WithGroup(name string) slog.Handler { return errorsOnly{h.Handler.WithGroup(name)} }
