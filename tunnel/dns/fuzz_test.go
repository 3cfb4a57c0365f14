package dns

import (
	"bytes"
	"errors"
	"net/netip"
	"testing"
)

// fuzzServer answers from a fixed table with no upstream, so that every
// query is answered in place, without a socket.
func fuzzServer(f *testing.F) *Server {
	s, err := NewServer(Config{
		Lookup: NewTable([]Task{
			{Service: "web", Slot: 1, Name: "web.1.aaa", Addr: netip.MustParseAddr("10.0.0.2")},
			{Service: "web", Slot: 2, Addr: netip.MustParseAddr("fd00::3")},
			{Service: "big", Slot: 1, Addr: netip.MustParseAddr("10.0.0.4")},
		}).Lookup,
		Domain: "swarm",
		Search: []string{"example.com"},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	return s
}

func addQuerySeeds(f *testing.F) {
	for _, q := range []Query{
		{Header: Header{ID: 1, RecursionDesired: true}, Question: Question{Name: "web.", Type: TypeA, Class: ClassINET}},
		{Header: Header{ID: 2}, Question: Question{Name: "Tasks.Web.Swarm.", Type: TypeAAAA, Class: ClassINET}},
		{Header: Header{ID: 3}, Question: Question{Name: ".", Type: 2, Class: 3}, HasEDNS: true, EDNS: EDNS{UDPSize: 1232, DNSSECOK: true}},
		{Header: Header{ID: 4, CheckingDisabled: true}, Question: Question{Name: `a\.b\000.c`, Type: 255, Class: 255}, HasEDNS: true, EDNS: EDNS{Version: 1}},
	} {
		msg, err := AppendQuery(nil, q)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg)
	}
	web := raw(wire("web"), typeIN(TypeA))
	for _, msg := range [][]byte{
		nil,
		hdr(1, 0, 1, 0, 0, 0),
		raw(hdr(1, 0, 1, 0, 0, 0), []byte{0xC0, 12}, typeIN(TypeA)),
		raw(hdr(1, 0, 1, 1, 1, 2), web, []byte{0xC0, 12}, typeIN(TypeA), u32(0), u16(0),
			wire("x"), u16(2), u16(1), u32(0), u16(0), []byte{1, 'x', 0xC0, 12}, u16(1), u16(1), u32(0), u16(0),
			optRR(4096, 0, raw(u16(10), u16(2), []byte{1, 2}))),
		raw(hdr(1, 0, 1, 0, 0, 2), web, optRR(512, 0, nil), optRR(512, 0, nil)),
		raw(hdr(1, 2<<11, 1, 0, 0, 0), web),
	} {
		f.Add(msg)
	}
}

// FuzzParseQuery: parsing never panics; an accepted query re-encodes to
// the same question bytes and parses back to the same Query; replies to it
// are well-formed and fit the client's size; the Server answers any input
// without panicking.
func FuzzParseQuery(f *testing.F) {
	addQuerySeeds(f)
	s := fuzzServer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		h, herr := ParseHeader(data)
		if (herr == nil) != (len(data) >= headerLen) {
			t.Fatalf("ParseHeader(%d bytes) error %v", len(data), herr)
		}
		checkServerAnswer(t, s, data, h, herr == nil)

		q, err := ParseQuery(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Offset < 0 || pe.Offset > len(data) {
				t.Fatalf("error %v is not a *ParseError within the message", err)
			}
			return
		}
		if q.Header != h {
			t.Fatalf("ParseQuery header %+v, ParseHeader %+v", q.Header, h)
		}
		msg, err := AppendQuery(nil, q)
		if err != nil {
			t.Fatalf("AppendQuery of a parsed query %+v: %v", q, err)
		}
		question, _ := appendQuestion(nil, q.Question)
		if !bytes.Equal(msg[headerLen:headerLen+len(question)], data[headerLen:headerLen+len(question)]) {
			t.Fatalf("question re-encoded as %x, was %x", msg[headerLen:headerLen+len(question)], data[headerLen:headerLen+len(question)])
		}
		q2, err := ParseQuery(msg)
		if err != nil {
			t.Fatalf("ParseQuery(AppendQuery(%+v)): %v", q, err)
		}
		want := q
		want.ANCount, want.NSCount, want.ARCount = 0, 0, 0
		if q.HasEDNS {
			want.ARCount = 1
		}
		if q2 != want {
			t.Fatalf("round trip:\n%+v\nwant\n%+v", q2, want)
		}

		r := Response{Addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")}}
		if q.HasEDNS {
			r.RCode = RCodeBadVers
		}
		reply, err := AppendResponse(nil, q, r, q.MaxUDPSize())
		if err != nil {
			t.Fatalf("AppendResponse: %v", err)
		}
		if len(reply) > q.MaxUDPSize() {
			t.Fatalf("reply %d bytes, client takes %d", len(reply), q.MaxUDPSize())
		}
		if rh, _ := ParseHeader(reply); rh.ID != q.ID || !rh.Response || rh.QDCount != 1 {
			t.Fatalf("reply header %+v", rh)
		}
	})
}

