package dns

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseQuery(t *testing.T) {
	web := raw(wire("web"), typeIN(TypeA))
	label63 := strings.Repeat("a", 63)
	tests := []struct {
		name string
		msg  []byte
		want Query
	}{
		{
			name: "A",
			msg:  raw(hdr(0x1234, flagRD, 1, 0, 0, 0), web),
			want: Query{
				Header:   Header{ID: 0x1234, RecursionDesired: true, QDCount: 1},
				Question: Question{Name: "web.", Type: TypeA, Class: ClassINET},
			},
		},
		{
			name: "case kept",
			msg:  raw(hdr(1, 0, 1, 0, 0, 0), wire("Web", "SWARM"), typeIN(TypeAAAA)),
			want: Query{
				Header:   Header{ID: 1, QDCount: 1},
				Question: Question{Name: "Web.SWARM.", Type: TypeAAAA, Class: ClassINET},
			},
		},
		{
			name: "root",
			msg:  raw(hdr(2, 0, 1, 0, 0, 0), []byte{0}, u16(2), u16(1)),
			want: Query{
				Header:   Header{ID: 2, QDCount: 1},
				Question: Question{Name: ".", Type: 2, Class: ClassINET},
			},
		},
		{
			name: "bytes escaped",
			msg:  raw(hdr(3, 0, 1, 0, 0, 0), wire("a.b", `x\y`, "\x00 \xff"), u16(1), u16(3)),
			want: Query{
				Header:   Header{ID: 3, QDCount: 1},
				Question: Question{Name: `a\.b.x\\y.\000\032\255.`, Type: TypeA, Class: 3},
			},
		},
		{
			name: "255-octet name",
			msg:  raw(hdr(4, 0, 1, 0, 0, 0), wire(label63, label63, label63, label63[:61]), typeIN(TypeA)),
			want: Query{
				Header:   Header{ID: 4, QDCount: 1},
				Question: Question{Name: strings.Repeat(label63+".", 3) + label63[:61] + ".", Type: TypeA, Class: ClassINET},
			},
		},
		{
			name: "EDNS with DO and an option",
			msg: raw(hdr(5, flagRD, 1, 0, 0, 1), web,
				optRR(1232, 1<<15, raw(u16(10), u16(8), []byte("cookie!!")))),
			want: Query{
				Header:   Header{ID: 5, RecursionDesired: true, QDCount: 1, ARCount: 1},
				Question: Question{Name: "web.", Type: TypeA, Class: ClassINET},
				HasEDNS:  true,
				EDNS:     EDNS{UDPSize: 1232, DNSSECOK: true},
			},
		},
		{
			name: "EDNS version 1",
			msg:  raw(hdr(6, 0, 1, 0, 0, 1), web, optRR(4096, 1<<16, nil)),
			want: Query{
				Header:   Header{ID: 6, QDCount: 1, ARCount: 1},
				Question: Question{Name: "web.", Type: TypeA, Class: ClassINET},
				HasEDNS:  true,
				EDNS:     EDNS{UDPSize: 4096, Version: 1},
			},
		},
		{
			name: "answer, authority and additional records skipped",
			msg: raw(hdr(7, 0, 1, 1, 1, 2), web,
				[]byte{0xC0, 12}, typeIN(TypeA), u32(60), u16(4), []byte{10, 0, 0, 1},
				wire("ns"), u16(2), u16(1), u32(60), u16(2), []byte{0xC0, 12},
				[]byte{1, 'x', 0xC0, 12}, u16(16), u16(1), u32(0), u16(0),
				optRR(512, 0, nil)),
			want: Query{
				Header:   Header{ID: 7, QDCount: 1, ANCount: 1, NSCount: 1, ARCount: 2},
				Question: Question{Name: "web.", Type: TypeA, Class: ClassINET},
				HasEDNS:  true,
				EDNS:     EDNS{UDPSize: 512},
			},
		},
		{
			name: "trailing bytes ignored",
			msg:  raw(hdr(8, 0, 1, 0, 0, 0), web, []byte{1, 2, 3}),
			want: Query{
				Header:   Header{ID: 8, QDCount: 1},
				Question: Question{Name: "web.", Type: TypeA, Class: ClassINET},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseQuery(tt.msg)
			if err != nil {
				t.Fatalf("ParseQuery: %v", err)
			}
			if got != tt.want {
				t.Errorf("ParseQuery =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseQueryMalformed(t *testing.T) {
	web := raw(wire("web"), typeIN(TypeA))
	label63 := strings.Repeat("a", 63)
	tests := []struct {
		name    string
		msg     []byte
		err     error
		section string
	}{
		{"empty", nil, ErrShortMessage, "header"},
		{"short header", make([]byte, 11), ErrShortMessage, "header"},
		{"response", raw(hdr(1, flagQR, 1, 0, 0, 0), web), ErrNotQuery, "header"},
		{"no question", hdr(1, 0, 0, 0, 0, 0), ErrQuestionCount, "header"},
		{"two questions", raw(hdr(1, 0, 2, 0, 0, 0), web, web), ErrQuestionCount, "header"},
		{"no name", hdr(1, 0, 1, 0, 0, 0), ErrShortMessage, "question"},
		{"label past end", raw(hdr(1, 0, 1, 0, 0, 0), []byte{3, 'w', 'e'}), ErrShortMessage, "question"},
		{"no root octet", raw(hdr(1, 0, 1, 0, 0, 0), []byte{3, 'w', 'e', 'b'}), ErrShortMessage, "question"},
		{"no type", raw(hdr(1, 0, 1, 0, 0, 0), wire("web"), []byte{0}), ErrShortMessage, "question"},
		{"label type 01", raw(hdr(1, 0, 1, 0, 0, 0), []byte{0x41, 0}, typeIN(TypeA)), ErrLabelType, "question"},
		{"label type 10", raw(hdr(1, 0, 1, 0, 0, 0), []byte{0x80, 0}, typeIN(TypeA)), ErrLabelType, "question"},
		{"pointer", raw(hdr(1, 0, 1, 0, 0, 0), []byte{0xC0, 12}, typeIN(TypeA)), ErrCompressed, "question"},
		{"pointer after a label", raw(hdr(1, 0, 1, 0, 0, 0), []byte{1, 'a', 0xC0, 12}, typeIN(TypeA)), ErrCompressed, "question"},
		{"pointer loop", raw(hdr(1, 0, 1, 0, 0, 0), []byte{0xC0, 12}), ErrCompressed, "question"},
		{
			"256-octet name",
			raw(hdr(1, 0, 1, 0, 0, 0), wire(label63, label63, label63, label63[:62]), typeIN(TypeA)),
			ErrNameTooLong, "question",
		},
		{"missing additional", raw(hdr(1, 0, 1, 0, 0, 1), web), ErrShortMessage, "additional"},
		{"two OPT", raw(hdr(1, 0, 1, 0, 0, 2), web, optRR(512, 0, nil), optRR(512, 0, nil)), ErrMultipleOPT, "additional"},
		{
			"OPT not owned by the root",
			raw(hdr(1, 0, 1, 0, 0, 1), web, wire("x"), u16(uint16(TypeOPT)), u16(512), u32(0), u16(0)),
			ErrBadOPT, "additional",
		},
		{"OPT option header cut", raw(hdr(1, 0, 1, 0, 0, 1), web, optRR(512, 0, []byte{0, 10, 0})), ErrBadOPT, "additional"},
		{"OPT option past RDATA", raw(hdr(1, 0, 1, 0, 0, 1), web, optRR(512, 0, raw(u16(10), u16(9), make([]byte, 8)))), ErrBadOPT, "additional"},
		{"RDATA past end", raw(hdr(1, 0, 1, 0, 0, 1), web, optRR(512, 0, nil)[:9], u16(4), []byte{1}), ErrShortMessage, "additional"},
		{"record fixed part cut", raw(hdr(1, 0, 1, 1, 0, 0), web, []byte{0xC0, 12, 0, 1}), ErrShortMessage, "answer"},
		{"pointer cut", raw(hdr(1, 0, 1, 0, 1, 0), web, []byte{0xC0}), ErrShortMessage, "authority"},
		{"reserved label in a record", raw(hdr(1, 0, 1, 1, 0, 0), web, []byte{0x40}), ErrLabelType, "answer"},
		{
			"256-octet record name",
			raw(hdr(1, 0, 1, 1, 0, 0), web, wire(label63, label63, label63, label63[:62]), typeIN(TypeA), u32(0), u16(0)),
			ErrNameTooLong, "answer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := ParseQuery(tt.msg)
			if !errors.Is(err, tt.err) {
				t.Fatalf("ParseQuery error = %v, want %v", err, tt.err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.Section != tt.section {
				t.Errorf("section = %q, want %q", pe.Section, tt.section)
			}
			if pe.Offset < 0 || pe.Offset > len(tt.msg) {
				t.Errorf("offset %d outside the message (%d bytes)", pe.Offset, len(tt.msg))
			}
			if q != (Query{}) {
				t.Errorf("ParseQuery returned %+v with the error", q)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	msg := hdr(0xABCD, 0xFFFF, 1, 2, 3, 4)
	h, err := ParseHeader(msg)
	if err != nil {
		t.Fatal(err)
	}
	want := Header{
		ID: 0xABCD, Response: true, Opcode: 15, Authoritative: true, Truncated: true,
		RecursionDesired: true, RecursionAvailable: true, AuthenticData: true,
		CheckingDisabled: true, RCode: 15, QDCount: 1, ANCount: 2, NSCount: 3, ARCount: 4,
	}
	if h != want {
		t.Errorf("ParseHeader = %+v, want %+v", h, want)
	}
	// The Z bit is the one bit a Header drops.
	if got, want := appendHeader(nil, h), hdr(0xABCD, 0xFFBF, 1, 2, 3, 4); !bytes.Equal(got, want) {
		t.Errorf("appendHeader = %x, want %x", got, want)
	}
}

func TestAppendNameErrors(t *testing.T) {
	label64 := strings.Repeat("a", 64)
	long := strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("a", 62)
	tests := []struct {
		name string
		err  error
	}{
		{"", ErrEmptyLabel},
		{"..", ErrEmptyLabel},
		{"a..b", ErrEmptyLabel},
		{".a", ErrEmptyLabel},
		{label64, ErrLabelTooLong},
		{label64 + ".b", ErrLabelTooLong},
		{long, ErrNameTooLong},
		{`a\`, ErrBadEscape},
		{`a\25`, ErrBadEscape},
		{`a\2x5`, ErrBadEscape},
		{`\256`, ErrBadEscape},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := AppendQuery(dst, Query{Question: Question{Name: tt.name}})
			if !errors.Is(err, tt.err) {
				t.Fatalf("AppendQuery(%q) error = %v, want %v", tt.name, err, tt.err)
			}
			if string(got) != "keep" {
				t.Errorf("dst changed to %q", got)
			}
		})
	}
}

func TestNameRoundTrip(t *testing.T) {
	tests := []struct {
		in, wire, out string
	}{
		{"web", "\x03web\x00", "web."},
		{"web.", "\x03web\x00", "web."},
		{".", "\x00", "."},
		{"Tasks.WEB", "\x05Tasks\x03WEB\x00", "Tasks.WEB."},
		{`\065b`, "\x02Ab\x00", "Ab."},
		{`a\.b.c`, "\x03a.b\x01c\x00", `a\.b.c.`},
		{`\\`, "\x01\\\x00", `\\.`},
		{`\000\255\ `, "\x03\x00\xff \x00", `\000\255\032.`},
		{`\x`, "\x01x\x00", "x."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			w, err := appendName(nil, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(w) != tt.wire {
				t.Fatalf("wire = %q, want %q", w, tt.wire)
			}
			out, end, err := parseName(w, 0)
			if err != nil || end != len(w) {
				t.Fatalf("parseName = %q, %d, %v", out, end, err)
			}
			if out != tt.out {
				t.Errorf("parsed = %q, want %q", out, tt.out)
			}
		})
	}
}

func TestCanonicalName(t *testing.T) {
	for in, want := range map[string]string{
		"web.":          "web",
		"Tasks.WEB.":    "tasks.web",
		"web":           "web",
		".":             "",
		`A\.B\255.`:     `a\.b\255`,
		"already.lower": "already.lower",
	} {
		if got := canonicalName(in); got != want {
			t.Errorf("canonicalName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaxUDPSize(t *testing.T) {
	tests := []struct {
		q    Query
		want int
	}{
		{Query{}, 512},
		{Query{HasEDNS: true, EDNS: EDNS{UDPSize: 0}}, 512},
		{Query{HasEDNS: true, EDNS: EDNS{UDPSize: 100}}, 512},
		{Query{HasEDNS: true, EDNS: EDNS{UDPSize: 1232}}, 1232},
		{Query{HasEDNS: true, EDNS: EDNS{UDPSize: 4096}}, 4096},
		{Query{HasEDNS: true, EDNS: EDNS{UDPSize: 65535}}, 4096},
	}
	for _, tt := range tests {
		if got := tt.q.MaxUDPSize(); got != tt.want {
			t.Errorf("MaxUDPSize(%+v) = %d, want %d", tt.q.EDNS, got, tt.want)
		}
	}
}

func TestAppendResponse(t *testing.T) {
	q, err := ParseQuery(query(t, 9, "big.", TypeA, 0))
	if err != nil {
		t.Fatal(err)
	}
	edns := q
	edns.HasEDNS, edns.EDNS = true, EDNS{UDPSize: 4096, DNSSECOK: true}
	tests := []struct {
		name      string
		q         Query
		r         Response
		maxSize   int
		answers   int
		truncated bool
	}{
		{"fits", q, Response{Addrs: seqAddrs(30)}, 512, 30, false},
		{"one too many", q, Response{Addrs: seqAddrs(31)}, 512, 30, true},
		{"size below 512 is 512", q, Response{Addrs: seqAddrs(31)}, 10, 30, true},
		{"OPT takes room", edns, Response{Addrs: seqAddrs(30)}, 512, 30, false},
		{"OPT takes room, cut", edns, Response{Addrs: seqAddrs(31)}, 512, 30, true},
		{"IPv6", q, Response{Addrs: addrs(t, "fd00::1", "10.0.0.1", "fd00::2")}, 512, 3, false},
		{"big size", edns, Response{Addrs: seqAddrs(300)}, 4096, 254, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := AppendResponse(nil, tt.q, tt.r, tt.maxSize)
			if err != nil {
				t.Fatal(err)
			}
			if len(msg) > max(tt.maxSize, 512) {
				t.Errorf("reply is %d bytes, more than %d", len(msg), tt.maxSize)
			}
			r := decode(t, msg)
			if len(r.Addrs) != tt.answers || r.Truncated != tt.truncated {
				t.Errorf("%d answers, TC %v; want %d, %v", len(r.Addrs), r.Truncated, tt.answers, tt.truncated)
			}
			for i, a := range r.Addrs {
				if a != tt.r.Addrs[i] {
					t.Fatalf("answer %d = %s, want %s", i, a, tt.r.Addrs[i])
				}
			}
			if r.HasOPT != tt.q.HasEDNS || r.HasOPT && r.OPTSize != 4096 {
				t.Errorf("OPT %v size %d; want %v, 4096", r.HasOPT, r.OPTSize, tt.q.HasEDNS)
			}
		})
	}
}

func TestAppendResponseErrors(t *testing.T) {
	q := Query{Question: Question{Name: "web.", Type: TypeA, Class: ClassINET}}
	tests := []struct {
		name string
		q    Query
		r    Response
		err  error
	}{
		{"BADVERS needs EDNS", q, Response{RCode: RCodeBadVers}, ErrNeedsEDNS},
		{"zero address", q, Response{Addrs: make([]netip.Addr, 1)}, ErrInvalidAddr},
		{"bad name", Query{Question: Question{Name: "a..b"}}, Response{}, ErrEmptyLabel},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendResponse([]byte("keep"), tt.q, tt.r, 512)
			if !errors.Is(err, tt.err) {
				t.Fatalf("error = %v, want %v", err, tt.err)
			}
			if err != nil && string(got) != "keep" {
				t.Errorf("dst changed to %q", got)
			}
		})
	}
}
