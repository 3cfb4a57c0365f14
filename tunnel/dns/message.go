package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Type is a resource record type (RFC 1035 §3.2.2).
type Type uint16

// The record types the package reads or writes.
const (
	TypeA    Type = 1
	TypeAAAA Type = 28
	TypeOPT  Type = 41
)

// Class is a resource record class; only ClassINET is answered locally.
type Class uint16

// ClassINET is the Internet class.
const ClassINET Class = 1

// Opcode is the kind of a message (RFC 1035 §4.1.1); only OpcodeQuery is
// answered.
type Opcode uint8

// OpcodeQuery is a standard query.
const OpcodeQuery Opcode = 0

// RCode is a response code: the header's 4 bits, extended to 12 bits by the
// OPT record (RFC 6891 §6.1.3).
type RCode uint16

// The response codes the Server sends.
const (
	RCodeSuccess  RCode = 0
	RCodeFormErr  RCode = 1
	RCodeServFail RCode = 2
	RCodeNXDomain RCode = 3
	RCodeNotImp   RCode = 4
	RCodeBadVers  RCode = 16
)

// String is the mnemonic of RFC 6895 §2.3, or RCODE and the number.
func (r RCode) String() string {
	switch r {
	case RCodeSuccess:
		return "NOERROR"
	case RCodeFormErr:
		return "FORMERR"
	case RCodeServFail:
		return "SERVFAIL"
	case RCodeNXDomain:
		return "NXDOMAIN"
	case RCodeNotImp:
		return "NOTIMP"
	case RCodeBadVers:
		return "BADVERS"
	}
	return fmt.Sprintf("RCODE%d", uint16(r))
}

const (
	headerLen   = 12
	maxLabelLen = 63
	maxNameLen  = 255 // wire octets, length bytes and root included
	// minUDPSize is what a client without EDNS0 accepts (RFC 1035 §4.2.1).
	minUDPSize = 512
	// maxUDPSize caps what a client's OPT record may ask for and is what
	// the Server advertises in its own.
	maxUDPSize = 4096
	// maxMsgSize is the most a TCP length prefix can carry.
	maxMsgSize = 65535
	rrFixedLen = 10 // type, class, TTL, RDLENGTH
)

// Errors wrapped by *ParseError (malformed messages) and by the encoders
// (names that cannot be encoded).
var (
	ErrShortMessage  = errors.New("dns: message ends early")
	ErrNotQuery      = errors.New("dns: message is a response")
	ErrQuestionCount = errors.New("dns: query needs exactly one question")
	ErrLabelType     = errors.New("dns: reserved label type")
	ErrCompressed    = errors.New("dns: compression pointer in a question")
	ErrNameTooLong   = errors.New("dns: name longer than 255 octets")
	ErrLabelTooLong  = errors.New("dns: label longer than 63 octets")
	ErrEmptyLabel    = errors.New("dns: empty label")
	ErrBadEscape     = errors.New("dns: bad escape in name")
	ErrMultipleOPT   = errors.New("dns: more than one OPT record")
	ErrBadOPT        = errors.New("dns: malformed OPT record")
	ErrNeedsEDNS     = errors.New("dns: extended rcode without an OPT record")
	ErrInvalidAddr   = errors.New("dns: invalid answer address")
)

// ParseError is a malformed message: what was wrong (Err, one of the Err
// sentinels), in which section and at which byte offset.
type ParseError struct {
	Section string // "header", "question", "answer", "authority" or "additional"
	Offset  int
	Err     error
}

// Error says what was wrong where.
func (e *ParseError) Error() string {
	return fmt.Sprintf("%s at offset %d (%s)", e.Err, e.Offset, e.Section)
}

// Unwrap returns the sentinel, for errors.Is.
func (e *ParseError) Unwrap() error { return e.Err }

