package tunnel

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"

	"github.com/actorswarm/swarm/tunnel/tunneltest"
)

const testVNI = 42

// pair is two forwarders on loopback joined by network testVNI, with fake
// TUNs: 10.77.0.1 is local to a, 10.77.0.2 to b.
type pair struct {
	a, b       *Forwarder
	tunA, tunB *tunneltest.TUN
}

func newPair(t *testing.T, cfg Config) *pair {
	t.Helper()
	leakCheck(t)
	cfg.ListenAddr = netip.AddrPortFrom(loopback, 0)
	cfg.Peers = []netip.Addr{loopback}
	p := &pair{
		a:    startForwarder(t, cfg),
		b:    startForwarder(t, cfg),
		tunA: tunneltest.NewTUN(4096),
		tunB: tunneltest.NewTUN(4096),
	}
	mustOK(t, p.a.SetEndpoints(testVNI, map[netip.Addr]netip.AddrPort{ovlA: {}, ovlB: p.b.Addr()}))
	mustOK(t, p.b.SetEndpoints(testVNI, map[netip.Addr]netip.AddrPort{ovlB: {}, ovlA: p.a.Addr()}))
	mustOK(t, p.a.AddNetwork(testVNI, p.tunA))
	mustOK(t, p.b.AddNetwork(testVNI, p.tunB))
	return p
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sendFrom sends datagram to the forwarder from a socket bound to src.
func sendFrom(t testing.TB, src netip.Addr, to netip.AddrPort, datagram []byte) {
	t.Helper()
	c, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)), net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(datagram); err != nil {
		t.Fatal(err)
	}
}

