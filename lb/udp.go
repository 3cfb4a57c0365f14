package lb

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// maxDatagram is the largest UDP payload the listener forwards.
const maxDatagram = 64 << 10

// UDPListener forwards the datagrams of a published UDP port. Each client
// address (IP:port) has a session: a connected socket to one backend,
// picked by the policy when the session starts, whose replies go back to
// the client from the listening socket. A session ends after the idle
// timeout without a datagram either way, when its backend is removed, or
// when its socket fails (an ICMP port unreachable, say: the backend is
// then suspect); the client's next datagram starts a new one.
//
// One goroutine reads the listening socket and one per session reads the
// backend's replies; a sweeper ends idle sessions. It is safe for
// concurrent use. The steady state allocates nothing per datagram: the
// reader owns one buffer, reply buffers come from a pool and are held only
// while replies are queued.
type UDPListener struct {
	conn  *net.UDPConn
	local netip.AddrPort // the PROXY header's destination
	pool  *pool
	idle  int64 // ns
	bufs  sync.Pool
	done  chan struct{} // closed by Close, stops the sweeper
	wg    sync.WaitGroup

	mu       sync.Mutex
	sessions map[netip.AddrPort]*session
	closed   bool

	// Accepted counts the sessions started; Failed the datagrams dropped
	// because no backend could take a new session.
	Accepted, Failed atomic.Uint64
}

// session is one client's flow to its backend; it is registered with the
// backend so that removing the backend ends it.
type session struct {
	l      *UDPListener
	client netip.AddrPort
	b      *backend
	up     *net.UDPConn
	// loose is set for a backend on a loopback address other than
	// 127.0.0.1: a server bound to all addresses answers it from
	// 127.0.0.1, which a connected socket would drop. Its socket is left
	// unconnected and takes replies from any loopback address with the
	// backend's port.
	loose  bool
	dst    netip.AddrPort
	hdr    []byte       // PROXY v2 header put ahead of each datagram, or nil
	last   atomic.Int64 // pool time of the last datagram either way
	closed atomic.Bool  // ended: no datagram goes on it
}

// Close ends the session; its reply goroutine cleans up.
func (s *session) Close() error {
	s.closed.Store(true)
	return s.up.Close()
}

// ListenUDP starts serving the UDP port addr (IP:port) with o. Sessions
// end with their backend, so o.DrainTimeout does not apply. With
// o.ProxyProtocol every datagram to a backend starts with a PROXY v2
// header whose destination is the listening address (0.0.0.0 or :: when
// the listener is bound to all addresses).
func ListenUDP(addr string, o ListenOptions) (*UDPListener, error) {
	p, err := newPool(o)
	if err != nil {
		return nil, err
	}
	p.drain.Store(-1)
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, err
	}
	l := &UDPListener{
		conn:     conn,
		local:    conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		pool:     p,
		idle:     int64(o.idleTimeout()),
		done:     make(chan struct{}),
		sessions: make(map[netip.AddrPort]*session),
	}
	l.bufs.New = func() any {
		b := make([]byte, maxDatagram)
		return &b
	}
	l.wg.Add(2)
	go l.serve()
	go l.sweep(o.idleTimeout())
	return l, nil
}

// Addr is the address the listener serves.
func (l *UDPListener) Addr() net.Addr { return l.conn.LocalAddr() }

// SetBackends replaces the backends (IP:port). The sessions of a dropped
// backend end at once.
func (l *UDPListener) SetBackends(b []string) { l.pool.setBackends(b) }

// Backends returns the current backends.
func (l *UDPListener) Backends() []string { return l.pool.backends() }

// Drain returns a channel closed once backend is out of the set and its
// sessions have ended (see Listener.Drain).
func (l *UDPListener) Drain(backend string) <-chan struct{} { return l.pool.drained(backend) }

// SetPolicy changes the policy of the sessions that follow.
func (l *UDPListener) SetPolicy(policy string) error { return l.pool.setPolicy(policy) }

// SetProxyProtocol turns the PROXY v2 header on or off for the sessions
// that follow.
func (l *UDPListener) SetProxyProtocol(on bool) { l.pool.proxyProtocol.Store(on) }

// Stats snapshots the listener's counters; a backend's active count is
// its sessions.
func (l *UDPListener) Stats() PortStats {
	return l.pool.portStats("udp", l.conn.LocalAddr(), l.Accepted.Load(), l.Failed.Load())
}

// Close stops serving and ends every session.
func (l *UDPListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return net.ErrClosed
	}
	l.closed = true
	for _, s := range l.sessions {
		s.Close()
	}
	l.mu.Unlock()
	close(l.done)
	err := l.conn.Close()
	l.pool.close()
	l.wg.Wait()
	return err
}

