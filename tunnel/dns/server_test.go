package dns

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"testing"
)

func TestServerAnswers(t *testing.T) {
	web := addrs(t, "10.0.0.2", "10.0.0.3", "10.0.0.4")
	s := startServer(t, Config{
		Lookup: NewTable([]Task{
			{Service: "web", Slot: 1, Name: "web.1.aaa", Addr: web[0]},
			{Service: "web", Slot: 2, Name: "web.2.bbb", Addr: web[1]},
			{Service: "web", Slot: 3, Name: "web.3.ccc", Addr: web[2]},
			{Service: "dual", Slot: 1, Addr: netip.MustParseAddr("10.0.0.9")},
			{Service: "dual", Slot: 2, Addr: netip.MustParseAddr("fd00::9")},
		}).Lookup,
		Domain: "swarm",
		Search: []string{"corp.example."},
	})
	tests := []struct {
		name  string
		query []byte
		rcode RCode
		aa    bool
		addrs []netip.Addr // compared as sets
	}{
		{"service", query(t, 1, "web.", TypeA, 0), RCodeSuccess, true, web},
		{"no trailing dot", query(t, 1, "web", TypeA, 0), RCodeSuccess, true, web},
		{"tasks.SERVICE", query(t, 1, "tasks.web.", TypeA, 0), RCodeSuccess, true, web},
		{"SERVICE.SLOT", query(t, 1, "web.2.", TypeA, 0), RCodeSuccess, true, web[1:2]},
		{"task name", query(t, 1, "web.3.ccc.", TypeA, 0), RCodeSuccess, true, web[2:3]},
		{"upper case", query(t, 1, "WeB.", TypeA, 0), RCodeSuccess, true, web},
		{"domain suffix", query(t, 1, "tasks.web.Swarm.", TypeA, 0), RCodeSuccess, true, web},
		{"search suffix", query(t, 1, "web.1.corp.example.", TypeA, 0), RCodeSuccess, true, web[:1]},
		{"AAAA of an IPv4-only name", query(t, 1, "web.", TypeAAAA, 0), RCodeSuccess, true, nil},
		{"A of a dual name", query(t, 1, "dual.", TypeA, 0), RCodeSuccess, true, addrs(t, "10.0.0.9")},
		{"AAAA of a dual name", query(t, 1, "dual.", TypeAAAA, 0), RCodeSuccess, true, addrs(t, "fd00::9")},
		{"MX of a service", query(t, 1, "web.", 15, 0), RCodeSuccess, true, nil},
		{"unknown in the domain", query(t, 1, "db.swarm.", TypeA, 0), RCodeNXDomain, true, nil},
		{"AAAA unknown in the domain", query(t, 1, "db.swarm.", TypeAAAA, 0), RCodeNXDomain, true, nil},
		{"the domain", query(t, 1, "swarm.", TypeA, 0), RCodeSuccess, true, nil},
		{"unknown, no upstream", query(t, 1, "example.org.", TypeA, 0), RCodeServFail, false, nil},
		{"other class, no upstream", raw(hdr(1, 0, 1, 0, 0, 0), wire("web"), u16(1), u16(3)), RCodeServFail, false, nil},
		{"malformed", raw(hdr(1, 0, 1, 0, 0, 0), []byte{0xC0, 12}, typeIN(TypeA)), RCodeFormErr, false, nil},
		{"two questions", raw(hdr(1, 0, 2, 0, 0, 0), wire("web"), typeIN(TypeA), wire("web"), typeIN(TypeA)), RCodeFormErr, false, nil},
		{"opcode STATUS", raw(hdr(1, 2<<11, 1, 0, 0, 0), wire("web"), typeIN(TypeA)), RCodeNotImp, false, nil},
		{"EDNS version 1", raw(hdr(1, 0, 1, 0, 0, 1), wire("web"), typeIN(TypeA), optRR(1232, 1<<16, nil)), RCodeBadVers, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, transport := range []string{"udp", "tcp"} {
				msg := append([]byte(nil), tt.query...)
				msg[0], msg[1] = 0xAB, byte(len(tt.name))
				var r reply
				if transport == "udp" {
					r = decode(t, exchangeUDP(t, s.udp, msg))
				} else {
					r = decode(t, exchangeTCP(t, s.tcp, msg))
				}
				if r.ID != uint16(0xAB00|len(tt.name)) || !r.Response {
					t.Errorf("%s: ID %#x response %v, want %#x true", transport, r.ID, r.Response, 0xAB00|len(tt.name))
				}
				if r.rcode() != tt.rcode || r.Authoritative != tt.aa {
					t.Errorf("%s: rcode %v AA %v, want %v %v", transport, r.rcode(), r.Authoritative, tt.rcode, tt.aa)
				}
				if !sameSet(r.Addrs, tt.addrs) {
					t.Errorf("%s: answers %v, want %v", transport, r.Addrs, tt.addrs)
				}
			}
		})
	}
}

