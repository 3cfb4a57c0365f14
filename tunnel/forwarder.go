package tunnel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
)

// Defaults for the zero fields of a Config.
const (
	DefaultMTU          = 1450
	DefaultUnderlayMTU  = 1500
	DefaultBatchSize    = 32
	DefaultSocketBuffer = 4 << 20
)

// underlayOverhead is what encapsulation adds to an inner packet on the
// underlay: IPv4, UDP, VXLAN and Ethernet headers.
const underlayOverhead = ipv4MinHeaderLen + udpHeaderLen + HeaderLen

// Forwarder errors.
var (
	ErrClosed         = errors.New("tunnel: forwarder closed")
	ErrNetworkExists  = errors.New("tunnel: network already added")
	ErrUnknownNetwork = errors.New("tunnel: no such network")
)

// Config configures a Forwarder.
type Config struct {
	// ListenAddr is the IPv4 address and UDP port the forwarder receives
	// datagrams on and sends them from (DefaultPort on a real host; port 0
	// picks a free port).
	ListenAddr netip.AddrPort
	// Peers are the underlay IPv4 addresses of the cluster's nodes.
	// Datagrams from any other source are dropped. SetPeers replaces them.
	Peers []netip.Addr
	// MTU is the largest inner packet: no TUN device given to the forwarder
	// may have a larger MTU. Zero means DefaultMTU; at most MaxMTU. A
	// datagram larger than the underlay's MTU is fragmented by the kernel,
	// except TCP from a queue with offloads (see UnderlayMTU).
	MTU int
	// UnderlayMTU is the MTU of the underlay's links. A TCP packet read from
	// a queue with offloads (OffloadQueue) that would not fit it once
	// encapsulated, a super-segment or a large segment, is cut into TCP
	// segments that do, so that the underlay never fragments TCP. Zero means
	// DefaultUnderlayMTU.
	UnderlayMTU int
	// BatchSize is how many packets a loop moves per system call at most.
	// Zero means DefaultBatchSize.
	BatchSize int
	// Readers is the number of goroutines reading the UDP socket. Zero
	// means one.
	Readers int
	// SocketBuffer is the size asked for the socket's send and receive
	// buffers. Zero means DefaultSocketBuffer.
	SocketBuffer int
	// DisableGSO turns off UDP generic segmentation offload on the send
	// path (it turns itself off for datagram sizes the kernel refuses).
	DisableGSO bool
	// Logger receives lifecycle events and loop failures, never per-packet
	// logs. Nil discards them.
	Logger *slog.Logger
}

// Validate reports the first field that is out of range.
func (c Config) Validate() error {
	switch {
	case !c.ListenAddr.Addr().Unmap().Is4():
		return fmt.Errorf("tunnel config: listen address %s: %w", c.ListenAddr, ErrAddress)
	case c.MTU < 0 || c.MTU > MaxMTU || (c.MTU > 0 && c.MTU < ipv4MinHeaderLen):
		return fmt.Errorf("tunnel config: MTU %d out of range [%d, %d]", c.MTU, ipv4MinHeaderLen, MaxMTU)
	case c.BatchSize < 0 || c.Readers < 0 || c.SocketBuffer < 0:
		return errors.New("tunnel config: negative BatchSize, Readers or SocketBuffer")
	case c.UnderlayMTU != 0 && (c.UnderlayMTU < 576 || c.UnderlayMTU > 65535):
		return fmt.Errorf("tunnel config: UnderlayMTU %d out of range [576, 65535]", c.UnderlayMTU)
	}
	for _, p := range c.Peers {
		if !p.Unmap().Is4() {
			return fmt.Errorf("tunnel config: peer %s: %w", p, ErrAddress)
		}
	}
	return nil
}