// Header is a message header (RFC 1035 §4.1.1). RCode holds the header's 4
// bits only; the Z bit is ignored.
type Header struct {
	ID                 uint16
	Response           bool
	Opcode             Opcode
	Authoritative      bool
	Truncated          bool
	RecursionDesired   bool
	RecursionAvailable bool
	AuthenticData      bool
	CheckingDisabled   bool
	RCode              RCode
	QDCount            uint16
	ANCount            uint16
	NSCount            uint16
	ARCount            uint16
}

const (
	bitQR = 1 << 15
	bitAA = 1 << 10
	bitTC = 1 << 9
	bitRD = 1 << 8
	bitRA = 1 << 7
	bitAD = 1 << 5
	bitCD = 1 << 4
)

// ParseHeader reads the 12-byte header of msg. It fails only when msg is
// shorter than that, so a responder can still answer FORMERR to a query
// whose body ParseQuery rejects.
func ParseHeader(msg []byte) (Header, error) {
	if len(msg) < headerLen {
		return Header{}, &ParseError{Section: "header", Offset: len(msg), Err: ErrShortMessage}
	}
	bits := binary.BigEndian.Uint16(msg[2:])
	return Header{
		ID:                 binary.BigEndian.Uint16(msg),
		Response:           bits&bitQR != 0,
		Opcode:             Opcode(bits >> 11 & 0xF),
		Authoritative:      bits&bitAA != 0,
		Truncated:          bits&bitTC != 0,
		RecursionDesired:   bits&bitRD != 0,
		RecursionAvailable: bits&bitRA != 0,
		AuthenticData:      bits&bitAD != 0,
		CheckingDisabled:   bits&bitCD != 0,
		RCode:              RCode(bits & 0xF),
		QDCount:            binary.BigEndian.Uint16(msg[4:]),
		ANCount:            binary.BigEndian.Uint16(msg[6:]),
		NSCount:            binary.BigEndian.Uint16(msg[8:]),
		ARCount:            binary.BigEndian.Uint16(msg[10:]),
	}, nil
}

func appendHeader(dst []byte, h Header) []byte {
	bits := uint16(h.Opcode&0xF)<<11 | uint16(h.RCode&0xF) |
		ifSet(h.Response, bitQR) | ifSet(h.Authoritative, bitAA) |
		ifSet(h.Truncated, bitTC) | ifSet(h.RecursionDesired, bitRD) |
		ifSet(h.RecursionAvailable, bitRA) | ifSet(h.AuthenticData, bitAD) |
		ifSet(h.CheckingDisabled, bitCD)
	dst = binary.BigEndian.AppendUint16(dst, h.ID)
	dst = binary.BigEndian.AppendUint16(dst, bits)
	dst = binary.BigEndian.AppendUint16(dst, h.QDCount)
	dst = binary.BigEndian.AppendUint16(dst, h.ANCount)
	dst = binary.BigEndian.AppendUint16(dst, h.NSCount)
	return binary.BigEndian.AppendUint16(dst, h.ARCount)
}

func ifSet(set bool, bit uint16) uint16 {
	if set {
		return bit
	}
	return 0
}

// Question is the question of a query. Name is in presentation form,
// absolute, with its trailing dot ("web.1." and "." for the root), in the
// case the client sent; a '.' or '\' inside a label is escaped with a
// backslash and a byte outside printable ASCII is written \DDD (decimal),
// so every wire name has exactly one Name.
type Question struct {
	Name  string
	Type  Type
	Class Class
}

// EDNS holds the fields of a query's OPT record (RFC 6891 §6.1.3).
type EDNS struct {
	UDPSize  uint16 // the largest UDP reply the client accepts, as sent
	Version  uint8
	DNSSECOK bool // the DO bit
}

// Query is a parsed query: its header, its one question and, when HasEDNS,
// its OPT record. Answer and authority records, options inside the OPT
// record and other additional records are checked for shape and skipped.
type Query struct {
	Header
	Question Question
	HasEDNS  bool
	EDNS     EDNS
}

