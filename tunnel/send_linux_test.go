package tunnel

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"
	"testing"
	"unsafe"

	"github.com/actorswarm/swarm/tunnel/tunneltest"
	"golang.org/x/sys/unix"
)

func TestPack(t *testing.T) {
	x := netip.MustParseAddrPort("10.201.0.2:4789")
	y := netip.MustParseAddrPort("10.201.0.3:4789")
	type dg struct {
		size int
		dst  netip.AddrPort
	}
	same := func(n, size int) []dg {
		d := make([]dg, n)
		for i := range d {
			d[i] = dg{size, x}
		}
		return d
	}
	tests := []struct {
		name  string
		limit int
		in    []dg
		want  [][]int // datagram sizes per message
	}{
		{"one", 1472, same(1, 1472), [][]int{{1472}}},
		{"run", 1472, same(5, 1472), [][]int{{1472, 1472, 1472, 1472, 1472}}},
		{"shorter ends a run", 1472, []dg{{1472, x}, {1472, x}, {100, x}, {1472, x}, {1472, x}},
			[][]int{{1472, 1472, 100}, {1472, 1472}}},
		{"longer starts a run", 1472, []dg{{100, x}, {1472, x}, {1472, x}}, [][]int{{100}, {1472, 1472}}},
		{"other host", 1472, []dg{{1472, x}, {1472, y}, {1472, y}, {1472, x}},
			[][]int{{1472}, {1472, 1472}, {1472}}},
		{"gso off", 0, same(3, 1472), [][]int{{1472}, {1472}, {1472}}},
		{"above the limit", 1000, []dg{{1472, x}, {1472, x}, {900, x}, {900, x}}, [][]int{{1472}, {1472}, {900, 900}}},
		{"segment count", 1472, same(maxGSOSegments+2, 100), [][]int{sizes(maxGSOSegments, 100), {100, 100}}},
		{"byte count", 9022, same(8, 9022), [][]int{sizes(7, 9022), {9022}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := newTxList()
			for i, d := range tt.in {
				// Split some datagrams in two pieces, as segments are.
				head := make([]byte, d.size)
				if i%2 == 1 && d.size > 74 {
					tx.add(head[:74], head[74:], d.dst)
				} else {
					tx.add(head, nil, d.dst)
				}
			}
			var got [][]int
			for _, sp := range pack(tx, tt.limit, nil) {
				var s []int
				for _, d := range tx.dgrams[sp.start:sp.end] {
					s = append(s, d.len())
				}
				got = append(got, s)
				if want := 0; len(s) > 1 {
					if want = s[0]; sp.seg != want {
						t.Errorf("segment size %d, want %d", sp.seg, want)
					}
				} else if sp.seg != want {
					t.Errorf("segment size %d on a single datagram", sp.seg)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("messages %v, want %v", got, tt.want)
			}
		})
	}
}

func sizes(n, size int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = size
	}
	return s
}

func TestSegmentCmsg(t *testing.T) {
	oob := putSegmentCmsg(make([]byte, segmentCmsgLen), 1472)
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) != 1 || msgs[0].Header.Level != unix.SOL_UDP || msgs[0].Header.Type != unix.UDP_SEGMENT {
		t.Fatalf("control message %x: %v %+v", oob, err, msgs)
	}
	if got := binary.NativeEndian.Uint16(msgs[0].Data); got != 1472 {
		t.Errorf("segment size %d", got)
	}
}

func TestGROSize(t *testing.T) {
	oob := make([]byte, groCmsgSpace)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level, h.Type = unix.SOL_UDP, unix.UDP_GRO
	h.SetLen(unix.CmsgLen(4))
	binary.NativeEndian.PutUint32(oob[unix.CmsgLen(0):], 1472)
	if got := groSize(oob[:unix.CmsgSpace(4)]); got != 1472 {
		t.Errorf("groSize = %d, want 1472", got)
	}
	for _, bad := range [][]byte{nil, oob[:3], make([]byte, groCmsgSpace)} {
		if got := groSize(bad); got != 0 {
			t.Errorf("groSize(%x) = %d, want 0", bad, got)
		}
	}
}

