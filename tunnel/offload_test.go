package tunnel

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/actorswarm/swarm/tunnel/tunneltest"
)

// naiveSum is RFC 1071 the slow way: 16-bit words, folded at the end.
func naiveSum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

func TestChecksumAgainstNaive(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for n := range 300 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if n%7 == 0 {
			for i := range b {
				b[i] = 0xff // carries everywhere
			}
		}
		if got, want := csumFold(csumAdd(0, b)), naiveSum(b); got != want && !(got == 0xffff && want == 0) && !(got == 0 && want == 0xffff) {
			t.Fatalf("len %d: %04x, want %04x", n, got, want)
		}
		// Summing in two pieces, split at an even offset, is the same.
		if n > 2 {
			k := rng.IntN(n/2) * 2
			if got, want := csumFold(csumAdd(csumAdd(0, b[:k]), b[k:])), csumFold(csumAdd(0, b)); got != want {
				t.Fatalf("len %d split at %d: %04x, want %04x", n, k, got, want)
			}
		}
	}
}

// validIPv4 reports whether the header checksum of ip is right.
func validIPv4(ip []byte) bool { return naiveSum(ip[:int(ip[0]&0x0f)*4]) == 0xffff }

// validTCP reports whether the TCP checksum of the TCP/IPv4 packet pkt is
// right.
func validTCP(pkt []byte) bool {
	ihl := int(pkt[0]&0x0f) * 4
	return csumFold(csumAdd(pseudoSum(pkt, ipProtoTCP, len(pkt)-ihl), pkt[ihl:])) == 0xffff
}

func payloadOf(pkt []byte) []byte {
	ihl := int(pkt[0]&0x0f) * 4
	return pkt[ihl+int(pkt[ihl+12]>>4)*4:]
}

func randomPayload(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// partial turns a packet's complete TCP checksum into the partial one the
// kernel hands over with NEEDS_CSUM (the pseudo-header sum).
func partial(pkt []byte) {
	ihl := int(pkt[0]&0x0f) * 4
	binary.BigEndian.PutUint16(pkt[ihl+16:], csumFold(pseudoSum(pkt, ipProtoTCP, len(pkt)-ihl)))
}

func TestTSOSegment(t *testing.T) {
	const maxInner = DefaultUnderlayMTU - underlayOverhead // 1450
	tests := []struct {
		name     string
		payload  int
		flags    byte
		h        vnetHdr
		wantSegs int
		wantMSS  int
	}{
		{"super-segment", 65000 - 52, tcpFlagACK | tcpFlagPSH, gsoHdr(1398), 47, 1398},
		{"exact multiple", 3 * 1398, tcpFlagACK, gsoHdr(1398), 3, 1398},
		{"one byte over", 1398 + 1, tcpFlagACK | tcpFlagPSH, gsoHdr(1398), 2, 1398},
		{"small gso_size", 5000, tcpFlagACK, gsoHdr(536), 10, 536},
		{"gso_size above the underlay", 5000, tcpFlagACK, gsoHdr(9000), 4, 1398},
		{"FIN and CWR", 4000, tcpFlagACK | tcpFlagFIN | tcpFlagPSH | tcpFlagCWR, gsoHdr(1398), 3, 1398},
		{"large segment without GSO", 20000, tcpFlagACK, vnetHdr{}, 15, 1398},
		{"odd size, checksum complete", 2801, tcpFlagACK, vnetHdr{gsoType: vnetGSOTCPv4, gsoSize: 1000}, 3, 1000},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := randomPayload(uint64(i), tt.payload)
			pkt := tcpPacket(ovlA, ovlB, 0xfffff000, tt.flags, data) // the sequence number wraps
			binary.BigEndian.PutUint16(pkt[4:6], 0xfffe)             // so does the ID
			putIPv4Checksum(pkt)
			if tt.h.flags&vnetFlagNeedsCsum != 0 {
				partial(pkt)
			}
			p, cut, err := planSegments(pkt, tt.h, maxInner)
			if err != nil || !cut || p.segs != tt.wantSegs || p.mss != tt.wantMSS {
				t.Fatalf("plan %+v, cut %v, err %v; want %d segments of %d", p, cut, err, tt.wantSegs, tt.wantMSS)
			}
			var joined []byte
			slot := make([]byte, segmentHeadroom)
			for i := range p.segs {
				head, payload := tsoSegment(slot, pkt, p, i, testVNI)
				d := append(append([]byte(nil), head...), payload...)
				vni, seg, err := Decap(d)
				if err != nil || vni != testVNI || len(seg) != len(d)-HeaderLen {
					t.Fatalf("segment %d: Decap %d, %v", i, vni, err)
				}
				if len(seg) > maxInner {
					t.Errorf("segment %d: %d bytes, more than %d", i, len(seg), maxInner)
				}
				if !validIPv4(seg) || !validTCP(seg) {
					t.Errorf("segment %d: bad checksum (IP %v, TCP %v)", i, validIPv4(seg), validTCP(seg))
				}
				if id := binary.BigEndian.Uint16(seg[4:6]); id != 0xfffe+uint16(i) {
					t.Errorf("segment %d: ID %#x", i, id)
				}
				if seq := binary.BigEndian.Uint32(seg[24:28]); seq != 0xfffff000+uint32(len(joined)) {
					t.Errorf("segment %d: seq %#x", i, seq)
				}
				wantFlags := tt.flags
				if i > 0 {
					wantFlags &^= tcpFlagCWR
				}
				if i < p.segs-1 {
					wantFlags &^= tcpFlagFIN | tcpFlagPSH
				}
				if seg[33] != wantFlags {
					t.Errorf("segment %d: flags %#x, want %#x", i, seg[33], wantFlags)
				}
				// Version, TOS, flags, TTL, protocol, addresses, ports,
				// acknowledgement, data offset, window, urgent pointer and
				// options are the super-segment's.
				if !bytes.Equal(seg[0:2], pkt[0:2]) || !bytes.Equal(seg[6:10], pkt[6:10]) ||
					!bytes.Equal(seg[12:24], pkt[12:24]) || !bytes.Equal(seg[28:33], pkt[28:33]) ||
					!bytes.Equal(seg[34:36], pkt[34:36]) || !bytes.Equal(seg[38:52], pkt[38:52]) {
					t.Errorf("segment %d: header fields changed:\n got %x\nwant %x", i, seg[:52], pkt[:52])
				}
				joined = append(joined, payloadOf(seg)...)
			}
			if !bytes.Equal(joined, data) {
				t.Error("segments do not add up to the payload")
			}
		})
	}
}

