package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/actorswarm/swarm/actors/task"
	"github.com/actorswarm/swarm/internal/cpulatency"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
	"github.com/actorswarm/swarm/tunnel"
	"github.com/actorswarm/swarm/tunnel/dns"
	"github.com/actorswarm/swarm/tunnel/taskns"
)

// overlayMTU is the MTU of the TUN devices and of the tasks' veths: big
// segments cross the forwarder in one packet and the underlay fragments
// the VXLAN datagram (about twice the throughput of 1450, see
// tunnel/README.md).
const overlayMTU = 65000

// overlayHost is this host's side of the overlay networks: one forwarder
// on --addr:--vxlan-port, and per network used here a TUN device routed
// to the network's subnet and a name server on the gateway address. The
// tunnel actor gives it the endpoints; task runners ask it for a network
// namespace per task. Safe for concurrent use.
type overlayHost struct {
	addr    netip.Addr
	port    uint16
	dataDir string
	log     *slog.Logger

	mu   sync.Mutex
	fwd  *tunnel.Forwarder
	nets map[uint32]*overlayNet
	// last are the networks as last received, to give a network its
	// endpoints as soon as it is set up.
	last   []*swarmv1.MeshNetwork
	selfID func() string
	// tasks are the network namespaces of the tasks attached here, by
	// task ID: those left at shutdown are removed then.
	tasks map[string]string
	// latency is the CPU latency QoS device (--overlay-low-latency), nil
	// without it; keeper owns it once the forwarder runs.
	latency io.WriteCloser
	keeper  *cpulatency.Keeper
}

// overlayNet is one network set up on this host.
type overlayNet struct {
	name    string
	subnet  netip.Prefix
	gateway netip.Addr
	names   atomic.Pointer[dns.Table]
	dns     *dns.Server
	// nodeAddr is this host's own address on the network, "" until known.
	nodeAddr string
}

func newOverlayHost(addr string, port int, dataDir string, log *slog.Logger, selfID func() string, latency io.WriteCloser) *overlayHost {
	a, _ := netip.ParseAddr(addr)
	h := &overlayHost{addr: a, port: uint16(port), dataDir: dataDir, log: log, nets: make(map[uint32]*overlayNet), selfID: selfID, tasks: make(map[string]string), latency: latency}
	h.removeStale()
	return h
}

// removeStale removes what tasks of an earlier swarmd of this data
// directory left when it died without cleaning up (SIGKILL): their network
// namespaces, found by the resolv.conf files it wrote for them. The tasks
// themselves died with it.
func (h *overlayHost) removeStale() {
	files, _ := filepath.Glob(filepath.Join(h.dataDir, "tasks", "*.resolv.conf"))
	for _, f := range files {
		id := strings.TrimSuffix(filepath.Base(f), ".resolv.conf")
		if os.Geteuid() == 0 {
			if err := taskns.Remove(nsName(id)); err != nil {
				h.log.Warn("stale task network namespace not removed", "task", id, "err", err)
			}
		}
		_ = os.Remove(f)
	}
}

// overlayCapable reports whether this node can attach tasks to overlay
// networks: it needs root for namespaces and TUN devices.
func overlayCapable() bool { return os.Geteuid() == 0 }

// errNeedRoot is why a task on an overlay network cannot start here.
var errNeedRoot = errors.New("overlay networks need swarmd to run as root (network namespaces, TUN devices)")

