// Package rafttransport carries Raft messages and snapshot chunks between
// dragonboat NodeHosts over (mutual TLS) TCP. It exists for one reason:
// a sending connection notices at once when its peer goes away (a
// goroutine reads from it and sees the close), and the next send dials the
// peer again instead of writing into a dead connection. A manager that was
// killed and restarted is then reachable from the first message, where a
// transport that learns of the dead connection only from a failed write
// loses a batch and holds back its messages to that peer for a while,
// which stalled elections for seconds after a manager restart.
//
// Wire format, both kinds of connection: frames of a 1-byte kind, a 4-byte
// big-endian length and that many bytes of a marshalled raftpb
// MessageBatch (kind 1) or Chunk (kind 2). It owns nothing else: the
// Raft layer above checks deployment IDs and replays what was lost.
package rafttransport

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorswarm/swarm/internal/tcpopt"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// Frame kinds.
const (
	kindBatch = 1
	kindChunk = 2
)

// Limits and times.
const (
	// maxFrame bounds a frame a peer may send: snapshot chunks are a few
	// MB, message batches smaller.
	maxFrame = 256 << 20
	// dialTimeout bounds a connection attempt.
	dialTimeout = 2 * time.Second
	// writeTimeout bounds one frame's write.
	writeTimeout = 10 * time.Second
)

// Factory creates transports; it is a config.TransportFactory.
type Factory struct {
	// Log receives accept and decode errors; nil discards them.
	Log *slog.Logger
}

var _ config.TransportFactory = Factory{}

// Create implements config.TransportFactory.
func (f Factory) Create(nhc config.NodeHostConfig, mh raftio.MessageHandler, ch raftio.ChunkHandler) raftio.ITransport {
	log := f.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Transport{cfg: nhc, onBatch: mh, onChunk: ch, log: log, conns: make(map[net.Conn]struct{})}
}

// Validate implements config.TransportFactory: addresses are host:port.
func (Factory) Validate(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	return err == nil && host != "" && port != ""
}

// Transport is one NodeHost's side: a listener for its peers' connections
// and the connections it opens to them.
type Transport struct {
	cfg     config.NodeHostConfig
	onBatch raftio.MessageHandler
	onChunk raftio.ChunkHandler
	log     *slog.Logger

	ln     net.Listener
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]struct{} // accepted, open
	closed bool
}

var _ raftio.ITransport = (*Transport)(nil)

// Name implements raftio.ITransport.
func (t *Transport) Name() string { return "actorswarm-tcp" }

// Start implements raftio.ITransport: it listens on the listen address.
func (t *Transport) Start() error {
	ln, err := net.Listen("tcp", t.cfg.GetListenAddress())
	if err != nil {
		return err
	}
	tc, err := t.cfg.GetServerTLSConfig()
	if err != nil {
		ln.Close()
		return err
	}
	if tc != nil {
		ln = tls.NewListener(ln, tc)
	}
	t.ln = ln
	t.wg.Add(1)
	go t.accept()
	return nil
}

func (t *Transport) accept() {
	defer t.wg.Done()
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !t.track(c, true) {
			c.Close()
			return
		}
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			defer t.track(c, false)
			defer c.Close()
			if err := t.serve(c); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				t.log.Debug("raft transport: connection ends", "peer", c.RemoteAddr(), "err", err)
			}
		}()
	}
}

func (t *Transport) track(c net.Conn, on bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if on {
		if t.closed {
			return false
		}
		t.conns[c] = struct{}{}
		return true
	}
	delete(t.conns, c)
	return true
}

// serve reads frames from an accepted connection and hands them up.
func (t *Transport) serve(c net.Conn) error {
	r := bufio.NewReaderSize(c, 64<<10)
	for {
		// A fresh buffer per frame: what is unmarshalled from it may
		// keep pointing into it.
		kind, payload, err := readFrame(r, nil)
		if err != nil {
			return err
		}
		switch kind {
		case kindBatch:
			var mb pb.MessageBatch
			if err := mb.Unmarshal(payload); err != nil {
				return fmt.Errorf("bad message batch: %w", err)
			}
			t.onBatch(mb)
		case kindChunk:
			var ck pb.Chunk
			if err := ck.Unmarshal(payload); err != nil {
				return fmt.Errorf("bad snapshot chunk: %w", err)
			}
			if !t.onChunk(ck) {
				return errors.New("snapshot chunk refused")
			}
		default:
			return fmt.Errorf("unknown frame kind %d", kind)
		}
	}
}

