package dns

import (
	"encoding/binary"
	"net/netip"
)

const (
	optLen = 1 + rrFixedLen // root owner, no options
	// answerFixedLen is an answer record without its RDATA: a compression
	// pointer to the question's name, then type, class, TTL and RDLENGTH.
	answerFixedLen = 2 + rrFixedLen
)

// AppendQuery appends the wire form of q to dst: q's ID and flags (the
// response bit cleared), its question and, when q.HasEDNS, an OPT record
// with q.EDNS and no options. The counts in q.Header are ignored. It fails
// only when q.Question.Name cannot be encoded, and then returns dst
// unchanged.
func AppendQuery(dst []byte, q Query) ([]byte, error) {
	h := q.Header
	h.Response = false
	h.QDCount, h.ANCount, h.NSCount, h.ARCount = 1, 0, 0, 0
	if q.HasEDNS {
		h.ARCount = 1
	}
	start := len(dst)
	dst = appendHeader(dst, h)
	dst, err := appendQuestion(dst, q.Question)
	if err != nil {
		return dst[:start], err
	}
	if q.HasEDNS {
		dst = appendOPT(dst, q.EDNS.UDPSize, 0, q.EDNS.Version, q.EDNS.DNSSECOK)
	}
	return dst, nil
}

// Response is what a responder answers to a query.
type Response struct {
	RCode              RCode
	Authoritative      bool
	RecursionAvailable bool
	TTL                uint32
	// Addrs become the answer records, owned by the question's name: an A
	// record for each IPv4 address, AAAA for each IPv6 one, in this order.
	Addrs []netip.Addr
}

// AppendResponse appends to dst the reply r to q: q's ID, opcode, RD and CD
// bits and question, r's answer records and, when q has an OPT record, an
// OPT record advertising 4096 bytes and carrying the upper bits of r.RCode
// (and q's DO bit). The reply is at most maxSize bytes (less than 512
// counts as 512): answer records that do not fit are left out and the TC
// bit is set. It fails, returning dst unchanged, when q's name cannot be
// encoded, an address is invalid, or r.RCode is above 15 and q has no OPT
// record.
func AppendResponse(dst []byte, q Query, r Response, maxSize int) ([]byte, error) {
	if r.RCode > 0xF && !q.HasEDNS {
		return dst, ErrNeedsEDNS
	}
	for _, a := range r.Addrs {
		if !a.IsValid() {
			return dst, ErrInvalidAddr
		}
	}
	maxSize = max(maxSize, minUDPSize)
	start := len(dst)
	h := Header{
		ID:                 q.ID,
		Response:           true,
		Opcode:             q.Opcode,
		Authoritative:      r.Authoritative,
		RecursionDesired:   q.RecursionDesired,
		RecursionAvailable: r.RecursionAvailable,
		CheckingDisabled:   q.CheckingDisabled,
		RCode:              r.RCode & 0xF,
		QDCount:            1,
	}
	if q.HasEDNS {
		h.ARCount = 1
	}
	dst = appendHeader(dst, h)
	dst, err := appendQuestion(dst, q.Question)
	if err != nil {
		return dst[:start], err
	}
	room := maxSize - (len(dst) - start)
	if q.HasEDNS {
		room -= optLen
	}
	n := 0
	for _, a := range r.Addrs {
		t, data := TypeAAAA, a.AsSlice()
		if a.Is4() {
			t = TypeA
		}
		if answerFixedLen+len(data) > room {
			break
		}
		room -= answerFixedLen + len(data)
		dst = append(dst, 0xC0, headerLen)
		dst = binary.BigEndian.AppendUint16(dst, uint16(t))
		dst = binary.BigEndian.AppendUint16(dst, uint16(ClassINET))
		dst = binary.BigEndian.AppendUint32(dst, r.TTL)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(data)))
		dst = append(dst, data...)
		n++
	}
	binary.BigEndian.PutUint16(dst[start+6:], uint16(n))
	if n < len(r.Addrs) {
		dst[start+2] |= bitTC >> 8
	}
	if q.HasEDNS {
		dst = appendOPT(dst, maxUDPSize, uint8(r.RCode>>4), 0, q.EDNS.DNSSECOK)
	}
	return dst, nil
}

// AppendError appends to dst a reply without a question section to the
// query whose header is h, for a query whose question cannot be parsed
// (FORMERR) or whose opcode is not implemented (NOTIMP). Only the low 4
// bits of rcode are sent.
func AppendError(dst []byte, h Header, rcode RCode) []byte {
	return appendHeader(dst, Header{
		ID:               h.ID,
		Response:         true,
		Opcode:           h.Opcode,
		RecursionDesired: h.RecursionDesired,
		CheckingDisabled: h.CheckingDisabled,
		RCode:            rcode & 0xF,
	})
}

func appendQuestion(dst []byte, q Question) ([]byte, error) {
	dst, err := appendName(dst, q.Name)
	if err != nil {
		return dst, err
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(q.Type))
	return binary.BigEndian.AppendUint16(dst, uint16(q.Class)), nil
}

func appendOPT(dst []byte, udpSize uint16, extRCode, version uint8, do bool) []byte {
	dst = append(dst, 0) // root
	dst = binary.BigEndian.AppendUint16(dst, uint16(TypeOPT))
	dst = binary.BigEndian.AppendUint16(dst, udpSize)
	ttl := uint32(extRCode)<<24 | uint32(version)<<16
	if do {
		ttl |= 1 << 15
	}
	dst = binary.BigEndian.AppendUint32(dst, ttl)
	return binary.BigEndian.AppendUint16(dst, 0)
}
