package lb

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// DialTimeout bounds the dial of one backend before the next is tried.
const DialTimeout = time.Second

// Listener accepts connections on a published port and proxies each to a
// backend.
type Listener struct {
	ln       net.Listener
	backends atomic.Pointer[[]string]
	next     atomic.Uint64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
	// Counters for metrics.
	Accepted, Failed atomic.Uint64
}

// Listen starts serving addr (IP:port).
func Listen(addr string) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := &Listener{ln: ln, conns: make(map[net.Conn]struct{})}
	empty := []string{}
	l.backends.Store(&empty)
	l.wg.Add(1)
	go l.serve()
	return l, nil
}

// Addr is the address the listener serves.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// SetBackends replaces the backends (IP:port); connections in progress go
// on.
func (l *Listener) SetBackends(b []string) {
	cp := append([]string(nil), b...)
	l.backends.Store(&cp)
}

// Backends returns the current backends.
func (l *Listener) Backends() []string { return *l.backends.Load() }

// Close stops accepting and closes the connections in progress.
func (l *Listener) Close() error {
	l.mu.Lock()
	l.closed = true
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	err := l.ln.Close()
	l.wg.Wait()
	return err
}

func (l *Listener) serve() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
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

// Pick returns the backends in the order to try for the next connection:
// round-robin, then the others in turn.
func (l *Listener) Pick() []string {
	b := *l.backends.Load()
	if len(b) == 0 {
		return nil
	}
	start := int(l.next.Add(1)-1) % len(b)
	out := make([]string, 0, len(b))
	for i := range b {
		out = append(out, b[(start+i)%len(b)])
	}
	return out
}

func (l *Listener) handle(c net.Conn) {
	defer c.Close()
	if !l.track(c, true) {
		return
	}
	defer l.track(c, false)
	var up net.Conn
	for _, be := range l.Pick() {
		d, err := net.DialTimeout("tcp", be, DialTimeout)
		if err == nil {
			up = d
			break
		}
	}
	if up == nil {
		l.Failed.Add(1)
		return
	}
	defer up.Close()
	if !l.track(up, true) {
		return
	}
	defer l.track(up, false)
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, c)
		closeWrite(up)
		close(done)
	}()
	_, _ = io.Copy(c, up)
	closeWrite(c)
	<-done
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}