func TestPlanSegments(t *testing.T) {
	const maxInner = 1450
	big := tcpPacket(ovlA, ovlB, 1, tcpFlagACK, make([]byte, 10000))
	small := tcpPacket(ovlA, ovlB, 1, tcpFlagACK, make([]byte, 1000))
	udp := tunneltest.IPv4(ovlA, ovlB, ipProtoUDP, make([]byte, 10000))
	frag := append([]byte(nil), big...)
	frag[6] |= 0x20 // MF
	tests := []struct {
		name    string
		pkt     []byte
		h       vnetHdr
		cut     bool
		wantErr error
	}{
		{"small TCP", small, vnetHdr{}, false, nil},
		{"small TCP with gso header", small, gsoHdr(1398), false, nil},
		{"large UDP goes whole", udp, vnetHdr{}, false, nil},
		{"fragment goes whole", frag, vnetHdr{}, false, nil},
		{"large TCP", big, vnetHdr{}, true, nil},
		{"GSO UDP", big, vnetHdr{gsoType: 5, gsoSize: 1000}, false, errGSO},
		{"GSO TCPv6", big, vnetHdr{gsoType: 4, gsoSize: 1000}, false, errGSO},
		{"GSO TCPv4 on UDP", udp, gsoHdr(1000), false, errGSO},
		{"GSO TCPv4 on a fragment", frag, gsoHdr(1000), false, errGSO},
		{"gso_size zero", big, gsoHdr(0), false, errGSO},
		{"gso_size one", big, gsoHdr(1), false, errGSO},
		{"ECN bit", big, vnetHdr{gsoType: vnetGSOTCPv4 | 0x80, gsoSize: 1398}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, cut, err := planSegments(tt.pkt, tt.h, maxInner)
			if cut != tt.cut || !errors.Is(err, tt.wantErr) {
				t.Errorf("cut %v, err %v; want %v, %v", cut, err, tt.cut, tt.wantErr)
			}
		})
	}
}