// ensure sets network n up on this host, once.
func (h *overlayHost) ensure(a *swarmv1.Attachment) error {
	if os.Geteuid() != 0 {
		return errNeedRoot
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.nets[a.Vni]; ok {
		return nil
	}
	subnet, err := netip.ParsePrefix(a.Subnet)
	if err != nil {
		return fmt.Errorf("network %s: subnet %q: %w", a.NetworkName, a.Subnet, err)
	}
	gw, err := netip.ParseAddr(a.Gateway)
	if err != nil {
		return fmt.Errorf("network %s: gateway %q: %w", a.NetworkName, a.Gateway, err)
	}
	if h.fwd == nil {
		fwd, err := tunnel.NewForwarder(tunnel.Config{ListenAddr: netip.AddrPortFrom(h.addr, h.port), MTU: overlayMTU, Logger: h.log})
		if err != nil {
			return fmt.Errorf("overlay forwarder on %s:%d: %w", h.addr, h.port, err)
		}
		h.fwd = fwd
		if h.latency != nil {
			h.keeper, err = cpulatency.NewKeeper(h.latency, cpulatency.Config{
				Count:  func() uint64 { s := fwd.Stats(); return s.PacketsOut + s.PacketsIn },
				Logger: h.log,
			})
			if err != nil {
				return fmt.Errorf("overlay low latency: %w", err)
			}
			h.latency = nil
		}
	}
	on := &overlayNet{name: a.NetworkName, subnet: subnet, gateway: gw}
	on.names.Store(dns.NewTable(nil))
	dev := "ovl" + strconv.FormatUint(uint64(a.Vni), 10)
	queues, err := tunnel.OpenOffloadTUN(dev, 1)
	if err != nil {
		return fmt.Errorf("network %s: TUN device %s: %w", a.NetworkName, dev, err)
	}
	rw := make([]io.ReadWriteCloser, len(queues))
	for i, q := range queues {
		rw[i] = q
	}
	closeQueues := func() {
		for _, q := range rw {
			_ = q.Close()
		}
	}
	if err := tunnel.ConfigureLink(dev, netip.PrefixFrom(gw, 32), overlayMTU); err != nil {
		closeQueues()
		return fmt.Errorf("network %s: %w", a.NetworkName, err)
	}
	if err := tunnel.AddRoute(subnet, dev); err != nil {
		closeQueues()
		return fmt.Errorf("network %s: %w", a.NetworkName, err)
	}
	if err := h.fwd.AddNetwork(a.Vni, rw...); err != nil {
		closeQueues()
		return fmt.Errorf("network %s: %w", a.NetworkName, err)
	}
	if err := on.serveNames(h.log); err != nil {
		_ = h.fwd.RemoveNetwork(a.Vni)
		return fmt.Errorf("network %s: name server on %s:53: %w", a.NetworkName, gw, err)
	}
	if err := isolate(subnet, true); err != nil {
		h.log.Warn("overlay network not isolated from the others on this host", "network", a.NetworkName, "err", err)
	}
	h.nets[a.Vni] = on
	h.applyLocked()
	h.log.Info("overlay network set up", "network", a.NetworkName, "vni", a.Vni, "subnet", subnet, "device", dev)
	return nil
}

// serveNames starts the network's name server on its gateway address,
// UDP and TCP; IP_FREEBIND lets it bind before a task's veth holds the
// address.
func (on *overlayNet) serveNames(log *slog.Logger) error {
	up, err := dns.ReadResolvConf("/etc/resolv.conf", false)
	if err != nil {
		log.Warn("no upstream resolvers for overlay names", "err", err)
	}
	srv, err := dns.NewServer(dns.Config{
		Lookup:   func(name string) ([]netip.Addr, bool) { return on.names.Load().Lookup(name) },
		Upstream: up.Nameservers,
		Search:   up.Search,
	})
	if err != nil {
		return err
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_IP, syscall.IP_FREEBIND, 1) }); err != nil {
			return err
		}
		return serr
	}}
	addr := net.JoinHostPort(on.gateway.String(), "53")
	pc, err := lc.ListenPacket(context.Background(), "udp4", addr)
	if err != nil {
		return err
	}
	ln, err := lc.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		pc.Close()
		return err
	}
	go func() { _ = srv.Serve(pc) }()
	go func() { _ = srv.ServeTCP(ln) }()
	on.dns = srv
	return nil
}

