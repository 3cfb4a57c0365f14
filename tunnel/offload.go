package tunnel

import (
	"encoding/binary"
	"errors"
)

// TUN offloads. A TUN queue opened with IFF_VNET_HDR and TUNSETOFFLOAD
// (TUN_F_CSUM, TUN_F_TSO4) precedes every packet, both ways, with a
// virtio_net_hdr (Linux include/uapi/linux/virtio_net.h, in the host's
// byte order):
//
//	flags u8 | gso_type u8 | hdr_len u16 | gso_size u16 | csum_start u16 | csum_offset u16
//
// The kernel then hands over TCP super-segments of up to 64 KB with a
// partial checksum (gso_type TCPV4, cut into gso_size payloads), and
// accepts them back. The forwarder cuts them into segments that fit the
// underlay before they leave the host (tsoSegment) and glues received
// segments of one flow back into super-segments (coalescer), so that both
// TUN directions move 64 KB per system call while the wire carries
// ordinary VXLAN datagrams.
const (
	vnetHdrLen = 10

	vnetFlagNeedsCsum = 1
	vnetGSONone       = 0
	vnetGSOTCPv4      = 1

	// maxTCPSegs bounds the segments of one super-segment, so that a
	// queue that lies about gso_size cannot make a packet explode into
	// tens of thousands of datagrams.
	maxTCPSegs = 256

	ipProtoTCP = 6
	ipProtoUDP = 17

	tcpFlagFIN = 0x01
	tcpFlagSYN = 0x02
	tcpFlagPSH = 0x08
	tcpFlagACK = 0x10
	tcpFlagCWR = 0x80
)

// Errors of offloaded packets, counted as malformed.
var (
	errVnetHdr = errors.New("tunnel: bad virtio_net_hdr")
	errGSO     = errors.New("tunnel: GSO packet that cannot be segmented")
)

// vnetHdr is a virtio_net_hdr.
type vnetHdr struct {
	flags, gsoType                         uint8
	hdrLen, gsoSize, csumStart, csumOffset uint16
}

func parseVnetHdr(b []byte) vnetHdr {
	_ = b[vnetHdrLen-1]
	return vnetHdr{
		flags:      b[0],
		gsoType:    b[1],
		hdrLen:     binary.NativeEndian.Uint16(b[2:]),
		gsoSize:    binary.NativeEndian.Uint16(b[4:]),
		csumStart:  binary.NativeEndian.Uint16(b[6:]),
		csumOffset: binary.NativeEndian.Uint16(b[8:]),
	}
}

func (h vnetHdr) put(b []byte) {
	_ = b[vnetHdrLen-1]
	b[0], b[1] = h.flags, h.gsoType
	binary.NativeEndian.PutUint16(b[2:], h.hdrLen)
	binary.NativeEndian.PutUint16(b[4:], h.gsoSize)
	binary.NativeEndian.PutUint16(b[6:], h.csumStart)
	binary.NativeEndian.PutUint16(b[8:], h.csumOffset)
}

// tcpv4 returns the lengths of the IPv4 and TCP headers of pkt (a packet
// checkIPv4 accepted, trimmed to its total length) if it is an unfragmented
// TCP/IPv4 packet with a sane TCP header.
func tcpv4(pkt []byte) (ihl, thl int, ok bool) {
	ihl = int(pkt[0]&0x0f) * 4
	if pkt[9] != ipProtoTCP || binary.BigEndian.Uint16(pkt[6:8])&0x3fff != 0 || len(pkt) < ihl+20 {
		return 0, 0, false
	}
	thl = int(pkt[ihl+12]>>4) * 4
	if thl < 20 || len(pkt) < ihl+thl {
		return 0, 0, false
	}
	return ihl, thl, true
}