// Close implements raftio.ITransport.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	var err error
	if t.ln != nil {
		err = t.ln.Close()
	}
	t.wg.Wait()
	return err
}

// GetConnection implements raftio.ITransport.
func (t *Transport) GetConnection(ctx context.Context, target string) (raftio.IConnection, error) {
	c, err := t.dial(ctx, target)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// GetSnapshotConnection implements raftio.ITransport.
func (t *Transport) GetSnapshotConnection(ctx context.Context, target string) (raftio.ISnapshotConnection, error) {
	c, err := t.dial(ctx, target)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// dial opens a sending connection to target.
func (t *Transport) dial(ctx context.Context, target string) (*conn, error) {
	c := &conn{t: t, target: target}
	if err := c.open(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// conn is a sending connection. A goroutine reads from it: peers never
// write on it, so the read ends only when the peer closed it (or died and
// its kernel reset it); the connection is then marked dead, and the next
// send dials again.
type conn struct {
	t      *Transport
	target string

	mu   sync.Mutex
	c    net.Conn
	w    *bufio.Writer
	dead *atomic.Bool
	buf  []byte
}

func (c *conn) open(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	nc, err := tcpopt.DialContext(ctx, c.target)
	if err != nil {
		return err
	}
	tc, err := c.t.cfg.GetClientTLSConfig(c.target)
	if err != nil {
		nc.Close()
		return err
	}
	if tc != nil {
		tlc := tls.Client(nc, tc)
		if err := tlc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return err
		}
		nc = tlc
	}
	dead := &atomic.Bool{}
	go func() {
		var one [1]byte
		_, _ = nc.Read(one[:]) // returns when the peer or we close it
		dead.Store(true)
	}()
	c.c, c.w, c.dead = nc, bufio.NewWriterSize(nc, 64<<10), dead
	return nil
}

// send writes one frame, dialling again first when the connection died,
// and once more when the write fails on a connection that looked alive.
func (c *conn) send(kind byte, size int, marshal func([]byte) (int, error)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cap(c.buf) < size {
		c.buf = make([]byte, size)
	}
	n, err := marshal(c.buf[:size])
	if err != nil {
		return err
	}
	payload := c.buf[:n]
	for attempt := 0; ; attempt++ {
		if c.c == nil || c.dead.Load() {
			if c.c != nil {
				c.c.Close()
			}
			if err := c.open(context.Background()); err != nil {
				c.c = nil
				return err
			}
		}
		err := c.write(kind, payload)
		if err == nil {
			return nil
		}
		c.c.Close()
		c.c = nil
		if attempt > 0 {
			return err
		}
	}
}

func (c *conn) write(kind byte, payload []byte) error {
	_ = c.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	var head [5]byte
	head[0] = kind
	binary.BigEndian.PutUint32(head[1:], uint32(len(payload)))
	if _, err := c.w.Write(head[:]); err != nil {
		return err
	}
	if _, err := c.w.Write(payload); err != nil {
		return err
	}
	return c.w.Flush()
}

// SendMessageBatch implements raftio.IConnection.
func (c *conn) SendMessageBatch(b pb.MessageBatch) error {
	return c.send(kindBatch, b.Size(), b.MarshalTo)
}

// SendChunk implements raftio.ISnapshotConnection.
func (c *conn) SendChunk(ck pb.Chunk) error {
	return c.send(kindChunk, ck.Size(), ck.MarshalTo)
}

// Close implements raftio.IConnection.
func (c *conn) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// readFrame reads one frame into buf (grown as needed).
func readFrame(r io.Reader, buf []byte) (byte, []byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(head[1:])
	if n > maxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes: at most %d", n, maxFrame)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return head[0], buf, nil
}