// MaxUDPSize is the largest UDP reply q's client accepts: 512 bytes, or
// the size its OPT record advertises clamped to [512, 4096].
func (q Query) MaxUDPSize() int {
	if !q.HasEDNS {
		return minUDPSize
	}
	return min(max(int(q.EDNS.UDPSize), minUDPSize), maxUDPSize)
}

// ParseQuery parses msg as a query with exactly one question. Bytes after
// the last record counted in the header are ignored. Any error is a
// *ParseError.
func ParseQuery(msg []byte) (Query, error) {
	h, err := ParseHeader(msg)
	if err != nil {
		return Query{}, err
	}
	if h.Response {
		return Query{}, &ParseError{Section: "header", Offset: 2, Err: ErrNotQuery}
	}
	if h.QDCount != 1 {
		return Query{}, &ParseError{Section: "header", Offset: 4, Err: ErrQuestionCount}
	}
	q := Query{Header: h}
	name, off, err := parseName(msg, headerLen)
	if err != nil {
		return Query{}, err
	}
	if len(msg)-off < 4 {
		return Query{}, &ParseError{Section: "question", Offset: len(msg), Err: ErrShortMessage}
	}
	q.Question = Question{
		Name:  name,
		Type:  Type(binary.BigEndian.Uint16(msg[off:])),
		Class: Class(binary.BigEndian.Uint16(msg[off+2:])),
	}
	off += 4
	for i := 0; i < int(h.ANCount)+int(h.NSCount); i++ {
		section := "answer"
		if i >= int(h.ANCount) {
			section = "authority"
		}
		if off, _, err = skipRR(msg, off, section); err != nil {
			return Query{}, err
		}
	}
	for range h.ARCount {
		start := off
		var t Type
		if off, t, err = skipRR(msg, off, "additional"); err != nil {
			return Query{}, err
		}
		if t != TypeOPT {
			continue
		}
		if q.HasEDNS {
			return Query{}, &ParseError{Section: "additional", Offset: start, Err: ErrMultipleOPT}
		}
		if q.EDNS, err = parseOPT(msg[start:off]); err != nil {
			var pe *ParseError
			if errors.As(err, &pe) {
				pe.Offset += start
			}
			return Query{}, err
		}
		q.HasEDNS = true
	}
	return q, nil
}

// skipRR checks the shape of the record at off and returns the offset after
// it and its type. Its owner name may end in a compression pointer, which
// is skipped, not followed.
func skipRR(msg []byte, off int, section string) (int, Type, error) {
	off, err := skipName(msg, off, section)
	if err != nil {
		return 0, 0, err
	}
	if len(msg)-off < rrFixedLen {
		return 0, 0, &ParseError{Section: section, Offset: len(msg), Err: ErrShortMessage}
	}
	t := Type(binary.BigEndian.Uint16(msg[off:]))
	rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
	off += rrFixedLen
	if len(msg)-off < rdlen {
		return 0, 0, &ParseError{Section: section, Offset: len(msg), Err: ErrShortMessage}
	}
	return off + rdlen, t, nil
}

// parseOPT reads an OPT record, rr being exactly its bytes: a root owner
// name and well-formed options.
func parseOPT(rr []byte) (EDNS, error) {
	bad := func(off int) error { return &ParseError{Section: "additional", Offset: off, Err: ErrBadOPT} }
	if rr[0] != 0 {
		return EDNS{}, bad(0)
	}
	const fixed = 1 + rrFixedLen
	ttl := binary.BigEndian.Uint32(rr[5:])
	for opts := rr[fixed:]; len(opts) > 0; {
		if len(opts) < 4 {
			return EDNS{}, bad(len(rr) - len(opts))
		}
		n := 4 + int(binary.BigEndian.Uint16(opts[2:]))
		if n > len(opts) {
			return EDNS{}, bad(len(rr) - len(opts))
		}
		opts = opts[n:]
	}
	return EDNS{
		UDPSize:  binary.BigEndian.Uint16(rr[3:]),
		Version:  uint8(ttl >> 16),
		DNSSECOK: ttl&(1<<15) != 0,
	}, nil
}