func TestCompleteChecksum(t *testing.T) {
	tcp := tcpPacket(ovlA, ovlB, 7, tcpFlagACK, randomPayload(3, 999))
	want := append([]byte(nil), tcp...)
	partial(tcp)
	mustOK(t, completeChecksum(tcp, vnetHdr{flags: vnetFlagNeedsCsum, csumStart: 20, csumOffset: 16}))
	mustEqual(t, "TCP", tcp, want)

	udp := tunneltest.IPv4(ovlA, ovlB, ipProtoUDP, make([]byte, 8+333))
	binary.BigEndian.PutUint16(udp[24:26], uint16(8+333))
	binary.BigEndian.PutUint16(udp[26:28], csumFold(pseudoSum(udp, ipProtoUDP, 8+333)))
	mustOK(t, completeChecksum(udp, vnetHdr{flags: vnetFlagNeedsCsum, csumStart: 20, csumOffset: 6}))
	if c := csumFold(csumAdd(pseudoSum(udp, ipProtoUDP, 8+333), udp[20:])); c != 0xffff {
		t.Errorf("UDP checksum does not verify: %04x", c)
	}
	for _, h := range []vnetHdr{
		{csumStart: 20, csumOffset: 2000},
		{csumStart: 2000, csumOffset: 0},
		{csumStart: 21, csumOffset: 16},
		{csumStart: 0xffff, csumOffset: 0xffff},
	} {
		if err := completeChecksum(tcp, h); !errors.Is(err, errVnetHdr) {
			t.Errorf("%+v: err %v", h, err)
		}
	}
}

// written is what a coalescer wrote: per write, the pieces joined.
type written struct {
	q    []*queue
	pkts [][]byte
}

func (w *written) write(q *queue, iov [][]byte) error {
	var p []byte
	for _, b := range iov {
		p = append(p, b...)
	}
	w.q = append(w.q, q)
	w.pkts = append(w.pkts, p)
	return nil
}

// datagramOf returns pkt behind room for the encapsulation, as the
// receive loop hands it to a coalescer.
func datagramOf(pkt []byte) []byte {
	return append(make([]byte, HeaderLen), pkt...)
}

// checkSuper checks a super-segment the coalescer wrote: a GSO header,
// valid IP checksum, a partial TCP checksum that completes to the right
// one, and returns the packet.
func checkSuper(t *testing.T, w []byte, mss int) []byte {
	t.Helper()
	h := parseVnetHdr(w)
	pkt := w[vnetHdrLen:]
	hl := 20 + int(pkt[32]>>4)*4
	want := vnetHdr{flags: vnetFlagNeedsCsum, gsoType: vnetGSOTCPv4, hdrLen: uint16(hl), gsoSize: uint16(mss), csumStart: 20, csumOffset: 16}
	if h != want {
		t.Fatalf("virtio header %+v, want %+v", h, want)
	}
	if int(binary.BigEndian.Uint16(pkt[2:4])) != len(pkt) || !validIPv4(pkt) {
		t.Fatalf("IPv4 header: length %d of %d, checksum ok %v", binary.BigEndian.Uint16(pkt[2:4]), len(pkt), validIPv4(pkt))
	}
	full := append([]byte(nil), pkt...)
	mustOK(t, completeChecksum(full, h))
	if !validTCP(full) {
		t.Fatal("TCP checksum does not complete to a valid one")
	}
	return pkt
}