func (c Config) withDefaults() Config {
	c.ListenAddr = netip.AddrPortFrom(c.ListenAddr.Addr().Unmap(), c.ListenAddr.Port())
	if c.MTU == 0 {
		c.MTU = DefaultMTU
	}
	if c.UnderlayMTU == 0 {
		c.UnderlayMTU = DefaultUnderlayMTU
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.Readers == 0 {
		c.Readers = 1
	}
	if c.SocketBuffer == 0 {
		c.SocketBuffer = DefaultSocketBuffer
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Forwarder is one host's overlay data path: one UDP socket on the
// underlay and, per overlay network, the queues of that network's TUN
// device. See the package documentation for its goroutines.
//
// All methods are safe for concurrent use. The network set, the endpoint
// tables and the peer set are immutable values swapped atomically, so the
// packet loops read them without locks; the mutex only serialises the
// methods that change the network set.
type Forwarder struct {
	cfg  Config
	log  *slog.Logger
	conn *net.UDPConn
	rc   syscall.RawConn
	addr netip.AddrPort
	// maxInner is the largest inner packet that crosses the underlay
	// unfragmented.
	maxInner int
	pool     *bufPool
	table    Table
	peers    peerSet
	ctr      counters
	// gsoLimit is the largest datagram that is sent with UDP GSO; 0 when
	// GSO is off.
	gsoLimit atomic.Int64

	mu      sync.Mutex
	closed  bool
	nets    atomic.Pointer[map[uint32]*network]
	closing atomic.Bool
	wg      sync.WaitGroup
}

// network is one overlay network's queues; its loops run until stop.
type network struct {
	vni      uint32
	queues   []*queue
	stopping atomic.Bool
	wg       sync.WaitGroup
}

// NewForwarder opens the UDP socket (in the network namespace of the
// calling thread) and starts the goroutines that read it.
func NewForwarder(cfg Config) (*Forwarder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := platformCheck(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	lc := net.ListenConfig{Control: socketControl(cfg.SocketBuffer)}
	pconn, err := lc.ListenPacket(context.Background(), "udp4", cfg.ListenAddr.String())
	if err != nil {
		return nil, fmt.Errorf("tunnel: listen %s: %w", cfg.ListenAddr, err)
	}
	conn := pconn.(*net.UDPConn)
	rc, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("tunnel: listen %s: %w", cfg.ListenAddr, err)
	}
	f := &Forwarder{
		cfg:      cfg,
		log:      cfg.Logger,
		conn:     conn,
		rc:       rc,
		addr:     conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		maxInner: cfg.UnderlayMTU - underlayOverhead,
		pool:     newBufPool(),
	}
	f.nets.Store(&map[uint32]*network{})
	if gsoSupported && !cfg.DisableGSO {
		f.gsoLimit.Store(HeaderLen + int64(cfg.MTU))
	}
	if err := f.peers.set(cfg.Peers); err != nil {
		conn.Close()
		return nil, err
	}
	f.wg.Add(cfg.Readers)
	for range cfg.Readers {
		go f.runUDP()
	}
	f.log.Info("tunnel forwarder started", "addr", f.addr, "mtu", cfg.MTU)
	return f, nil
}

// Addr returns the address the UDP socket is bound to.
func (f *Forwarder) Addr() netip.AddrPort { return f.addr }

// AddNetwork starts forwarding for network vni through the queues of its
// TUN device (one queue, or several of a multi-queue device): a goroutine
// per queue reads packets from it, and received datagrams are written to
// one of them. On success the forwarder owns the queues and closes them in
// RemoveNetwork or Close; on error the caller keeps them.
func (f *Forwarder) AddNetwork(vni uint32, queues ...io.ReadWriteCloser) error {
	if vni > MaxVNI {
		return ErrVNI
	}
	if len(queues) == 0 {
		return fmt.Errorf("tunnel: network %d: no TUN queue", vni)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return ErrClosed
	}
	cur := *f.nets.Load()
	if _, ok := cur[vni]; ok {
		return fmt.Errorf("network %d: %w", vni, ErrNetworkExists)
	}
	n := &network{vni: vni}
	for _, dev := range queues {
		n.queues = append(n.queues, newQueue(dev))
	}
	next := maps.Clone(cur)
	next[vni] = n
	f.nets.Store(&next)
	// The loops count in f.wg too, so that Close also waits for those of a
	// network that a concurrent RemoveNetwork is stopping.
	n.wg.Add(len(n.queues))
	f.wg.Add(len(n.queues))
	for _, q := range n.queues {
		go f.runTUN(n, q)
	}
	f.log.Info("tunnel network added", "vni", vni, "queues", len(queues))
	return nil
}

// RemoveNetwork stops forwarding for network vni, forgets its endpoints,
// closes its queues and returns once its goroutines have stopped. Datagrams
// for vni are dropped as UnknownVNI from then on.
func (f *Forwarder) RemoveNetwork(vni uint32) error {
	f.mu.Lock()
	cur := *f.nets.Load()
	n, ok := cur[vni]
	if !ok {
		f.mu.Unlock()
		return fmt.Errorf("network %d: %w", vni, ErrUnknownNetwork)
	}
	next := maps.Clone(cur)
	delete(next, vni)
	f.nets.Store(&next)
	f.table.Delete(vni)
	f.mu.Unlock()
	err := n.stop()
	f.log.Info("tunnel network removed", "vni", vni)
	return err
}

// SetEndpoints replaces the endpoint table of network vni with m (see
// NewEndpoints for what it may hold). The network need not be added yet.
// Packets already being forwarded may still use the previous table.
func (f *Forwarder) SetEndpoints(vni uint32, m map[netip.Addr]netip.AddrPort) error {
	if vni > MaxVNI {
		return ErrVNI
	}
	eps, err := NewEndpoints(m)
	if err != nil {
		return fmt.Errorf("network %d: %w", vni, err)
	}
	f.table.Set(vni, eps)
	return nil
}

// SetPeers replaces the set of underlay addresses datagrams are accepted
// from. An empty set drops every datagram.
func (f *Forwarder) SetPeers(peers []netip.Addr) error {
	return f.peers.set(peers)
}

// Stats returns the counters. They are read one by one, not as an atomic
// snapshot.
func (f *Forwarder) Stats() Stats { return f.ctr.snapshot() }

// Close closes the socket and every network's queues and returns once all
// the forwarder's goroutines have stopped. Calling it again does nothing.
func (f *Forwarder) Close() error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	nets := *f.nets.Load()
	f.nets.Store(&map[uint32]*network{})
	f.mu.Unlock()

	f.closing.Store(true)
	errs := []error{f.conn.Close()}
	for _, n := range nets {
		errs = append(errs, n.stop())
	}
	f.wg.Wait()
	f.log.Info("tunnel forwarder closed", "addr", f.addr)
	return errors.Join(errs...)
}

func (n *network) stop() error {
	n.stopping.Store(true)
	var errs []error
	for _, q := range n.queues {
		if err := q.dev.Close(); err != nil {
			errs = append(errs, fmt.Errorf("network %d: close queue: %w", n.vni, err))
		}
	}
	n.wg.Wait()
	return errors.Join(errs...)
}

// queueFor picks the queue a received packet is written to, by its
// addresses, so that one flow keeps one queue.
func (n *network) queueFor(inner []byte) *queue {
	if len(n.queues) == 1 {
		return n.queues[0]
	}
	h := uint32(0)
	for _, b := range inner[12:20] {
		h = h*31 + uint32(b)
	}
	return n.queues[h%uint32(len(n.queues))]
}