func encap(t testing.TB, vni uint32, inner []byte) []byte {
	t.Helper()
	d, err := AppendEncap(nil, vni, inner)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestForwarderBothWays(t *testing.T) {
	p := newPair(t, Config{})
	for seq := range uint16(10) {
		ping := tunneltest.Ping(ovlA, ovlB, seq, []byte("over the overlay"))
		mustOK(t, p.tunA.Inject(ping))
		mustEqual(t, "a→b", recv(t, p.tunB), ping)

		pong := tunneltest.Ping(ovlB, ovlA, seq, []byte("and back"))
		mustOK(t, p.tunB.Inject(pong))
		mustEqual(t, "b→a", recv(t, p.tunA), pong)
	}
	ping := tunneltest.Ping(ovlA, ovlB, 0, []byte("over the overlay"))
	eventually(t, "counters", func() bool {
		sa, sb := p.a.Stats(), p.b.Stats()
		return sa.PacketsOut == 10 && sa.PacketsIn == 10 && sb.PacketsOut == 10 && sb.PacketsIn == 10
	})
	sa := p.a.Stats()
	if sa.BytesOut != uint64(10*len(ping)) || sa.Drops != (Drops{}) {
		t.Errorf("a stats: %+v", sa)
	}
}

// TestForwarderBursts sends bursts larger than a batch each way, with one
// reader of the socket (which handles its batches inside the poller's
// wait and waits again after a short batch without another call) and
// with several: every packet arrives.
func TestForwarderBursts(t *testing.T) {
	for _, readers := range []int{1, 3} {
		t.Run(fmt.Sprintf("readers=%d", readers), func(t *testing.T) {
			p := newPair(t, Config{BatchSize: 8, Readers: readers})
			for round := range 3 {
				for _, dir := range []struct {
					from, to *tunneltest.TUN
					src, dst netip.Addr
				}{{p.tunA, p.tunB, ovlA, ovlB}, {p.tunB, p.tunA, ovlB, ovlA}} {
					const burst = 100
					want := map[string]bool{}
					for seq := range uint16(burst) {
						ping := tunneltest.Ping(dir.src, dir.dst, uint16(round)*burst+seq, []byte("burst"))
						want[string(ping)] = true
						mustOK(t, dir.from.Inject(ping))
					}
					for range burst {
						got := recv(t, dir.to)
						if !want[string(got)] {
							t.Fatalf("round %d %s→%s: unexpected or repeated packet %x", round, dir.src, dir.dst, got)
						}
						delete(want, string(got))
					}
				}
			}
			eventually(t, "counters", func() bool {
				sa, sb := p.a.Stats(), p.b.Stats()
				return sa.PacketsOut == 300 && sa.PacketsIn == 300 && sb.PacketsOut == 300 && sb.PacketsIn == 300
			})
		})
	}
}

func TestForwarderPadding(t *testing.T) {
	p := newPair(t, Config{})
	ping := tunneltest.Ping(ovlA, ovlB, 1, nil)
	mustOK(t, p.tunA.Inject(append(append([]byte(nil), ping...), 0, 0, 0)))
	mustEqual(t, "trimmed packet", recv(t, p.tunB), ping)
	sendFrom(t, loopback, p.b.Addr(), append(encap(t, testVNI, ping), 0xaa, 0xbb))
	mustEqual(t, "trimmed datagram", recv(t, p.tunB), ping)
}

func TestForwarderDropsDatagrams(t *testing.T) {
	p := newPair(t, Config{})
	ping := tunneltest.Ping(ovlA, ovlB, 1, nil)
	tests := []struct {
		name     string
		src      netip.Addr
		datagram []byte
		counter  func(Drops) uint64
	}{
		{"not from a peer", netip.MustParseAddr("127.0.0.2"), encap(t, testVNI, ping),
			func(d Drops) uint64 { return d.NotPeer }},
		{"garbage", loopback, []byte("this is not VXLAN at all, just some bytes"),
			func(d Drops) uint64 { return d.Malformed }},
		{"short", loopback, []byte{0x08, 0, 0, 0},
			func(d Drops) uint64 { return d.Malformed }},
		{"empty", loopback, nil,
			func(d Drops) uint64 { return d.Malformed }},
		{"bad flags", loopback, func() []byte { d := encap(t, testVNI, ping); d[0] = 0x88; return d }(),
			func(d Drops) uint64 { return d.Malformed }},
		{"larger than the MTU", loopback, encap(t, testVNI, tunneltest.IPv4(ovlA, ovlB, 17, make([]byte, DefaultMTU))),
			func(d Drops) uint64 { return d.Malformed }},
		{"unknown VNI", loopback, encap(t, testVNI+1, ping),
			func(d Drops) uint64 { return d.UnknownVNI }},
		{"inner destination remote", loopback, encap(t, testVNI, tunneltest.Ping(ovlB, ovlA, 1, nil)),
			func(d Drops) uint64 { return d.NotLocal }},
		{"inner destination unknown", loopback, encap(t, testVNI, tunneltest.Ping(ovlA, netip.MustParseAddr("10.77.0.99"), 1, nil)),
			func(d Drops) uint64 { return d.NotLocal }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := p.b.Stats()
			sendFrom(t, tt.src, p.b.Addr(), tt.datagram)
			eventually(t, "drop counted", func() bool { return tt.counter(p.b.Stats().Drops) == tt.counter(before.Drops)+1 })
			if after := p.b.Stats(); after.PacketsIn != before.PacketsIn {
				t.Errorf("packet delivered: %+v", after)
			}
			expectNothing(t, p.tunB)
		})
	}
	// The forwarder still works.
	mustOK(t, p.tunA.Inject(ping))
	mustEqual(t, "after the drops", recv(t, p.tunB), ping)
}

func TestForwarderDropsPackets(t *testing.T) {
	p := newPair(t, Config{})
	tests := []struct {
		name    string
		packet  []byte
		counter func(Drops) uint64
	}{
		{"no route", tunneltest.Ping(ovlA, netip.MustParseAddr("10.77.0.99"), 1, nil),
			func(d Drops) uint64 { return d.NoRoute }},
		{"local destination", tunneltest.Ping(ovlB, ovlA, 1, nil),
			func(d Drops) uint64 { return d.Loop }},
		{"ipv6", append([]byte{0x60}, make([]byte, 39)...),
			func(d Drops) uint64 { return d.Malformed }},
		{"truncated", tunneltest.Ping(ovlA, ovlB, 1, nil)[:25],
			func(d Drops) uint64 { return d.Malformed }},
		{"empty", nil,
			func(d Drops) uint64 { return d.Malformed }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := p.a.Stats()
			mustOK(t, p.tunA.Inject(tt.packet))
			eventually(t, "drop counted", func() bool { return tt.counter(p.a.Stats().Drops) == tt.counter(before.Drops)+1 })
			if after := p.a.Stats(); after.PacketsOut != before.PacketsOut {
				t.Errorf("packet sent: %+v", after)
			}
		})
	}
	expectNothing(t, p.tunB)
	expectNothing(t, p.tunA)
}

