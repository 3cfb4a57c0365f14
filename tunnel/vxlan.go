package tunnel

import (
	"encoding/binary"
	"errors"
)

// Sizes of the encapsulation. A datagram on the underlay is the VXLAN
// header, a synthetic Ethernet header and the inner IPv4 packet; the
// forwarder's buffers keep HeaderLen bytes of headroom in front of every
// packet so that encapsulation writes the headers without moving the
// payload.
const (
	VXLANHeaderLen    = 8
	EthernetHeaderLen = 14
	HeaderLen         = VXLANHeaderLen + EthernetHeaderLen

	// MinDatagramLen is the shortest datagram Decap accepts: the headers
	// and a minimal IPv4 header.
	MinDatagramLen = HeaderLen + ipv4MinHeaderLen

	// MaxMTU is the largest inner packet that still fits one UDP datagram
	// over IPv4 (65535 minus the IPv4, UDP and encapsulation headers).
	MaxMTU = 65535 - ipv4MinHeaderLen - udpHeaderLen - HeaderLen

	// MaxVNI is the largest 24-bit VXLAN network identifier.
	MaxVNI = 1<<24 - 1

	// DefaultPort is the IANA VXLAN port.
	DefaultPort = 4789
)

const (
	ipv4MinHeaderLen = 20
	udpHeaderLen     = 8
	vxlanFlagI       = 0x08
	etherTypeIPv4    = 0x0800
)

// Codec errors. They are plain sentinels, never wrapped on the packet path
// (wrapping allocates), so callers classify them with == or errors.Is.
var (
	ErrShort     = errors.New("tunnel: datagram too short")
	ErrFlags     = errors.New("tunnel: VXLAN I flag missing or reserved bits set")
	ErrEtherType = errors.New("tunnel: inner frame is not IPv4")
	ErrNotIPv4   = errors.New("tunnel: inner packet is not IPv4")
	ErrLength    = errors.New("tunnel: inner IPv4 length inconsistent")
	ErrVNI       = errors.New("tunnel: VNI out of range")
	ErrNoRoom    = errors.New("tunnel: buffer too small")
)

// Encap returns the VXLAN datagram that carries the IPv4 packet inner on
// network vni, built in buf. When inner already sits at buf[HeaderLen:]
// (the layout of the forwarder's buffers) only the 22 header bytes are
// written; otherwise inner is copied behind them. Bytes of inner past its
// IPv4 total length are not sent. Encap fails with ErrVNI, ErrNoRoom, or the
// error Decap would give for inner, so whatever Encap accepts, Decap
// returns unchanged.
func Encap(buf []byte, vni uint32, inner []byte) ([]byte, error) {
	if vni > MaxVNI {
		return nil, ErrVNI
	}
	n, err := checkIPv4(inner)
	if err != nil {
		return nil, err
	}
	if len(buf) < HeaderLen+n {
		return nil, ErrNoRoom
	}
	if &buf[HeaderLen] != &inner[0] {
		copy(buf[HeaderLen:], inner[:n])
	}
	putHeader(buf, vni)
	return buf[:HeaderLen+n], nil
}

// AppendEncap appends the VXLAN datagram carrying inner on network vni to
// dst, with the checks of Encap.
func AppendEncap(dst []byte, vni uint32, inner []byte) ([]byte, error) {
	if vni > MaxVNI {
		return dst, ErrVNI
	}
	n, err := checkIPv4(inner)
	if err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, make([]byte, HeaderLen)...)
	dst = append(dst, inner[:n]...)
	putHeader(dst[start:], vni)
	return dst, nil
}

// Decap checks a received datagram and returns its VNI and the inner IPv4
// packet, a sub-slice of datagram trimmed to the packet's total length. It
// requires the I flag with every reserved bit zero, EtherType IPv4, an IPv4
// header (version 4, IHL at least 5) and a total length that covers the
// header and does not run past the datagram. It never panics, whatever the
// input.
func Decap(datagram []byte) (vni uint32, inner []byte, err error) {
	if len(datagram) < MinDatagramLen {
		return 0, nil, ErrShort
	}
	if datagram[0] != vxlanFlagI || datagram[1]|datagram[2]|datagram[3]|datagram[7] != 0 {
		return 0, nil, ErrFlags
	}
	if binary.BigEndian.Uint16(datagram[VXLANHeaderLen+12:]) != etherTypeIPv4 {
		return 0, nil, ErrEtherType
	}
	n, err := checkIPv4(datagram[HeaderLen:])
	if err != nil {
		return 0, nil, err
	}
	vni = uint32(datagram[4])<<16 | uint32(datagram[5])<<8 | uint32(datagram[6])
	return vni, datagram[HeaderLen : HeaderLen+n], nil
}

// checkIPv4 validates the IPv4 header at the start of p and returns the
// packet's total length.
func checkIPv4(p []byte) (int, error) {
	if len(p) < ipv4MinHeaderLen {
		return 0, ErrShort
	}
	if p[0]>>4 != 4 {
		return 0, ErrNotIPv4
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:4]))
	if ihl < ipv4MinHeaderLen || total < ihl || total > len(p) {
		return 0, ErrLength
	}
	return total, nil
}

// putHeader writes the VXLAN and Ethernet headers into b[:HeaderLen] for the
// IPv4 packet at b[HeaderLen:]. The MAC addresses are 02:42 followed by the
// inner IPv4 addresses (locally administered, as Docker derives them), so a
// capture on the underlay shows which overlay hosts talk.
func putHeader(b []byte, vni uint32) {
	_ = b[HeaderLen+ipv4MinHeaderLen-1]
	b[0], b[1], b[2], b[3] = vxlanFlagI, 0, 0, 0
	b[4], b[5], b[6], b[7] = byte(vni>>16), byte(vni>>8), byte(vni), 0
	eth := b[VXLANHeaderLen:HeaderLen]
	ip := b[HeaderLen:]
	eth[0], eth[1] = 0x02, 0x42
	copy(eth[2:6], ip[16:20])
	eth[6], eth[7] = 0x02, 0x42
	copy(eth[8:12], ip[12:16])
	binary.BigEndian.PutUint16(eth[12:14], etherTypeIPv4)
}
