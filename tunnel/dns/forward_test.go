package dns

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// upstream is a fake resolver on 127.0.0.1 serving UDP and TCP on one
// port. handle returns the replies to a query, in order; none is silence.
type upstream struct {
	addr   netip.AddrPort
	seen   chan seenQuery
	handle func(msg []byte) [][]byte
}

type seenQuery struct {
	network string
	msg     []byte
}

// answerWith is a handle that answers every query with addrs.
func answerWith(t testing.TB, as ...netip.Addr) func([]byte) [][]byte {
	return func(msg []byte) [][]byte {
		q, err := ParseQuery(msg)
		if err != nil {
			t.Errorf("upstream got a malformed query: %v", err)
			return nil
		}
		r, err := AppendResponse(nil, q, Response{RecursionAvailable: true, TTL: 300, Addrs: as}, maxMsgSize)
		if err != nil {
			t.Errorf("upstream reply: %v", err)
			return nil
		}
		return [][]byte{r}
	}
}

func startUpstream(t testing.TB, handle func([]byte) [][]byte) *upstream {
	t.Helper()
	pc, l := listenBoth(t)
	u := &upstream{
		addr:   netip.MustParseAddrPort(pc.LocalAddr().String()),
		seen:   make(chan seenQuery, 100),
		handle: handle,
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		pc.Close()
		l.Close()
		wg.Wait()
	})
	wg.Go(func() {
		buf := make([]byte, maxMsgSize)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			msg := append([]byte(nil), buf[:n]...)
			u.seen <- seenQuery{"udp", msg}
			for _, r := range u.handle(msg) {
				_, _ = pc.WriteTo(r, from)
			}
		}
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { u.serveConn(c) })
		}
	})
	return u
}

// serveConn answers the one query the Server sends on a connection, then
// holds the connection until the Server closes it, so that silence is a
// timeout, not an EOF.
func (u *upstream) serveConn(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	var n [2]byte
	if _, err := io.ReadFull(c, n[:]); err != nil {
		return
	}
	msg := make([]byte, binary.BigEndian.Uint16(n[:]))
	if _, err := io.ReadFull(c, msg); err != nil {
		return
	}
	u.seen <- seenQuery{"tcp", msg}
	for _, r := range u.handle(msg) {
		_, _ = c.Write(raw(u16(uint16(len(r))), r))
	}
	_, _ = io.Copy(io.Discard, c)
}

// listenBoth listens on UDP and TCP on the same free port of 127.0.0.1.
func listenBoth(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l
		}
		pc.Close()
	}
	t.Fatal("no port free for both UDP and TCP")
	return nil, nil
}

// deadUpstream is an address where nothing listens: queries to it are
// refused at once.
func deadUpstream(t testing.TB) netip.AddrPort {
	t.Helper()
	pc, l := listenBoth(t)
	a := netip.MustParseAddrPort(pc.LocalAddr().String())
	pc.Close()
	l.Close()
	return a
}

func (u *upstream) next(t testing.TB) seenQuery {
	t.Helper()
	select {
	case q := <-u.seen:
		return q
	case <-time.After(ioTimeout):
		t.Fatal("upstream got no query")
		return seenQuery{}
	}
}