func TestForwarderSetPeers(t *testing.T) {
	p := newPair(t, Config{})
	ping := tunneltest.Ping(ovlA, ovlB, 1, nil)
	mustOK(t, p.b.SetPeers(nil))
	mustOK(t, p.tunA.Inject(ping))
	eventually(t, "not-peer drop", func() bool { return p.b.Stats().Drops.NotPeer == 1 })
	expectNothing(t, p.tunB)

	mustOK(t, p.b.SetPeers([]netip.Addr{netip.MustParseAddr("127.0.0.2"), loopback}))
	mustOK(t, p.tunA.Inject(ping))
	mustEqual(t, "after SetPeers", recv(t, p.tunB), ping)

	if err := p.b.SetPeers([]netip.Addr{netip.MustParseAddr("fd00::1")}); !errors.Is(err, ErrAddress) {
		t.Errorf("IPv6 peer: %v", err)
	}
}

func TestForwarderSetEndpoints(t *testing.T) {
	p := newPair(t, Config{})
	c := netip.MustParseAddr("10.77.0.3")
	ping := tunneltest.Ping(ovlA, c, 1, nil)
	mustOK(t, p.tunA.Inject(ping))
	eventually(t, "no-route drop", func() bool { return p.a.Stats().Drops.NoRoute == 1 })

	// c moves to b's host: a sends there, b now delivers it locally.
	mustOK(t, p.a.SetEndpoints(testVNI, map[netip.Addr]netip.AddrPort{ovlA: {}, ovlB: p.b.Addr(), c: p.b.Addr()}))
	mustOK(t, p.b.SetEndpoints(testVNI, map[netip.Addr]netip.AddrPort{ovlB: {}, c: {}, ovlA: p.a.Addr()}))
	mustOK(t, p.tunA.Inject(ping))
	mustEqual(t, "after SetEndpoints", recv(t, p.tunB), ping)

	if err := p.a.SetEndpoints(testVNI, map[netip.Addr]netip.AddrPort{ovlB: netip.MustParseAddrPort("[fd00::2]:4789")}); !errors.Is(err, ErrAddress) {
		t.Errorf("IPv6 remote: %v", err)
	}
	if err := p.a.SetEndpoints(MaxVNI+1, nil); !errors.Is(err, ErrVNI) {
		t.Errorf("VNI out of range: %v", err)
	}
}

func TestForwarderNetworks(t *testing.T) {
	p := newPair(t, Config{})
	if err := p.b.AddNetwork(testVNI, tunneltest.NewTUN(1)); !errors.Is(err, ErrNetworkExists) {
		t.Errorf("second AddNetwork: %v", err)
	}
	if err := p.b.AddNetwork(MaxVNI+1, tunneltest.NewTUN(1)); !errors.Is(err, ErrVNI) {
		t.Errorf("VNI out of range: %v", err)
	}
	if err := p.b.AddNetwork(7); err == nil {
		t.Error("AddNetwork without a queue succeeded")
	}
	if err := p.b.RemoveNetwork(7); !errors.Is(err, ErrUnknownNetwork) {
		t.Errorf("RemoveNetwork of an unknown network: %v", err)
	}

	ping := tunneltest.Ping(ovlA, ovlB, 1, nil)
	mustOK(t, p.b.RemoveNetwork(testVNI))
	if !p.tunB.Closed() {
		t.Error("RemoveNetwork did not close the queue")
	}
	mustOK(t, p.tunA.Inject(ping))
	eventually(t, "unknown-VNI drop", func() bool { return p.b.Stats().Drops.UnknownVNI == 1 })

	// Added again, with two queues: the endpoints were forgotten.
	q1, q2 := tunneltest.NewTUN(16), tunneltest.NewTUN(16)
	mustOK(t, p.b.AddNetwork(testVNI, q1, q2))
	mustOK(t, p.tunA.Inject(ping))
	eventually(t, "not-local drop", func() bool { return p.b.Stats().Drops.NotLocal == 1 })
	mustOK(t, p.b.SetEndpoints(testVNI, map[netip.Addr]netip.AddrPort{ovlB: {}, ovlA: p.a.Addr()}))
	mustOK(t, p.tunA.Inject(ping))
	var got []byte
	select {
	case got = <-q1.Written():
	case got = <-q2.Written():
	case <-p.tunB.Written():
		t.Fatal("packet written to the removed queue")
	}
	mustEqual(t, "multi-queue delivery", got, ping)
	// Both queues are read.
	pong := tunneltest.Ping(ovlB, ovlA, 1, nil)
	mustOK(t, q1.Inject(pong))
	mustOK(t, q2.Inject(pong))
	mustEqual(t, "from queue 1", recv(t, p.tunA), pong)
	mustEqual(t, "from queue 2", recv(t, p.tunA), pong)
}