// node takes this node's own addresses on networks: each network is set
// up here, its TUN device holds the address, and connections the host
// opens into the network (its load balancers') leave from it, so that the
// answers come back to this host.
func (h *overlayHost) node(as []*swarmv1.Attachment) {
	for _, a := range as {
		if err := h.ensure(a); err != nil {
			h.log.Warn("overlay network not set up for the routing mesh", "network", a.NetworkName, "err", err)
			continue
		}
		dev := "ovl" + strconv.FormatUint(uint64(a.Vni), 10)
		h.mu.Lock()
		on := h.nets[a.Vni]
		done := on != nil && on.nodeAddr == a.Address
		h.mu.Unlock()
		if done {
			continue
		}
		err := errors.Join(
			exec.Command("ip", "addr", "replace", a.Address+"/32", "dev", dev).Run(),
			exec.Command("ip", "route", "replace", a.Subnet, "dev", dev, "src", a.Address).Run(),
		)
		if err != nil {
			h.log.Warn("overlay node address", "network", a.NetworkName, "addr", a.Address, "err", err)
			continue
		}
		h.mu.Lock()
		if on := h.nets[a.Vni]; on != nil {
			on.nodeAddr = a.Address
		}
		h.mu.Unlock()
	}
}

// update takes the networks of the mesh: every network set up here gets
// its endpoints (local ones mapped to this host) and its names.
func (h *overlayHost) update(nets []*swarmv1.MeshNetwork) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = nets
	h.applyLocked()
}

func (h *overlayHost) applyLocked() {
	if h.fwd == nil {
		return
	}
	self := h.selfID()
	peers := map[netip.Addr]bool{}
	for _, n := range h.last {
		on, ok := h.nets[n.Vni]
		if !ok {
			continue
		}
		eps := make(map[netip.Addr]netip.AddrPort, len(n.Endpoints))
		var names []dns.Task
		for _, ep := range n.Endpoints {
			addr, err := netip.ParseAddr(ep.Address)
			if err != nil {
				continue
			}
			names = append(names, dns.Task{Service: ep.ServiceName, Slot: ep.Slot, Name: taskName(ep), Addr: addr})
			if ep.NodeId == self {
				eps[addr] = netip.AddrPort{} // local: the kernel routes it to the task's veth
				continue
			}
			remote, err := netip.ParseAddrPort(ep.NodeAddr)
			if err != nil {
				continue
			}
			eps[addr] = remote
			peers[remote.Addr()] = true
		}
		if err := h.fwd.SetEndpoints(n.Vni, eps); err != nil {
			h.log.Warn("overlay endpoints", "network", n.Name, "err", err)
		}
		on.names.Store(dns.NewTable(names))
	}
	list := make([]netip.Addr, 0, len(peers))
	for p := range peers {
		list = append(list, p)
	}
	if err := h.fwd.SetPeers(list); err != nil {
		h.log.Warn("overlay peers", "err", err)
	}
}

// isolate adds (or removes) the rule that keeps a network's tasks to
// their network: what a task's veth sends outside its subnet is dropped
// before routing, so the host never forwards it to another network's
// tasks (or anywhere else). Its gateway, and so its name server, lies
// inside. The raw table's PREROUTING runs before the FORWARD rules the
// task namespaces add.
func isolate(subnet netip.Prefix, on bool) error {
	rule := []string{"PREROUTING", "-i", "vt+", "-s", subnet.String(), "!", "-d", subnet.String(), "-j", "DROP"}
	if _, err := exec.LookPath("iptables"); err != nil {
		return err
	}
	check := exec.Command("iptables", append([]string{"-w", "-t", "raw", "-C"}, rule...)...).Run() == nil
	var args []string
	switch {
	case on && !check:
		args = append([]string{"-w", "-t", "raw", "-I"}, rule...)
	case !on && check:
		args = append([]string{"-w", "-t", "raw", "-D"}, rule...)
	default:
		return nil
	}
	if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// taskName is a task's name as Swarm's DNS knows it: service.slot.id.
func taskName(ep *swarmv1.MeshEndpoint) string {
	return ep.ServiceName + "." + strconv.FormatUint(ep.Slot, 10) + "." + ep.TaskId
}

// close takes every network down, and the namespaces of the tasks that
// were attached here (they die with swarmd).
func (h *overlayHost) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, name := range h.tasks {
		if err := taskns.Remove(name); err != nil {
			h.log.Warn("task network namespace not removed", "task", id, "err", err)
		}
		_ = os.Remove(filepath.Join(h.dataDir, "tasks", id+".resolv.conf"))
		delete(h.tasks, id)
	}
	for vni, on := range h.nets {
		if on.dns != nil {
			_ = on.dns.Close()
		}
		_ = isolate(on.subnet, false)
		delete(h.nets, vni)
	}
	if h.keeper != nil {
		_ = h.keeper.Close()
		h.keeper = nil
	}
	if h.latency != nil {
		_ = h.latency.Close()
		h.latency = nil
	}
	if h.fwd != nil {
		_ = h.fwd.Close()
		h.fwd = nil
	}
}