func TestCoalescer(t *testing.T) {
	qa, qb := &queue{offload: true}, &queue{offload: true}
	seg := func(seq uint32, flags byte, n int) []byte {
		return tcpPacket(ovlA, ovlB, seq, flags, randomPayload(uint64(seq), n))
	}
	other := func(p []byte) []byte { p[13]++; putIPv4Checksum(p); putTCPChecksum(p); return p } // another source
	ack, psh := byte(tcpFlagACK), byte(tcpFlagACK|tcpFlagPSH)
	type in struct {
		q   *queue
		pkt []byte
	}
	run := func(start uint32, n, size int, lastFlags byte) []in {
		var r []in
		for i := range n {
			f := ack
			if i == n-1 {
				f = lastFlags
			}
			r = append(r, in{qa, seg(start+uint32(i*size), f, size)})
		}
		return r
	}
	tests := []struct {
		name string
		in   []in
		want []int // segments per write; 0: a packet written alone
	}{
		{"one segment", run(1, 1, 1398, ack), []int{0}},
		{"a run", run(1, 10, 1398, psh), []int{10}},
		{"short last", append(run(1, 3, 1398, ack), in{qa, seg(1+3*1398, ack, 100)}), []int{4}},
		{"after a short one", append(run(1, 3, 1000, ack), in{qa, seg(1+3*1000, ack, 10)}, in{qa, seg(1+3*1000+10, ack, 1000)}), []int{4, 0}},
		{"longer than the first", append(run(1, 2, 1000, ack), in{qa, seg(2001, ack, 1398)}), []int{2, 0}},
		{"PSH ends the run", append(run(1, 2, 1398, psh), run(1+2*1398, 2, 1398, ack)...), []int{2, 2}},
		{"gap", append(run(1, 2, 1398, ack), run(1+3*1398, 2, 1398, ack)...), []int{2, 2}},
		{"other queue", append(run(1, 2, 1398, ack), in{qb, seg(1+2*1398, ack, 1398)}), []int{2, 0}},
		{"other flow", append(run(1, 2, 1398, ack), in{qa, other(seg(1+2*1398, ack, 1398))}), []int{2, 0}},
		{"pure ACK", append(run(1, 2, 1398, ack), in{qa, seg(1+2*1398, ack, 0)}, in{qa, seg(1+2*1398, ack, 1398)}), []int{2, 0, 0}},
		{"FIN alone", append(run(1, 2, 1398, ack), in{qa, seg(1+2*1398, tcpFlagACK|tcpFlagFIN, 10)}), []int{2, 0}},
		{"SYN alone", []in{{qa, seg(1, tcpFlagSYN, 0)}, {qa, seg(2, ack, 10)}}, []int{0, 0}},
		{"ICMP", []in{{qa, tunneltest.Ping(ovlA, ovlB, 1, nil)}, {qa, seg(1, ack, 10)}}, []int{0, 0}},
		{"segment cap", run(1, maxCoalesceSegs+3, 100, ack), []int{maxCoalesceSegs, 3}},
		{"length cap", run(1, 60, 1398, ack), []int{46, 14}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w written
			var tl tally
			c := newCoalescer(w.write, &tl)
			var sent [][]byte
			for _, x := range tt.in {
				sent = append(sent, append([]byte(nil), x.pkt...))
				c.add(x.q, datagramOf(x.pkt))
			}
			c.flush()
			if len(w.pkts) != len(tt.want) {
				t.Fatalf("%d writes, want %d", len(w.pkts), len(tt.want))
			}
			next := 0
			for i, n := range tt.want {
				if n == 0 {
					if h := parseVnetHdr(w.pkts[i]); h != (vnetHdr{}) {
						t.Errorf("write %d: virtio header %+v, want zero", i, h)
					}
					mustEqual(t, fmt.Sprintf("write %d", i), w.pkts[i][vnetHdrLen:], sent[next])
					next++
					continue
				}
				pkt := checkSuper(t, w.pkts[i], len(payloadOf(sent[next])))
				var want []byte
				for _, s := range sent[next : next+n] {
					want = append(want, payloadOf(s)...)
				}
				mustEqual(t, fmt.Sprintf("write %d payload", i), payloadOf(pkt), want)
				mustEqual(t, fmt.Sprintf("write %d seq", i), pkt[24:28], sent[next][24:28])
				if got, want := pkt[33], sent[next+n-1][33]; got != want {
					t.Errorf("write %d: flags %#x, want the last segment's %#x", i, got, want)
				}
				next += n
			}
			if tl.packets != uint64(len(tt.in)) || tl.drops != (tally{}).drops {
				t.Errorf("tally %+v", tl)
			}
		})
	}
}