func TestForwarderClose(t *testing.T) {
	leakCheck(t)
	f, err := NewForwarder(Config{ListenAddr: netip.AddrPortFrom(loopback, 0), Readers: 3})
	mustOK(t, err)
	tuns := []*tunneltest.TUN{tunneltest.NewTUN(1), tunneltest.NewTUN(1), tunneltest.NewTUN(1)}
	mustOK(t, f.AddNetwork(1, tuns[0], tuns[1]))
	mustOK(t, f.AddNetwork(2, tuns[2]))
	eventually(t, "3 UDP and 3 TUN loops running", func() bool { return len(forwarderGoroutines()) == 3+3 })
	mustOK(t, f.Close())
	for i, tun := range tuns {
		if !tun.Closed() {
			t.Errorf("queue %d not closed", i)
		}
	}
	checkNoLeaks(t)
	mustOK(t, f.Close())
	if err := f.AddNetwork(3, tunneltest.NewTUN(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("AddNetwork after Close: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	addr := netip.AddrPortFrom(loopback, 0)
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"minimal", Config{ListenAddr: addr}, true},
		{"full", Config{ListenAddr: addr, Peers: []netip.Addr{loopback}, MTU: MaxMTU, BatchSize: 64, Readers: 2, SocketBuffer: 1 << 20}, true},
		{"no address", Config{}, false},
		{"ipv6 address", Config{ListenAddr: netip.MustParseAddrPort("[::1]:0")}, false},
		{"mtu too large", Config{ListenAddr: addr, MTU: MaxMTU + 1}, false},
		{"mtu too small", Config{ListenAddr: addr, MTU: 19}, false},
		{"negative batch", Config{ListenAddr: addr, BatchSize: -1}, false},
		{"ipv6 peer", Config{ListenAddr: addr, Peers: []netip.Addr{netip.MustParseAddr("::1")}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

// TestForwarderHostile throws random and mutated datagrams from a peer at
// a forwarder: every one is dropped or delivered, none crashes it, and it
// forwards normally afterwards.
func TestForwarderHostile(t *testing.T) {
	p := newPair(t, Config{})
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	valid := encap(t, testVNI, tunneltest.Ping(ovlA, ovlB, 1, []byte("payload")))
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(p.b.Addr()))
	mustOK(t, err)
	defer c.Close()
	const n = 2000
	for i := range n {
		var d []byte
		if i%2 == 0 {
			d = make([]byte, rng.IntN(120))
			for j := range d {
				d[j] = byte(rng.Uint32())
			}
		} else {
			d = append([]byte(nil), valid...)
			for range 1 + rng.IntN(3) {
				d[rng.IntN(len(d))] ^= byte(1 + rng.IntN(255))
			}
			d = d[:rng.IntN(len(d)+1)]
		}
		if _, err := c.Write(d); err != nil {
			t.Fatal(err)
		}
		// Pace the sender so the socket buffer never overflows.
		if i%100 == 99 {
			eventually(t, "datagrams handled", func() bool { return handled(p.b.Stats()) == uint64(i+1) })
		}
	}
	eventually(t, "all datagrams handled", func() bool { return handled(p.b.Stats()) == n })
	for range p.b.Stats().PacketsIn {
		recv(t, p.tunB)
	}
	ping := tunneltest.Ping(ovlA, ovlB, 2, nil)
	mustOK(t, p.tunA.Inject(ping))
	mustEqual(t, "after the barrage", recv(t, p.tunB), ping)
}

func handled(s Stats) uint64 {
	d := s.Drops
	return s.PacketsIn + d.UnknownVNI + d.NotPeer + d.Malformed + d.NotLocal + d.DeviceError
}