// stats returns the forwarder's counters and the low-latency keeper's
// state for /metrics; ok is false while no forwarder runs here.
func (h *overlayHost) stats() (s overlayStats, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.fwd == nil {
		return s, false
	}
	s.fwd = h.fwd.Stats()
	if h.keeper != nil {
		s.lowLatency, s.held, s.holds = true, h.keeper.Held(), h.keeper.Holds()
	}
	return s, true
}

// openLatencyDevice opens the CPU latency QoS device for
// --overlay-low-latency.
func openLatencyDevice() (io.WriteCloser, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("needs swarmd to run as root (" + cpulatency.DevicePath + ")")
	}
	f, err := cpulatency.OpenDevice(cpulatency.DevicePath)
	if err != nil {
		return nil, err // not a nil *os.File in a non-nil interface
	}
	return f, nil
}

// Attach implements task.Networker: the task's networks set up here, then
// its network namespace with one interface per network and a resolv.conf
// naming the first network's name server.
func (h *overlayHost) Attach(_ context.Context, t *swarmv1.Task) (task.NetNS, error) {
	as := t.GetAttachments()
	var cfg taskns.Config
	cfg.Name = nsName(t.Id)
	for _, a := range as {
		if err := h.ensure(a); err != nil {
			return task.NetNS{}, err
		}
		addr, err1 := netip.ParseAddr(a.Address)
		subnet, err2 := netip.ParsePrefix(a.Subnet)
		gw, err3 := netip.ParseAddr(a.Gateway)
		if err := errors.Join(err1, err2, err3); err != nil {
			return task.NetNS{}, fmt.Errorf("attachment to %s: %w", a.NetworkName, err)
		}
		cfg.Attachments = append(cfg.Attachments, taskns.Attachment{Network: a.NetworkName, Addr: addr, Prefix: subnet, Gateway: gw, MTU: overlayMTU})
	}
	ns, err := taskns.Setup(cfg)
	if err != nil {
		return task.NetNS{}, err
	}
	h.mu.Lock()
	h.tasks[t.Id] = cfg.Name
	h.mu.Unlock()
	dir := filepath.Join(h.dataDir, "tasks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		_ = ns.Close()
		return task.NetNS{}, err
	}
	resolv := filepath.Join(dir, t.Id+".resolv.conf")
	conf := "nameserver " + as[0].Gateway + "\noptions ndots:0\n"
	if err := os.WriteFile(resolv, []byte(conf), 0o644); err != nil {
		_ = ns.Close()
		return task.NetNS{}, err
	}
	name, atts := cfg.Name, cfg.Attachments
	join := func(pid int) error { return taskns.MoveInto(name, atts, pid) }
	return task.NetNS{Path: ns.Path(), ResolvConf: resolv, Join: join}, nil
}

// Detach implements task.Networker: the task's namespace and veths go.
func (h *overlayHost) Detach(t *swarmv1.Task) {
	h.mu.Lock()
	delete(h.tasks, t.Id)
	h.mu.Unlock()
	if err := taskns.Remove(nsName(t.Id)); err != nil {
		h.log.Warn("task network namespace not removed", "task", t.Id, "err", err)
	}
	_ = os.Remove(filepath.Join(h.dataDir, "tasks", t.Id+".resolv.conf"))
}

// nsName names a task's network namespace.
func nsName(taskID string) string {
	if len(taskID) > 12 {
		taskID = taskID[:12]
	}
	return "as-" + taskID
}

// RunTaskInit does swarmd's task init step when this process was started
// as one (a task entering its network namespace); it returns otherwise.
func RunTaskInit() { taskns.MaybeRunInit() }
