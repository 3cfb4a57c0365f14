package tunnel

import (
	"bytes"
	"encoding/binary"
)

// Limits of one coalesced super-segment: the IPv4 total length, and the
// pieces of one vectored write (far below the kernel's UIO_MAXIOV).
const (
	maxCoalesceLen  = 65535
	maxCoalesceSegs = 64
)

// coalescer glues consecutive, in-order TCP/IPv4 segments of one flow that
// arrive for the same TUN queue with offloads into one super-segment, as
// the kernel's GRO does, and writes it with one vectored write preceded by
// a virtio_net_hdr (GSO_TCPV4, gso_size the first segment's payload,
// NEEDS_CSUM). Every other packet is written alone behind a zero header,
// in arrival order. The super-segment's header is the first segment's,
// rewritten in its receive buffer; the others' payloads are written from
// theirs, so nothing is copied in user space. A coalescer belongs to one
// receive loop, and the buffers it was handed must stay untouched until
// flush.
type coalescer struct {
	// write writes iov to q as one packet; it is the receive loop's.
	write func(q *queue, iov [][]byte) error
	t     *tally

	q        *queue   // the run's queue; nil when there is no run
	first    []byte   // the first segment's datagram, its packet at HeaderLen
	iov      [][]byte // the run's pieces: [header + first packet, payloads...]
	ihl, thl int
	seg      int    // payload size of every segment but the last
	size     int    // total length of the super-segment
	next     uint32 // sequence number the next segment must carry
	closed   bool   // the last segment was short or had PSH: no more
	psh      bool

	one [][]byte // plain's single piece
}

func newCoalescer(write func(q *queue, iov [][]byte) error, t *tally) *coalescer {
	return &coalescer{write: write, t: t, iov: make([][]byte, 0, maxCoalesceSegs), one: make([][]byte, 1)}
}

// plain writes pkt to q, a queue without offloads, as it is, through the
// receive loop's write; it leaves any run alone.
func (c *coalescer) plain(q *queue, pkt []byte) error {
	c.one[0] = pkt
	err := c.write(q, c.one)
	c.one[0] = nil
	return err
}

// add takes the datagram dg, whose inner IPv4 packet (checked by Decap and
// trimmed to its total length) is dg[HeaderLen:], for queue q.
func (c *coalescer) add(q *queue, dg []byte) {
	pkt := dg[HeaderLen:]
	ihl, thl, ok := tcpv4(pkt)
	payload := len(pkt) - ihl - thl
	if !ok || ihl != ipv4MinHeaderLen || payload == 0 || pkt[ihl+13] != tcpFlagACK && pkt[ihl+13] != tcpFlagACK|tcpFlagPSH {
		c.flush()
		c.single(q, dg)
		return
	}
	if c.q != nil && c.fits(q, pkt, thl, payload) {
		c.iov = append(c.iov, pkt[ihl+thl:])
		c.size += payload
		c.next += uint32(payload)
		c.psh = pkt[ihl+13]&tcpFlagPSH != 0
		c.closed = payload < c.seg || c.psh
		return
	}
	c.flush()
	c.q, c.first = q, dg
	c.iov = append(c.iov[:0], nil)
	c.ihl, c.thl, c.seg, c.size = ihl, thl, payload, len(pkt)
	c.next = binary.BigEndian.Uint32(pkt[ihl+4:]) + uint32(payload)
	c.psh = pkt[ihl+13]&tcpFlagPSH != 0
	c.closed = c.psh
}

// fits reports whether pkt, a segment with a payload and no IP options,
// continues the run.
func (c *coalescer) fits(q *queue, pkt []byte, thl, payload int) bool {
	first := c.first[HeaderLen:]
	tcp, ftcp := pkt[ipv4MinHeaderLen:], first[ipv4MinHeaderLen:]
	return q == c.q && !c.closed && thl == c.thl && payload <= c.seg &&
		len(c.iov) < maxCoalesceSegs && c.size+payload <= maxCoalesceLen &&
		binary.BigEndian.Uint32(tcp[4:8]) == c.next &&
		// Same TOS (ECN included), DF, TTL, protocol, addresses.
		pkt[1] == first[1] && pkt[6] == first[6] && pkt[8] == first[8] &&
		bytes.Equal(pkt[12:20], first[12:20]) &&
		// Same ports, acknowledgement, window and options.
		bytes.Equal(tcp[0:4], ftcp[0:4]) && bytes.Equal(tcp[8:12], ftcp[8:12]) &&
		bytes.Equal(tcp[14:16], ftcp[14:16]) && bytes.Equal(tcp[20:thl], ftcp[20:thl])
}

// flush writes the run, if any.
func (c *coalescer) flush() {
	if c.q == nil {
		return
	}
	q, n := c.q, len(c.iov)
	c.q = nil
	if n == 1 {
		c.single(q, c.first)
		return
	}
	dg := c.first
	ip := dg[HeaderLen:]
	binary.BigEndian.PutUint16(ip[2:4], uint16(c.size))
	putIPv4Checksum(ip)
	tcp := ip[c.ihl:]
	if c.psh {
		tcp[13] |= tcpFlagPSH
	}
	binary.BigEndian.PutUint16(tcp[16:18], csumFold(pseudoSum(ip, ipProtoTCP, c.size-c.ihl)))
	vnetHdr{
		flags:      vnetFlagNeedsCsum,
		gsoType:    vnetGSOTCPv4,
		hdrLen:     uint16(c.ihl + c.thl),
		gsoSize:    uint16(c.seg),
		csumStart:  uint16(c.ihl),
		csumOffset: 16,
	}.put(dg[HeaderLen-vnetHdrLen:])
	c.iov[0] = dg[HeaderLen-vnetHdrLen:]
	if err := c.write(q, c.iov); err != nil {
		c.t.drops[dropDeviceError] += uint64(n)
		return
	}
	c.t.packets += uint64(n)
	c.t.bytes += uint64(c.size + (n-1)*(c.ihl+c.thl))
}

// single writes one packet behind a zero virtio_net_hdr.
func (c *coalescer) single(q *queue, dg []byte) {
	h := dg[HeaderLen-vnetHdrLen:]
	vnetHdr{}.put(h)
	c.iov = append(c.iov[:0], h)
	err := c.write(q, c.iov)
	c.iov = c.iov[:0]
	if err != nil {
		c.t.drop(dropDeviceError)
		return
	}
	c.t.packets++
	c.t.bytes += uint64(len(dg) - HeaderLen)
}
