package tunnel

import (
	"encoding/binary"
	"math/bits"
)

// Internet checksum (RFC 1071) helpers. A sum is carried unfolded in a
// uint64 so that pieces can be added in any order; csumFold reduces it to
// the 16-bit one's-complement sum. Adding big-endian 64-bit words with
// end-around carry gives the same folded result as adding 16-bit words,
// because 2^16 ≡ 1 modulo 2^16−1.

// csumAdd adds the bytes of b, taken as big-endian 16-bit words (an odd
// last byte padded with zero), to sum. b must start at an even offset of
// the checksummed data.
func csumAdd(sum uint64, b []byte) uint64 {
	var c uint64
	for len(b) >= 32 {
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b), c)
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[8:]), c)
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[16:]), c)
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		sum, c = bits.Add64(sum, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	sum, c = bits.Add64(sum, 0, c)
	sum += c
	var tail uint64
	for i, x := range b {
		tail |= uint64(x) << (56 - 8*i)
	}
	sum, c = bits.Add64(sum, tail, 0)
	return sum + c
}

// csumFold folds sum to 16 bits (not complemented).
func csumFold(sum uint64) uint16 {
	s := sum>>32 + sum&0xffffffff
	s = s>>32 + s&0xffffffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	s = s>>16 + s&0xffff
	return uint16(s)
}

// pseudoSum is the unfolded sum of the IPv4 pseudo-header of a transport
// segment of length n and protocol proto, whose IPv4 header is ip.
func pseudoSum(ip []byte, proto byte, n int) uint64 {
	return uint64(binary.BigEndian.Uint32(ip[12:16])) + uint64(binary.BigEndian.Uint32(ip[16:20])) +
		uint64(proto) + uint64(n)
}

// putIPv4Checksum sets the header checksum of the IPv4 header ip (its
// whole IHL).
func putIPv4Checksum(ip []byte) {
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:12], ^csumFold(csumAdd(0, ip[:int(ip[0]&0x0f)*4])))
}