// completeChecksum finishes the partial checksum of a packet the kernel
// handed over with NEEDS_CSUM: the one's-complement sum of pkt from
// csum_start on, stored at csum_start+csum_offset (whose field holds the
// pseudo-header sum).
func completeChecksum(pkt []byte, h vnetHdr) error {
	start, at := int(h.csumStart), int(h.csumStart)+int(h.csumOffset)
	if start >= len(pkt) || at+2 > len(pkt) || start&1 != 0 {
		return errVnetHdr
	}
	c := ^csumFold(csumAdd(0, pkt[start:]))
	if c == 0 && pkt[9] == ipProtoUDP && h.csumOffset == 6 {
		c = 0xffff // 0 means "no checksum" in UDP
	}
	binary.BigEndian.PutUint16(pkt[at:], c)
	return nil
}

// segmentPlan says how tsoSegment cuts one TCP/IPv4 packet.
type segmentPlan struct {
	ihl, thl, mss, segs int
}

// planSegments decides whether the TCP/IPv4 packet pkt, read from a queue
// with offloads with header h, must be cut, and how: into payloads of the
// packet's gso_size, and never into inner packets larger than maxInner
// (the largest that fits the underlay unfragmented). ok is false when the
// packet goes whole.
func planSegments(pkt []byte, h vnetHdr, maxInner int) (p segmentPlan, ok bool, err error) {
	ihl, thl, isTCP := tcpv4(pkt)
	gso := h.gsoType &^ 0x80 // the ECN bit changes nothing here: CWR stays on the first segment
	switch {
	case gso != vnetGSONone && gso != vnetGSOTCPv4:
		return p, false, errGSO
	case gso == vnetGSOTCPv4 && !isTCP:
		return p, false, errGSO
	case !isTCP || len(pkt) <= maxInner && gso == vnetGSONone:
		return p, false, nil
	}
	mss := maxInner - ihl - thl
	if gso == vnetGSOTCPv4 {
		if h.gsoSize == 0 {
			return p, false, errGSO
		}
		mss = min(mss, int(h.gsoSize))
	}
	payload := len(pkt) - ihl - thl
	if mss < 1 {
		return p, false, errGSO
	}
	segs := (payload + mss - 1) / mss
	if segs > maxTCPSegs {
		return p, false, errGSO
	}
	if segs <= 1 {
		return p, false, nil
	}
	return segmentPlan{ihl: ihl, thl: thl, mss: mss, segs: segs}, true, nil
}

// segmentHeadroom is the room one segment's headers take in front of its
// payload: the encapsulation and the largest IPv4 and TCP headers.
const segmentHeadroom = HeaderLen + 60 + 60

// tsoSegment writes the headers of segment i of pkt, cut by plan p, into
// hdr (at least segmentHeadroom bytes): VXLAN and Ethernet for network vni,
// then IPv4 and TCP with their lengths, identification, sequence number,
// flags and checksums set as the kernel's TSO would. It returns the
// headers and the segment's payload, a sub-slice of pkt; together they are
// the datagram to send.
func tsoSegment(hdr, pkt []byte, p segmentPlan, i int, vni uint32) (head, payload []byte) {
	hl := p.ihl + p.thl
	start := hl + i*p.mss
	end := min(start+p.mss, len(pkt))
	payload = pkt[start:end]
	head = hdr[:HeaderLen+hl]
	ip := head[HeaderLen:]
	copy(ip, pkt[:hl])
	binary.BigEndian.PutUint16(ip[2:4], uint16(hl+len(payload)))
	binary.BigEndian.PutUint16(ip[4:6], binary.BigEndian.Uint16(pkt[4:6])+uint16(i))
	putIPv4Checksum(ip)
	tcp := ip[p.ihl:]
	binary.BigEndian.PutUint32(tcp[4:8], binary.BigEndian.Uint32(pkt[p.ihl+4:])+uint32(i*p.mss))
	if i > 0 {
		tcp[13] &^= tcpFlagCWR
	}
	if i < p.segs-1 {
		tcp[13] &^= tcpFlagFIN | tcpFlagPSH
	}
	tcp[16], tcp[17] = 0, 0
	sum := pseudoSum(ip, ipProtoTCP, p.thl+len(payload))
	sum = csumAdd(csumAdd(sum, tcp[:p.thl]), payload)
	binary.BigEndian.PutUint16(tcp[16:18], ^csumFold(sum))
	putHeader(head, vni)
	return head, payload
}