func sameSet(a, b []netip.Addr) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, netip.Addr.Compare)
	slices.SortFunc(b, netip.Addr.Compare)
	return slices.Equal(a, b)
}

// A response, or a message too short to have an ID, gets no reply: the
// next reply on the socket is the next query's.
func TestServerDropsResponses(t *testing.T) {
	s := startServer(t, Config{Lookup: mapLookup(map[string][]netip.Addr{"web": addrs(t, "10.0.0.2")})})
	c, err := net.Dial("udp", s.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, msg := range [][]byte{
		raw(hdr(1, flagQR, 1, 0, 0, 0), wire("web"), typeIN(TypeA)),
		{0x00, 0x02, 0x01},
	} {
		if _, err := c.Write(msg); err != nil {
			t.Fatal(err)
		}
	}
	r := decode(t, roundTripUDP(t, c, query(t, 3, "web.", TypeA, 0)))
	if r.ID != 3 {
		t.Fatalf("first reply has ID %d, want 3", r.ID)
	}
	st := s.Stats()
	if st.Dropped != 2 || st.Local != 1 || st.Queries != 3 {
		t.Errorf("stats %+v, want 2 dropped, 1 local of 3", st)
	}
}

// Round robin: each reply has every address once, and the order varies.
// The shuffle source is seeded, so the test is deterministic.
func TestServerRoundRobin(t *testing.T) {
	const seed, queries = 20240611, 300
	t.Logf("seed %d", seed)
	want := seqAddrs(5)
	s := startServer(t, Config{
		Lookup: mapLookup(map[string][]netip.Addr{"web": want}),
		Rand:   rand.NewPCG(seed, seed),
	})
	c, err := net.Dial("udp", s.udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first := make(map[netip.Addr]int)
	orders := make(map[string]bool)
	var seq []string
	for i := range queries {
		r := decode(t, roundTripUDP(t, c, query(t, uint16(i), "web.", TypeA, 0)))
		if !sameSet(r.Addrs, want) {
			t.Fatalf("reply %d has %v, want a permutation of %v", i, r.Addrs, want)
		}
		first[r.Addrs[0]]++
		orders[fmt.Sprint(r.Addrs)] = true
		seq = append(seq, fmt.Sprint(r.Addrs))
	}
	// Each address leads about queries/5 = 60 times; 30 is over 5 standard
	// deviations away.
	for _, a := range want {
		if n := first[a]; n < 30 || n > 90 {
			t.Errorf("%s first in %d of %d replies, want about %d", a, n, queries, queries/5)
		}
	}
	// 300 draws from 120 orders cover about 110 of them.
	if len(orders) < 80 {
		t.Errorf("%d distinct orders in %d replies", len(orders), queries)
	}

	// The same seed gives the same orders.
	again := startServer(t, Config{
		Lookup: mapLookup(map[string][]netip.Addr{"web": want}),
		Rand:   rand.NewPCG(seed, seed),
	})
	for i := range 10 {
		r := decode(t, exchangeUDP(t, again.udp, query(t, uint16(i), "web.", TypeA, 0)))
		if got := fmt.Sprint(r.Addrs); got != seq[i] {
			t.Fatalf("reply %d with the same seed: %s, want %s", i, got, seq[i])
		}
	}
}

// The lookup's slice is not shuffled in place.
func TestServerDoesNotModifyLookupSlice(t *testing.T) {
	want := seqAddrs(8)
	given := slices.Clone(want)
	s := startServer(t, Config{Lookup: mapLookup(map[string][]netip.Addr{"web": given})})
	for i := range 20 {
		decode(t, exchangeUDP(t, s.udp, query(t, uint16(i), "web.", TypeA, 0)))
	}
	if !slices.Equal(given, want) {
		t.Errorf("lookup slice became %v", given)
	}
}

func TestServerEDNSAndTruncation(t *testing.T) {
	s := startServer(t, Config{Lookup: mapLookup(map[string][]netip.Addr{
		"big":  seqAddrs(40),
		"huge": seqAddrs(300),
	})})
	// A question for "big." is 9 bytes, "huge." 10, an A record 16, an
	// OPT record 11.
	tests := []struct {
		name      string
		tcp       bool
		query     []byte
		maxLen    int
		answers   int
		truncated bool
		opt       bool
	}{
		{"no EDNS: 512", false, query(t, 1, "big.", TypeA, 0), 512, (512 - 12 - 9) / 16, true, false},
		{"EDNS 1232 fits", false, query(t, 1, "big.", TypeA, 1232), 1232, 40, false, true},
		{"EDNS below 512 is 512", false, query(t, 1, "big.", TypeA, 100), 512, (512 - 12 - 9 - 11) / 16, true, true},
		{"EDNS capped at 4096", false, query(t, 1, "huge.", TypeA, 65000), 4096, (4096 - 12 - 10 - 11) / 16, true, true},
		{"TCP takes all", true, query(t, 1, "huge.", TypeA, 0), maxMsgSize, 300, false, false},
		{"TCP with EDNS takes all", true, query(t, 1, "huge.", TypeA, 1232), maxMsgSize, 300, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var msg []byte
			if tt.tcp {
				msg = exchangeTCP(t, s.tcp, tt.query)
			} else {
				msg = exchangeUDP(t, s.udp, tt.query)
			}
			if len(msg) > tt.maxLen {
				t.Errorf("reply is %d bytes, more than %d", len(msg), tt.maxLen)
			}
			r := decode(t, msg)
			if len(r.Addrs) != tt.answers || r.Truncated != tt.truncated {
				t.Errorf("%d answers, TC %v; want %d, %v", len(r.Addrs), r.Truncated, tt.answers, tt.truncated)
			}
			if r.HasOPT != tt.opt || r.HasOPT && r.OPTSize != 4096 {
				t.Errorf("OPT %v size %d, want %v 4096", r.HasOPT, r.OPTSize, tt.opt)
			}
		})
	}
	if st := s.Stats(); st.Truncated != 3 {
		t.Errorf("%d truncated, want 3", st.Truncated)
	}
}

func TestServerClose(t *testing.T) {
	s, err := NewServer(Config{Lookup: mapLookup(nil)})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error)
	go func() { errc <- s.Serve(pc) }()
	// Serve may not have started reading yet; Close must stop it either
	// way.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	pc2, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(pc2); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Close = %v, want ErrServerClosed", err)
	}
	if _, err := pc2.WriteTo([]byte{0}, pc.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("the socket given after Close is open: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ServeTCP(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("ServeTCP after Close = %v, want ErrServerClosed", err)
	}
}

func TestConfigValidate(t *testing.T) {
	lookup := mapLookup(nil)
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"minimal", Config{Lookup: lookup}, true},
		{"full", Config{
			Lookup: lookup, Upstream: []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:53")},
			Domain: "swarm.", Search: []string{"a.example", "B.example."}, TTL: 5,
		}, true},
		{"no lookup", Config{}, false},
		{"zero upstream", Config{Lookup: lookup, Upstream: []netip.AddrPort{{}}}, false},
		{"upstream port 0", Config{Lookup: lookup, Upstream: []netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:0")}}, false},
		{"root domain", Config{Lookup: lookup, Domain: "."}, false},
		{"bad domain", Config{Lookup: lookup, Domain: "a..b"}, false},
		{"empty search", Config{Lookup: lookup, Search: []string{""}}, false},
		{"negative timeout", Config{Lookup: lookup, ForwardTimeout: -1}, false},
		{"negative limit", Config{Lookup: lookup, MaxForwards: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
			if _, err := NewServer(tt.cfg); (err == nil) != tt.ok {
				t.Errorf("NewServer = %v, want ok %v", err, tt.ok)
			}
		})
	}
}