func TestForward(t *testing.T) {
	answer := netip.MustParseAddr("192.0.2.1")
	good := startUpstream(t, answerWith(t, answer))
	silent := startUpstream(t, func([]byte) [][]byte { return nil })
	dead := deadUpstream(t)
	local := mapLookup(map[string][]netip.Addr{"web": addrs(t, "10.0.0.2")})
	tests := []struct {
		name     string
		upstream []netip.AddrPort
		tcp      bool
		rcode    RCode
		addrs    []netip.Addr
	}{
		{"answered", []netip.AddrPort{good.addr}, false, RCodeSuccess, []netip.Addr{answer}},
		{"answered over TCP", []netip.AddrPort{good.addr}, true, RCodeSuccess, []netip.Addr{answer}},
		{"first refuses", []netip.AddrPort{dead, good.addr}, false, RCodeSuccess, []netip.Addr{answer}},
		{"first refuses, TCP", []netip.AddrPort{dead, good.addr}, true, RCodeSuccess, []netip.Addr{answer}},
		{"first times out", []netip.AddrPort{silent.addr, good.addr}, false, RCodeSuccess, []netip.Addr{answer}},
		{"first times out, TCP", []netip.AddrPort{silent.addr, good.addr}, true, RCodeSuccess, []netip.Addr{answer}},
		{"all down", []netip.AddrPort{dead, silent.addr}, false, RCodeServFail, nil},
		{"all down, TCP", []netip.AddrPort{dead, silent.addr}, true, RCodeServFail, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Config{Lookup: local, Upstream: tt.upstream, ForwardTimeout: 100 * time.Millisecond})
			msg := query(t, 0x7777, "Example.ORG.", TypeA, 0)
			var got []byte
			if tt.tcp {
				got = exchangeTCP(t, s.tcp, msg)
			} else {
				got = exchangeUDP(t, s.udp, msg)
			}
			r := decode(t, got)
			if r.ID != 0x7777 || r.Name != "Example.ORG." {
				t.Errorf("reply ID %#x name %q, want 0x7777 Example.ORG.", r.ID, r.Name)
			}
			if r.rcode() != tt.rcode || !sameSet(r.Addrs, tt.addrs) {
				t.Errorf("rcode %v answers %v, want %v %v", r.rcode(), r.Addrs, tt.rcode, tt.addrs)
			}
			st := s.Stats()
			if tt.rcode == RCodeSuccess && st.Forwarded != 1 || tt.rcode == RCodeServFail && st.Failed != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
	// Drain what the upstreams saw, checking the network and question.
	for _, u := range []*upstream{good, silent} {
		for len(u.seen) > 0 {
			q := <-u.seen
			pq, err := ParseQuery(q.msg)
			if err != nil || pq.Question.Name != "Example.ORG." {
				t.Errorf("upstream saw %+v, %v", pq, err)
			}
		}
	}
}

// The Server relays only the reply that matches its query: the right ID,
// a response, the same question; the others are skipped.
func TestForwardSkipsMismatchedReplies(t *testing.T) {
	want := netip.MustParseAddr("192.0.2.7")
	u := startUpstream(t, func(msg []byte) [][]byte {
		right := answerWith(t, want)(msg)[0]
		wrongID := answerWith(t, netip.MustParseAddr("192.0.2.66"))(msg)[0]
		wrongID[0] ^= 0xFF
		notResponse := append([]byte(nil), right...)
		notResponse[2] &^= 0x80
		q, _ := ParseQuery(msg)
		q.Question.Name = "other.example."
		wrongName, _ := AppendResponse(nil, q, Response{Addrs: addrs(t, "192.0.2.67")}, 512)
		q.Question.Name, q.Question.Type = "example.org.", TypeAAAA
		wrongType, _ := AppendResponse(nil, q, Response{}, 512)
		return [][]byte{wrongID, notResponse, wrongName, wrongType, []byte{1}, right}
	})
	s := startServer(t, Config{Lookup: mapLookup(nil), Upstream: []netip.AddrPort{u.addr}})
	r := decode(t, exchangeUDP(t, s.udp, query(t, 42, "EXAMPLE.org.", TypeA, 0)))
	if r.ID != 42 || len(r.Addrs) != 1 || r.Addrs[0] != want {
		t.Errorf("reply ID %d answers %v, want 42 [%s]", r.ID, r.Addrs, want)
	}
}

// An upstream reply larger than the client takes over UDP is cut to its
// question with TC set, so the client retries over TCP.
func TestForwardTruncatesOversizedReply(t *testing.T) {
	u := startUpstream(t, answerWith(t, seqAddrs(40)...))
	s := startServer(t, Config{Lookup: mapLookup(nil), Upstream: []netip.AddrPort{u.addr}})
	msg := exchangeUDP(t, s.udp, query(t, 5, "example.org.", TypeA, 0))
	r := decode(t, msg)
	if len(msg) > 512 || !r.Truncated || len(r.Addrs) != 0 || r.Name != "example.org." || r.ID != 5 {
		t.Errorf("%d bytes, reply %+v; want a truncated reply of the question", len(msg), r)
	}
	r = decode(t, exchangeTCP(t, s.tcp, query(t, 6, "example.org.", TypeA, 0)))
	if len(r.Addrs) != 40 || r.Truncated {
		t.Errorf("over TCP: %d answers, TC %v; want 40, false", len(r.Addrs), r.Truncated)
	}
	if a, b := u.next(t), u.next(t); a.network != "udp" || b.network != "tcp" {
		t.Errorf("upstream saw %s then %s, want udp then tcp", a.network, b.network)
	}
}

// The query's bytes reach the upstream unchanged but for the ID: the OPT
// record and the class travel along.
func TestForwardRelaysQueryBytes(t *testing.T) {
	u := startUpstream(t, answerWith(t))
	s := startServer(t, Config{Lookup: mapLookup(nil), Upstream: []netip.AddrPort{u.addr}})
	msg := raw(hdr(9, flagRD, 1, 0, 0, 1), wire("version", "bind"), u16(16), u16(3), optRR(1232, 1<<15, nil))
	r := decode(t, exchangeUDP(t, s.udp, msg))
	if r.ID != 9 || r.RCode != RCodeSuccess || !r.HasOPT {
		t.Errorf("reply %+v", r)
	}
	got := u.next(t).msg
	if string(got[2:]) != string(msg[2:]) {
		t.Errorf("upstream got\n%x\nwant\n%x", got, msg)
	}
}

// Beyond MaxForwards in flight a query gets SERVFAIL at once, and Close
// cancels the forwards in flight.
func TestForwardLimitAndClose(t *testing.T) {
	u := startUpstream(t, func([]byte) [][]byte { return nil })
	s, err := NewServer(Config{
		Lookup:         mapLookup(nil),
		Upstream:       []netip.AddrPort{u.addr},
		MaxForwards:    1,
		ForwardTimeout: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(pc) }()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(query(t, 1, "slow.example.", TypeA, 0)); err != nil {
		t.Fatal(err)
	}
	u.next(t) // the first forward is in flight
	r := decode(t, roundTripUDP(t, c, query(t, 2, "fast.example.", TypeA, 0)))
	if r.ID != 2 || r.RCode != RCodeServFail {
		t.Errorf("second query: ID %d rcode %v, want 2 SERVFAIL", r.ID, r.RCode)
	}
	s.Close() // returns only once the forward gave up
	if err := <-errc; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v", err)
	}
	if st := s.Stats(); st.Failed != 2 || st.Forwarded != 0 {
		t.Errorf("stats %+v, want 2 failed", st)
	}
}