// checkServerAnswer runs the Server's handling of data over both
// transports: a reply goes to every query with a header, never to a
// response, and keeps the query's ID and fits the transport.
func checkServerAnswer(t *testing.T, s *Server, data []byte, h Header, hasHeader bool) {
	for _, tcp := range []bool{false, true} {
		reply, _, act := s.answer(nil, data, tcp)
		if act == actForward {
			t.Fatal("forward with no upstream")
		}
		if want := hasHeader && !h.Response; (act == actReply) != want {
			t.Fatalf("tcp %v: action %d, want a reply %v", tcp, act, want)
		}
		if act != actReply {
			continue
		}
		rh, err := ParseHeader(reply)
		if err != nil || rh.ID != h.ID || !rh.Response {
			t.Fatalf("tcp %v: reply header %+v, %v", tcp, rh, err)
		}
		if !tcp && len(reply) > maxUDPSize {
			t.Fatalf("UDP reply of %d bytes", len(reply))
		}
	}
}

// FuzzAppendQuery: the encoder accepts a name or fails with a sentinel;
// what it encodes parses back, and the parsed name encodes to the same
// bytes.
func FuzzAppendQuery(f *testing.F) {
	for _, name := range []string{"web", "web.", ".", "", "a..b", `\065\.\\x`, `\256`, "Tasks.WEB.swarm"} {
		f.Add(name, uint16(1), uint16(1), uint16(0))
	}
	f.Add("web.1.aaa", uint16(28), uint16(1), uint16(1232))
	f.Fuzz(func(t *testing.T, name string, qtype, class, udpSize uint16) {
		q := Query{
			Header:   Header{ID: 7, RecursionDesired: true},
			Question: Question{Name: name, Type: Type(qtype), Class: Class(class)},
			HasEDNS:  udpSize != 0,
			EDNS:     EDNS{UDPSize: udpSize},
		}
		msg, err := AppendQuery(nil, q)
		if err != nil {
			for _, want := range []error{ErrEmptyLabel, ErrLabelTooLong, ErrNameTooLong, ErrBadEscape} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("AppendQuery(%q): unexpected error %v", name, err)
		}
		p, err := ParseQuery(msg)
		if err != nil {
			t.Fatalf("ParseQuery(AppendQuery(%q)): %v", name, err)
		}
		if p.Question.Type != q.Question.Type || p.Question.Class != q.Question.Class || p.HasEDNS != q.HasEDNS || p.EDNS != q.EDNS {
			t.Fatalf("parsed %+v from %+v", p, q)
		}
		again, err := AppendQuery(nil, p)
		if err != nil || !bytes.Equal(again, msg) {
			t.Fatalf("name %q parsed as %q re-encodes to %x, %v; want %x", name, p.Question.Name, again, err, msg)
		}
	})
}