// TestForwarderBatches pushes bursts through a queue that reads in
// batches, with and without GSO: every packet arrives, unchanged and in
// order.
func TestForwarderBatches(t *testing.T) {
	for _, gso := range []bool{true, false} {
		t.Run(fmt.Sprintf("gso=%v", gso), func(t *testing.T) {
			p := newPair(t, Config{DisableGSO: !gso})
			batched := tunneltest.NewTUN(1024)
			mustOK(t, p.a.RemoveNetwork(testVNI))
			mustOK(t, p.a.SetEndpoints(testVNI, map[netip.Addr]netip.AddrPort{ovlA: {}, ovlB: p.b.Addr()}))
			var sent [][]byte
			for i := range 300 {
				size := DefaultMTU - 20
				if i%50 == 49 {
					size = i // a short packet now and then ends a run
				}
				payload := make([]byte, size)
				binary.BigEndian.PutUint32(payload, uint32(i))
				pkt := tunneltest.IPv4(ovlA, ovlB, 17, payload)
				sent = append(sent, pkt)
				mustOK(t, batched.Inject(pkt))
			}
			// Queued before the queue is read, so they are read in full
			// batches.
			mustOK(t, p.a.AddNetwork(testVNI, batched.Batched()))
			for i, want := range sent {
				mustEqual(t, fmt.Sprintf("packet %d", i), recv(t, p.tunB), want)
			}
			// The sender counts a batch after sending it: the last
			// packets may arrive before they are counted.
			eventually(t, "300 packets counted", func() bool { return p.a.Stats().PacketsOut == 300 })
			if s := p.a.Stats(); s.Drops != (Drops{}) {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// offloadTUN is a fake TUN queue with offloads: what is injected and
// written carries a virtio_net_hdr.
type offloadTUN struct{ tunneltest.BatchTUN }

func (offloadTUN) Offload() bool { return true }

// TestForwarderOffload sends TCP super-segments from a queue with
// offloads over loopback (UDP GSO and GRO) to a queue with offloads, where
// they arrive coalesced, and to one without, where they arrive as
// segments; the payload arrives whole and every checksum holds.
func TestForwarderOffload(t *testing.T) {
	for _, offloadB := range []bool{true, false} {
		t.Run(fmt.Sprintf("receiver_offload=%v", offloadB), func(t *testing.T) {
			p := newPair(t, Config{MTU: 65000})
			tunA, tunB := tunneltest.NewTUN(1024), tunneltest.NewTUN(4096)
			mustOK(t, p.a.RemoveNetwork(testVNI))
			mustOK(t, p.b.RemoveNetwork(testVNI))
			mustOK(t, p.a.SetEndpoints(testVNI, map[netip.Addr]netip.AddrPort{ovlA: {}, ovlB: p.b.Addr()}))
			mustOK(t, p.b.SetEndpoints(testVNI, map[netip.Addr]netip.AddrPort{ovlB: {}, ovlA: p.a.Addr()}))
			mustOK(t, p.a.AddNetwork(testVNI, offloadTUN{tunA.Batched()}))
			if offloadB {
				mustOK(t, p.b.AddNetwork(testVNI, offloadTUN{tunB.Batched()}))
			} else {
				mustOK(t, p.b.AddNetwork(testVNI, tunB))
			}

			var want []byte
			seq := uint32(1000)
			for _, size := range []int{30000, 65535 - 52, 1398, 5} {
				data := randomPayload(uint64(size), size)
				pkt := tcpPacket(ovlA, ovlB, seq, tcpFlagACK|tcpFlagPSH, data)
				partial(pkt)
				h := gsoHdr(1398)
				if size <= 1398 {
					h.gsoType, h.gsoSize = vnetGSONone, 0
				}
				vh := make([]byte, vnetHdrLen)
				h.put(vh)
				mustOK(t, tunA.Inject(append(vh, pkt...)))
				want = append(want, data...)
				seq += uint32(size)
			}
			var got []byte
			writes := 0
			for len(got) < len(want) {
				w := recv(t, tunB)
				writes++
				var pkt []byte
				if offloadB {
					if h := parseVnetHdr(w); h.gsoType == vnetGSONone {
						pkt = w[vnetHdrLen:]
					} else {
						pkt = checkSuper(t, w, 1398)
						full := append([]byte(nil), pkt...)
						mustOK(t, completeChecksum(full, h))
						pkt = full
					}
				} else {
					pkt = w
					if len(pkt) > 1450 {
						t.Fatalf("%d-byte packet: not cut to the underlay", len(pkt))
					}
				}
				if !validIPv4(pkt) || !validTCP(pkt) {
					t.Fatalf("bad checksum in %x", pkt[:52])
				}
				if s := binary.BigEndian.Uint32(pkt[24:28]); s != 1000+uint32(len(got)) {
					t.Fatalf("seq %d after %d bytes", s, len(got))
				}
				got = append(got, payloadOf(pkt)...)
			}
			mustEqual(t, "payload", got, want)
			// The sender counts a batch once it is sent: the receiver may
			// have it first.
			eventually(t, "a's counters of what it sent", func() bool { return p.a.Stats().PacketsOut >= 50 })
			if s := p.a.Stats(); s.Drops != (Drops{}) {
				t.Errorf("a: %+v", s)
			}
			if offloadB {
				eventually(t, "b's counters of what it received", func() bool { return writes*10 <= int(p.b.Stats().PacketsIn) })
			}
			if s := p.b.Stats(); s.Drops != (Drops{}) {
				t.Errorf("b: %d writes for %+v", writes, s)
			}

			// Not TCP: through unchanged, behind a zero header.
			ping := tunneltest.Ping(ovlA, ovlB, 1, []byte("offloaded"))
			mustOK(t, tunA.Inject(append(make([]byte, vnetHdrLen), ping...)))
			w := recv(t, tunB)
			if offloadB {
				mustEqual(t, "virtio header", w[:vnetHdrLen], make([]byte, vnetHdrLen))
				w = w[vnetHdrLen:]
			}
			mustEqual(t, "ping", w, ping)
		})
	}
}

// TestForwarderOffloadGarbage feeds a queue with offloads lying virtio
// headers: each packet is dropped and counted, nothing panics, and the
// forwarder goes on.
func TestForwarderOffloadGarbage(t *testing.T) {
	p := newPair(t, Config{MTU: 65000})
	tunA := tunneltest.NewTUN(64)
	mustOK(t, p.a.RemoveNetwork(testVNI))
	mustOK(t, p.a.SetEndpoints(testVNI, map[netip.Addr]netip.AddrPort{ovlA: {}, ovlB: p.b.Addr()}))
	mustOK(t, p.a.AddNetwork(testVNI, offloadTUN{tunA.Batched()}))
	big := tcpPacket(ovlA, ovlB, 1, tcpFlagACK, make([]byte, 20000))
	udp := tunneltest.IPv4(ovlA, ovlB, ipProtoUDP, make([]byte, 100))
	with := func(h vnetHdr, pkt []byte) []byte {
		b := make([]byte, vnetHdrLen)
		h.put(b)
		return append(b, pkt...)
	}
	bad := [][]byte{
		{1, 2, 3},                // shorter than the header
		make([]byte, vnetHdrLen), // a header and no packet
		with(vnetHdr{gsoType: 5, gsoSize: 1000}, big),
		with(vnetHdr{gsoType: 0x7f, gsoSize: 1000}, big),
		with(gsoHdr(0), big),
		with(gsoHdr(1), big),
		with(gsoHdr(1000), udp),
		with(vnetHdr{flags: vnetFlagNeedsCsum, csumStart: 20, csumOffset: 0xfff0}, udp),
		with(vnetHdr{flags: vnetFlagNeedsCsum, csumStart: 0xffff, csumOffset: 6}, udp),
	}
	for _, b := range bad {
		mustOK(t, tunA.Inject(b))
	}
	eventually(t, "malformed drops", func() bool { return p.a.Stats().Drops.Malformed == uint64(len(bad)) })
	ping := tunneltest.Ping(ovlA, ovlB, 1, nil)
	mustOK(t, tunA.Inject(with(vnetHdr{}, ping)))
	mustEqual(t, "after the garbage", recv(t, p.tunB), ping)
	// Counted after it was sent, so maybe after it arrived.
	eventually(t, "the ping counted", func() bool { return p.a.Stats().PacketsOut == 1 })
}
