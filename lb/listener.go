package lb

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// copyChunk is how many bytes one direction of a proxied connection copies
// between two updates of its byte counters, so that long connections show
// their traffic while they last. Each chunk is one splice loop on Linux.
const copyChunk = 256 << 10

// maxAcceptDelay caps the pause after a failed Accept (out of file
// descriptors, say), which would otherwise spin.
const maxAcceptDelay = time.Second

// Listener accepts TCP connections on a published port and proxies each to
// a backend picked by its policy. It is safe for concurrent use: its owner
// changes the backends and options while each connection is served by
// goroutines of its own, which take no lock while they copy.
type Listener struct {
	ln     net.Listener
	pool   *pool
	dialer net.Dialer
	ctx    context.Context // cancelled by Close, ending dials
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{} // accepted connections, for Close
	closed bool

	// Accepted counts the connections accepted; Failed those closed
	// because no backend could be reached.
	Accepted, Failed atomic.Uint64
}

// proxy is one proxied connection, registered with its backend so that a
// drain can close both ends.
type proxy struct{ client, up net.Conn }

// Close closes both ends.
func (p *proxy) Close() error {
	err := p.client.Close()
	if uerr := p.up.Close(); err == nil {
		err = uerr
	}
	return err
}

// Listen starts serving addr (IP:port) with the default options.
func Listen(addr string) (*Listener, error) { return ListenWith(addr, ListenOptions{}) }

// ListenWith starts serving addr (IP:port) with o.
func ListenWith(addr string, o ListenOptions) (*Listener, error) {
	p, err := newPool(o)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := &Listener{ln: ln, pool: p, dialer: net.Dialer{Timeout: DialTimeout}, conns: make(map[net.Conn]struct{})}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	l.wg.Add(1)
	go l.serve()
	return l, nil
}

// Addr is the address the listener serves.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// SetBackends replaces the backends (IP:port). A backend that stays keeps
// its counters and connections. A dropped one takes no new connection from
// the moment SetBackends returns; its open connections go on until they
// end or the drain timeout passes, and are closed then (see Drain).
func (l *Listener) SetBackends(b []string) { l.pool.setBackends(b) }

// Backends returns the current backends.
func (l *Listener) Backends() []string { return l.pool.backends() }

// Drain returns a channel closed once backend is out of the set and no
// connection to it is open: when its connections ended or were closed at
// the drain timeout. For a backend the listener does not know (never set,
// or drained already) the channel is closed at once; for a current one it
// closes only after a SetBackends without it.
func (l *Listener) Drain(backend string) <-chan struct{} { return l.pool.drained(backend) }

// SetPolicy changes the policy of the connections that follow.
func (l *Listener) SetPolicy(policy string) error { return l.pool.setPolicy(policy) }

// SetProxyProtocol turns the PROXY protocol v2 header on or off for the
// connections that follow.
func (l *Listener) SetProxyProtocol(on bool) { l.pool.proxyProtocol.Store(on) }

// SetDrainTimeout changes the drain timeout of the backends removed from
// now on (see ListenOptions.DrainTimeout).
func (l *Listener) SetDrainTimeout(d time.Duration) {
	l.pool.drain.Store(int64(ListenOptions{DrainTimeout: d}.drainTimeout()))
}

// Pick returns the backends in the order to try for the next connection:
// the policy's choice among the backends not suspect, the others in turn,
// then the suspect ones.
func (l *Listener) Pick() []string {
	bs := l.pool.order(nil)
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.addr
	}
	return out
}

// Stats snapshots the listener's counters.
func (l *Listener) Stats() PortStats {
	return l.pool.portStats("tcp", l.ln.Addr(), l.Accepted.Load(), l.Failed.Load())
}

// Close stops accepting and closes the connections in progress, draining
// every backend.
func (l *Listener) Close() error {
	l.mu.Lock()
	l.closed = true
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.cancel()
	err := l.ln.Close()
	l.pool.close()
	l.wg.Wait()
	return err
}

func (l *Listener) serve() {
	defer l.wg.Done()
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			delay = min(max(2*delay, 5*time.Millisecond), maxAcceptDelay)
			select {
			case <-time.After(delay):
			case <-l.ctx.Done():
				return
			}
			continue
		}
		delay = 0
		l.Accepted.Add(1)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.handle(c)
		}()
	}
}

func (l *Listener) track(c net.Conn, on bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if on {
		if l.closed {
			return false
		}
		l.conns[c] = struct{}{}
		return true
	}
	delete(l.conns, c)
	return true
}

// handle dials the backends in the pool's order until one answers and
// proxies c to it. A failed dial makes the backend suspect.
func (l *Listener) handle(c net.Conn) {
	defer c.Close()
	if !l.track(c, true) {
		return
	}
	defer l.track(c, false)
	var buf [8]*backend
	// When every backend refuses, the set is likely moving (a task that
	// just started is not listening yet, the one it replaces has left):
	// the client waits a little and the set is tried again.
	for wait := retryFirst; ; wait *= 2 {
		for _, b := range l.pool.order(buf[:0]) {
			up, err := l.dialer.DialContext(l.ctx, "tcp", b.addr)
			if err != nil {
				if l.ctx.Err() != nil {
					return
				}
				l.pool.dialFailed(b)
				continue
			}
			l.pool.dialed(b)
			p := &proxy{client: c, up: up}
			if !b.acquire(p) {
				// Removed while we dialed: it takes no new connection.
				up.Close()
				continue
			}
			l.proxy(p, b)
			l.pool.release(b, p)
			return
		}
		if wait > retryLast {
			break
		}
		select {
		case <-l.ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	l.Failed.Add(1)
}

// A client whose connection no backend took is held while the set is
// tried again after retryFirst, then twice as long each time, the last
// wait retryLast: about 1.5 s in all.
const (
	retryFirst = 25 * time.Millisecond
	retryLast  = 800 * time.Millisecond
)

// proxy copies both ways until both are done, then closes the backend's
// end. Between two *net.TCPConn the copies are splices.
func (l *Listener) proxy(p *proxy, b *backend) {
	defer p.up.Close()
	if l.pool.proxyProtocol.Load() {
		var buf [ProxyV2MaxLen]byte
		hdr, err := AppendProxyV2(buf[:0], p.client.RemoteAddr(), p.client.LocalAddr())
		if err != nil {
			return
		}
		if _, err := p.up.Write(hdr); err != nil {
			return
		}
	}
	done := make(chan struct{})
	go func() {
		pipe(p.up, p.client, &b.bytesIn, &l.pool.bytesIn)
		closeWrite(p.up)
		close(done)
	}()
	pipe(p.client, p.up, &b.bytesOut, &l.pool.bytesOut)
	closeWrite(p.client)
	<-done
}

// pipe copies src to dst until EOF or an error, counting the bytes in
// chunks. The limited reader keeps *net.TCPConn's splice path: ReadFrom
// looks through an *io.LimitedReader.
func pipe(dst, src net.Conn, backend, port *atomic.Uint64) {
	lr := &io.LimitedReader{R: src}
	for {
		lr.N = copyChunk
		n, err := io.Copy(dst, lr)
		backend.Add(uint64(n))
		port.Add(uint64(n))
		if err != nil || n < copyChunk {
			return
		}
	}
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
