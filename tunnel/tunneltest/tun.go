// Package tunneltest provides fakes for testing code that uses package
// tunnel without root: an in-memory TUN queue and a builder of IPv4 packets.
package tunneltest

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"
)

// ErrClosed is returned by a closed TUN.
var ErrClosed = errors.New("tunneltest: TUN closed")

// TUN is an in-memory TUN queue, an io.ReadWriteCloser like one queue of a
// real device. Packets passed to Inject are what Read returns, one per call;
// packets the code under test writes are delivered, copied, on Written.
// Close unblocks Read, Write and Inject. All methods are safe for
// concurrent use.
type TUN struct {
	in      chan []byte
	out     chan []byte
	done    chan struct{}
	closeMu sync.Once
}

// NewTUN returns a TUN that buffers up to n packets each way.
func NewTUN(n int) *TUN {
	return &TUN{
		in:   make(chan []byte, n),
		out:  make(chan []byte, n),
		done: make(chan struct{}),
	}
}

// Inject queues pkt (copied) to be read by the code under test. It blocks
// while the queue is full.
func (t *TUN) Inject(pkt []byte) error {
	select {
	case t.in <- append([]byte(nil), pkt...):
		return nil
	case <-t.done:
		return ErrClosed
	}
}

// Written delivers the packets written to the TUN, in order.
func (t *TUN) Written() <-chan []byte { return t.out }

// Read returns the next injected packet, truncated to len(p) as a real TUN
// would.
func (t *TUN) Read(p []byte) (int, error) {
	select {
	case pkt := <-t.in:
		return copy(p, pkt), nil
	case <-t.done:
		return 0, ErrClosed
	}
}

// BatchTUN is a TUN that also implements tunnel.BatchReader, as a real
// TUN queue does inside the forwarder: ReadBatch returns every packet that
// is queued, up to the batch size.
type BatchTUN struct{ *TUN }

// Batched returns t with a ReadBatch method.
func (t *TUN) Batched() BatchTUN { return BatchTUN{t} }

// ReadBatch blocks for one injected packet, then takes those already
// queued, copying each into bufs[i][offset:].
func (t BatchTUN) ReadBatch(bufs [][]byte, offset int, sizes []int) (int, error) {
	select {
	case pkt := <-t.in:
		sizes[0] = copy(bufs[0][offset:], pkt)
	case <-t.done:
		return 0, ErrClosed
	}
	n := 1
	for n < len(bufs) {
		select {
		case pkt := <-t.in:
			sizes[n] = copy(bufs[n][offset:], pkt)
			n++
		default:
			return n, nil
		}
	}
	return n, nil
}

// Write records a copy of p; it blocks while Written is full.
func (t *TUN) Write(p []byte) (int, error) {
	select {
	case <-t.done:
		return 0, ErrClosed
	default:
	}
	select {
	case t.out <- append([]byte(nil), p...):
		return len(p), nil
	case <-t.done:
		return 0, ErrClosed
	}
}

// Close closes the TUN; it may be called more than once.
func (t *TUN) Close() error {
	t.closeMu.Do(func() { close(t.done) })
	return nil
}

// Closed reports whether Close was called.
func (t *TUN) Closed() bool {
	select {
	case <-t.done:
		return true
	default:
		return false
	}
}

// IPv4 returns a well-formed IPv4 packet from src to dst with the given
// protocol number and payload, header checksum set.
func IPv4(src, dst netip.Addr, proto byte, payload []byte) []byte {
	p := make([]byte, 20+len(payload))
	p[0] = 0x45
	binary.BigEndian.PutUint16(p[2:4], uint16(len(p)))
	p[8] = 64
	p[9] = proto
	s, d := src.As4(), dst.As4()
	copy(p[12:16], s[:])
	copy(p[16:20], d[:])
	binary.BigEndian.PutUint16(p[10:12], checksum(p[:20]))
	copy(p[20:], payload)
	return p
}

// Ping returns an ICMP echo request from src to dst with sequence number
// seq and the given data.
func Ping(src, dst netip.Addr, seq uint16, data []byte) []byte {
	icmp := make([]byte, 8+len(data))
	icmp[0] = 8
	binary.BigEndian.PutUint16(icmp[4:6], 1)
	binary.BigEndian.PutUint16(icmp[6:8], seq)
	copy(icmp[8:], data)
	binary.BigEndian.PutUint16(icmp[2:4], checksum(icmp))
	return IPv4(src, dst, 1, icmp)
}

func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