// serve reads the clients' datagrams into one buffer with room for a
// PROXY header in front, and sends each on its client's session.
func (l *UDPListener) serve() {
	defer l.wg.Done()
	buf := make([]byte, ProxyV2MaxLen+maxDatagram)
	for {
		n, from, err := l.conn.ReadFromUDPAddrPort(buf[ProxyV2MaxLen:])
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		s := l.session(from)
		if s == nil {
			l.Failed.Add(1)
			continue
		}
		s.send(buf, n)
	}
}

// session returns the live session of client, starting one if need be; nil
// if no backend can take it.
func (l *UDPListener) session(client netip.AddrPort) *session {
	now := l.pool.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.sessions[client]; s != nil && !s.closed.Load() {
		s.last.Store(now)
		return s
	}
	if l.closed {
		return nil
	}
	s := l.open(client)
	if s == nil {
		return nil
	}
	s.last.Store(now)
	l.sessions[client] = s
	l.Accepted.Add(1)
	return s
}

// open starts a session to the first backend in the pool's order that
// takes it. A UDP dial sends nothing, so it proves nothing: a backend is
// suspect only when its socket fails, and cleared by its first reply.
func (l *UDPListener) open(client netip.AddrPort) *session {
	var hdr []byte
	if l.pool.proxyProtocol.Load() {
		var err error
		if hdr, err = appendProxyV2(nil, client, l.local, true); err != nil {
			return nil
		}
	}
	var buf [8]*backend
	for _, b := range l.pool.order(buf[:0]) {
		dst, err := netip.ParseAddrPort(b.addr)
		if err != nil {
			l.pool.dialFailed(b)
			continue
		}
		dst = netip.AddrPortFrom(dst.Addr().Unmap(), dst.Port())
		loose := dst.Addr().IsLoopback() && dst.Addr() != netip.AddrFrom4([4]byte{127, 0, 0, 1})
		var c *net.UDPConn
		if loose {
			c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		} else {
			c, err = net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		}
		if err != nil {
			l.pool.dialFailed(b)
			continue
		}
		s := &session{l: l, client: client, b: b, up: c, loose: loose, dst: dst, hdr: hdr}
		if !b.acquire(s) {
			c.Close()
			continue
		}
		l.wg.Add(1)
		go l.replies(s)
		return s
	}
	return nil
}

// send forwards the datagram in buf[ProxyV2MaxLen:][:n], after the PROXY
// header if the session has one, written into the room in front.
func (s *session) send(buf []byte, n int) {
	start := ProxyV2MaxLen - len(s.hdr)
	copy(buf[start:], s.hdr)
	var err error
	if s.loose {
		_, err = s.up.WriteToUDPAddrPort(buf[start:ProxyV2MaxLen+n], s.dst)
	} else {
		_, err = s.up.Write(buf[start : ProxyV2MaxLen+n])
	}
	if err != nil {
		s.l.failed(s)
		return
	}
	s.b.bytesIn.Add(uint64(n))
	s.l.pool.bytesIn.Add(uint64(n))
}

// fromBackend reports whether a datagram from addr on a loose session's
// socket is the backend's answer.
func (s *session) fromBackend(addr netip.AddrPort) bool {
	return addr.Port() == s.dst.Port() && addr.Addr().Unmap().IsLoopback()
}

// reply sends one datagram of the backend back to the client.
func (s *session) reply(p []byte) {
	s.last.Store(s.l.pool.now())
	s.l.pool.dialed(s.b)
	if _, err := s.l.conn.WriteToUDPAddrPort(p, s.client); err != nil {
		return
	}
	s.b.bytesOut.Add(uint64(len(p)))
	s.l.pool.bytesOut.Add(uint64(len(p)))
}

// failed ends s after its socket failed and makes its backend suspect.
func (l *UDPListener) failed(s *session) {
	if !s.closed.Swap(true) {
		l.pool.dialFailed(s.b)
		s.up.Close()
	}
}

// replies forwards the backend's datagrams until the session ends, then
// forgets it.
func (l *UDPListener) replies(s *session) {
	defer l.wg.Done()
	if err := s.readReplies(); err != nil && !errors.Is(err, net.ErrClosed) {
		l.failed(s)
	}
	s.Close()
	l.mu.Lock()
	if l.sessions[s.client] == s {
		delete(l.sessions, s.client)
	}
	l.mu.Unlock()
	l.pool.release(s.b, s)
}

func (l *UDPListener) sweep(idle time.Duration) {
	defer l.wg.Done()
	t := time.NewTicker(min(max(idle/4, 10*time.Millisecond), 5*time.Second))
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
			l.expire()
		}
	}
}

// expire ends the sessions idle for the idle timeout or longer.
func (l *UDPListener) expire() {
	now := l.pool.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for client, s := range l.sessions {
		if now-s.last.Load() >= l.idle {
			s.Close()
			delete(l.sessions, client)
		}
	}
}
