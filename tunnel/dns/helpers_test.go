package dns

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"
)

// ioTimeout bounds every test socket operation, so a missing reply fails
// the test instead of hanging it; nothing waits for it to pass.
const ioTimeout = 3 * time.Second

// Header flag words for hand-built messages.
const (
	flagRD = bitRD
	flagQR = bitQR
)

// raw concatenates message parts.
func raw(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func hdr(id, flags, qd, an, ns, ar uint16) []byte {
	var b []byte
	for _, v := range []uint16{id, flags, qd, an, ns, ar} {
		b = binary.BigEndian.AppendUint16(b, v)
	}
	return b
}

// wire is the uncompressed wire form of a name given as labels.
func wire(labels ...string) []byte {
	var b []byte
	for _, l := range labels {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// typeIN is a question's type and class IN.
func typeIN(t Type) []byte { return raw(u16(uint16(t)), u16(uint16(ClassINET))) }

// optRR is an OPT record with the given UDP size, TTL field and RDATA.
func optRR(size uint16, ttl uint32, rdata []byte) []byte {
	return raw([]byte{0}, u16(uint16(TypeOPT)), u16(size), u32(ttl), u16(uint16(len(rdata))), rdata)
}

// query builds a query for name and type; udpSize 0 means no OPT record.
func query(t testing.TB, id uint16, name string, typ Type, udpSize uint16) []byte {
	t.Helper()
	q := Query{
		Header:   Header{ID: id, RecursionDesired: true},
		Question: Question{Name: name, Type: typ, Class: ClassINET},
	}
	if udpSize != 0 {
		q.HasEDNS, q.EDNS.UDPSize = true, udpSize
	}
	msg, err := AppendQuery(nil, q)
	if err != nil {
		t.Fatalf("AppendQuery(%q): %v", name, err)
	}
	return msg
}

// reply is a decoded response, as far as the tests look at it.
type reply struct {
	Header
	Name     string // the question's, "" when there is none
	Addrs    []netip.Addr
	HasOPT   bool
	OPTSize  uint16
	ExtRCode uint8
}

// rcode is the full response code, the OPT record's upper bits included.
func (r reply) rcode() RCode { return RCode(r.ExtRCode)<<4 | r.RCode }

// decode parses a response: header, question, A and AAAA answers (owner
// names skipped) and the OPT record.
func decode(t testing.TB, msg []byte) reply {
	t.Helper()
	h, err := ParseHeader(msg)
	if err != nil {
		t.Fatalf("reply header: %v", err)
	}
	r := reply{Header: h}
	off := headerLen
	if h.QDCount == 1 {
		if r.Name, off, err = parseName(msg, off); err != nil {
			t.Fatalf("reply question: %v", err)
		}
		off += 4
	}
	for i := range int(h.ANCount) + int(h.NSCount) + int(h.ARCount) {
		nameEnd, err := skipName(msg, off, "reply")
		if err != nil {
			t.Fatalf("reply record %d: %v", i, err)
		}
		if off, _, err = skipRR(msg, off, "reply"); err != nil {
			t.Fatalf("reply record %d: %v", i, err)
		}
		typ := Type(binary.BigEndian.Uint16(msg[nameEnd:]))
		rdata := msg[nameEnd+rrFixedLen : off]
		switch {
		case i < int(h.ANCount) && (typ == TypeA || typ == TypeAAAA):
			a, ok := netip.AddrFromSlice(rdata)
			if !ok {
				t.Fatalf("reply record %d: bad address %x", i, rdata)
			}
			r.Addrs = append(r.Addrs, a)
		case typ == TypeOPT:
			r.HasOPT = true
			r.OPTSize = binary.BigEndian.Uint16(msg[nameEnd+2:])
			r.ExtRCode = msg[nameEnd+4]
		}
	}
	return r
}

func exchangeUDP(t testing.TB, addr string, msg []byte) []byte {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return roundTripUDP(t, c, msg)
}

func roundTripUDP(t testing.TB, c net.Conn, msg []byte) []byte {
	t.Helper()
	if err := c.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, maxMsgSize)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("udp reply: %v", err)
	}
	return buf[:n]
}

func exchangeTCP(t testing.TB, addr string, msg []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(raw(u16(uint16(len(msg))), msg)); err != nil {
		t.Fatal(err)
	}
	var n [2]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		t.Fatalf("tcp reply: %v", err)
	}
	buf := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatalf("tcp reply: %v", err)
	}
	return buf
}

// testServer is a Server serving UDP and TCP on 127.0.0.1.
type testServer struct {
	*Server
	udp, tcp string
}

func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	go func() { errc <- s.Serve(pc) }()
	go func() { errc <- s.ServeTCP(l) }()
	t.Cleanup(func() {
		s.Close()
		for range 2 {
			if err := <-errc; !errors.Is(err, ErrServerClosed) {
				t.Errorf("serve returned %v, want ErrServerClosed", err)
			}
		}
	})
	return &testServer{Server: s, udp: pc.LocalAddr().String(), tcp: l.Addr().String()}
}

func addrs(t testing.TB, s ...string) []netip.Addr {
	t.Helper()
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

// seqAddrs returns n addresses 10.0.x.y from 10.0.1.1 on.
func seqAddrs(n int) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{10, 0, byte(1 + i/250), byte(1 + i%250)})
	}
	return out
}

func mapLookup(m map[string][]netip.Addr) func(string) ([]netip.Addr, bool) {
	return func(name string) ([]netip.Addr, bool) {
		a, ok := m[name]
		return a, ok
	}
}
