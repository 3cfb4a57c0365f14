package lb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
)

// ProxyV2MaxLen is the length of the longest header AppendProxyV2 writes
// (IPv6: 16 bytes of preamble, 36 of addresses).
const ProxyV2MaxLen = 16 + 36

// proxyV2Sig opens every PROXY protocol v2 header.
const proxyV2Sig = "\r\n\r\n\x00\r\nQUIT\n"

// PROXY protocol v2 header fields.
const (
	proxyV2Cmd    = 0x21 // version 2, command PROXY
	proxyV2Inet   = 0x10
	proxyV2Inet6  = 0x20
	proxyV2Stream = 0x01
	proxyV2Dgram  = 0x02
)

// ErrProxyAddr is returned by AppendProxyV2 for addresses it cannot encode.
var ErrProxyAddr = errors.New("lb: PROXY v2 needs two TCP or two UDP IP addresses")

// AppendProxyV2 appends to b the PROXY protocol v2 header (HAProxy's
// proxy-protocol.txt, command PROXY) of a connection from src to dst: two
// *net.TCPAddr (stream) or two *net.UDPAddr (datagram). The family is
// IPv4 when both addresses are IPv4 (or IPv4-mapped IPv6), IPv6 otherwise,
// with an IPv4 address written IPv4-mapped. It writes no TLVs.
func AppendProxyV2(b []byte, src, dst net.Addr) ([]byte, error) {
	switch s := src.(type) {
	case *net.TCPAddr:
		if d, ok := dst.(*net.TCPAddr); ok {
			return appendProxyV2(b, s.AddrPort(), d.AddrPort(), false)
		}
	case *net.UDPAddr:
		if d, ok := dst.(*net.UDPAddr); ok {
			return appendProxyV2(b, s.AddrPort(), d.AddrPort(), true)
		}
	}
	return b, fmt.Errorf("%w: %T %v to %T %v", ErrProxyAddr, src, src, dst, dst)
}

func appendProxyV2(b []byte, src, dst netip.AddrPort, dgram bool) ([]byte, error) {
	sa, da := src.Addr().Unmap(), dst.Addr().Unmap()
	if !sa.IsValid() || !da.IsValid() {
		return b, fmt.Errorf("%w: %v to %v", ErrProxyAddr, src, dst)
	}
	proto := byte(proxyV2Stream)
	if dgram {
		proto = proxyV2Dgram
	}
	b = append(b, proxyV2Sig...)
	if sa.Is4() && da.Is4() {
		b = append(b, proxyV2Cmd, proxyV2Inet|proto)
		b = binary.BigEndian.AppendUint16(b, 4+4+2+2)
		s, d := sa.As4(), da.As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	} else {
		b = append(b, proxyV2Cmd, proxyV2Inet6|proto)
		b = binary.BigEndian.AppendUint16(b, 16+16+2+2)
		s, d := sa.As16(), da.As16()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	return b, nil
}

// ErrProxyHeader is returned by ReadProxyV2 for bytes that are not a
// PROXY protocol v2 header it understands.
var ErrProxyHeader = errors.New("lb: not a PROXY v2 header")

// proxyV2MaxBody bounds the address block (and TLVs) a header may carry.
const proxyV2MaxBody = 1024

// ReadProxyV2 reads one PROXY protocol v2 header from r and returns the
// source and destination it carries: what a backend behind a listener
// with ProxyProtocol on does first with each connection. A LOCAL command
// (health checks) or an address family it does not know returns invalid
// addresses and no error; TLVs are skipped.
func ReadProxyV2(r io.Reader) (src, dst netip.AddrPort, err error) {
	var head [16]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return src, dst, fmt.Errorf("%w: %w", ErrProxyHeader, err)
	}
	if string(head[:12]) != proxyV2Sig || head[12]>>4 != 2 {
		return src, dst, fmt.Errorf("%w: bad signature or version", ErrProxyHeader)
	}
	n := int(binary.BigEndian.Uint16(head[14:16]))
	if n > proxyV2MaxBody {
		return src, dst, fmt.Errorf("%w: %d bytes of addresses", ErrProxyHeader, n)
	}
	var buf [proxyV2MaxBody]byte
	body := buf[:n]
	if _, err := io.ReadFull(r, body); err != nil {
		return src, dst, fmt.Errorf("%w: %w", ErrProxyHeader, err)
	}
	if head[12]&0x0f == 0 { // LOCAL
		return src, dst, nil
	}
	switch head[13] & 0xf0 {
	case proxyV2Inet:
		if n < 12 {
			return src, dst, fmt.Errorf("%w: short IPv4 block", ErrProxyHeader)
		}
		s, d := netip.AddrFrom4([4]byte(body[0:4])), netip.AddrFrom4([4]byte(body[4:8]))
		return netip.AddrPortFrom(s, binary.BigEndian.Uint16(body[8:10])), netip.AddrPortFrom(d, binary.BigEndian.Uint16(body[10:12])), nil
	case proxyV2Inet6:
		if n < 36 {
			return src, dst, fmt.Errorf("%w: short IPv6 block", ErrProxyHeader)
		}
		s, d := netip.AddrFrom16([16]byte(body[0:16])).Unmap(), netip.AddrFrom16([16]byte(body[16:32])).Unmap()
		return netip.AddrPortFrom(s, binary.BigEndian.Uint16(body[32:34])), netip.AddrPortFrom(d, binary.BigEndian.Uint16(body[34:36])), nil
	}
	return src, dst, nil
}