// TestSegmentThenCoalesce cuts super-segments and glues them back: the
// receiver writes what the sender read.
func TestSegmentThenCoalesce(t *testing.T) {
	for _, size := range []int{1399, 20000, 65535 - 52} {
		t.Run(fmt.Sprintf("payload=%d", size), func(t *testing.T) {
			data := randomPayload(uint64(size), size)
			pkt := tcpPacket(ovlA, ovlB, 42, tcpFlagACK|tcpFlagPSH, data)
			partial(pkt)
			p, cut, err := planSegments(pkt, gsoHdr(1398), 1450)
			if err != nil || !cut {
				t.Fatalf("plan: %v, %v", cut, err)
			}
			var w written
			var tl tally
			c := newCoalescer(w.write, &tl)
			slot := make([]byte, segmentHeadroom)
			q := &queue{offload: true}
			for i := range p.segs {
				head, payload := tsoSegment(slot, pkt, p, i, testVNI)
				c.add(q, append(append([]byte(nil), head...), payload...))
			}
			c.flush()
			var got []byte
			for _, w := range w.pkts {
				got = append(got, payloadOf(checkSuper(t, w, 1398))...)
			}
			mustEqual(t, "payload", got, data)
		})
	}
}

// FuzzOffloadPaths feeds arbitrary bytes to both offload paths. As a
// packet read from a queue with offloads (virtio header first): encap
// never panics, and every datagram it makes Decaps, fits the underlay if
// it was cut, and carries valid checksums if it is a segment. As a
// received message of datagrams glued by GRO (split by seg) for a queue
// with offloads: nothing panics and every write is a virtio header and an
// IPv4 packet, a super-segment being well-formed.
func FuzzOffloadPaths(f *testing.F) {
	super := tcpPacket(ovlA, ovlB, 7, tcpFlagACK|tcpFlagPSH, make([]byte, 5000))
	partial(super)
	vh := make([]byte, vnetHdrLen)
	gsoHdr(1398).put(vh)
	var glued []byte
	for i := range 4 {
		glued = append(glued, encap(f, testVNI, tcpPacket(ovlA, ovlB, uint32(1+i*100), tcpFlagACK, make([]byte, 100)))...)
	}
	f.Add(append(vh, super...), 0)
	f.Add(glued, len(glued)/4)
	f.Add(append(make([]byte, vnetHdrLen), tunneltest.Ping(ovlA, ovlB, 1, nil)...), 0)
	f.Add(goldenPing, 3)
	f.Fuzz(func(t *testing.T, data []byte, seg int) {
		eps, err := NewEndpoints(map[netip.Addr]netip.AddrPort{ovlA: {}, ovlB: hostB})
		mustOK(t, err)
		fw := &Forwarder{cfg: Config{MTU: MaxMTU}, maxInner: DefaultUnderlayMTU - underlayOverhead}
		q := &queue{offload: true}
		buf := make([]byte, HeaderLen+maxPacket)
		n := copy(buf[HeaderLen-vnetHdrLen:], data)
		tx := newTxList()
		var tl tally
		if !fw.encap(tx, buf, n, q, testVNI, eps, &tl) {
			t.Fatal("no room in an empty list")
		}
		for _, d := range tx.dgrams {
			dg := append(append([]byte(nil), d.head...), d.tail...)
			_, inner, err := Decap(dg)
			if err != nil {
				t.Fatalf("datagram does not Decap: %v", err)
			}
			if d.tail != nil && (len(inner) > fw.maxInner || !validIPv4(inner) || !validTCP(inner)) {
				t.Fatalf("bad segment %x", inner[:min(len(inner), 60)])
			}
		}

		mustOK(t, fw.peers.set([]netip.Addr{hostB.Addr()}))
		fw.table.Set(testVNI, eps)
		nets := map[uint32]*network{testVNI: {vni: testVNI, queues: []*queue{q}}}
		var w written
		co := newCoalescer(w.write, &tl)
		fw.receiveMessage(nets, hostB.Addr().As4(), append([]byte(nil), data...), seg, false, co, &tl)
		co.flush()
		for _, p := range w.pkts {
			if len(p) < vnetHdrLen+ipv4MinHeaderLen {
				t.Fatalf("short write %x", p)
			}
			if h := parseVnetHdr(p); h.gsoType != vnetGSONone {
				checkSuper(t, p, int(h.gsoSize))
			}
		}
	})
}
