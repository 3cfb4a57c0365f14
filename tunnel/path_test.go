package tunnel

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/actorswarm/swarm/tunnel/tunneltest"
)

// discard is a TUN queue that takes every packet.
type discard struct{}

func (discard) Read([]byte) (int, error)    { select {} }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }

// offloadDiscard is a queue with offloads that takes every packet.
type offloadDiscard struct{ discard }

func (offloadDiscard) Offload() bool { return true }

// BenchmarkSendPath measures the user-space work of the TUN → underlay
// direction for one batch (checks, lookup, headers, GSO packing), without
// the system calls. With offload=true every packet is a 64 KB TCP
// super-segment that is cut into segments (checksums included).
func BenchmarkSendPath(b *testing.B) {
	for _, c := range []struct {
		size    int
		offload bool
	}{{1450, false}, {65000, false}, {65000, true}} {
		b.Run(fmt.Sprintf("size=%d/offload=%v", c.size, c.offload), func(b *testing.B) {
			eps, err := NewEndpoints(map[netip.Addr]netip.AddrPort{ovlA: {}, ovlB: hostB})
			mustOK(b, err)
			f := &Forwarder{maxInner: DefaultUnderlayMTU - underlayOverhead}
			f.gsoLimit.Store(HeaderLen + 1450)
			q := newQueue(discard{})
			if c.offload {
				q = newQueue(offloadDiscard{})
			}
			bt := newBufPool().batch(DefaultBatchSize)
			defer bt.release()
			pkt := tcpPacket(ovlA, ovlB, 1000, tcpFlagACK|tcpFlagPSH, make([]byte, c.size-52))
			for i := range bt.data {
				bt.sizes[i] = copy(bt.data[i][HeaderLen:], pkt)
				if c.offload {
					bt.sizes[i] += vnetHdrLen
					gsoHdr(1398).put(bt.data[i][HeaderLen-vnetHdrLen:])
				}
			}
			tx := newTxList()
			var spans []msgSpan
			var t tally
			dgrams := 0
			b.ReportAllocs()
			for b.Loop() {
				for i := range bt.data {
					for !f.encap(tx, bt.data[i], bt.sizes[i], q, testVNI, eps, &t) {
						dgrams += len(tx.dgrams)
						spans = pack(tx, int(f.gsoLimit.Load()), spans[:0])
						tx.reset()
					}
				}
				dgrams += len(tx.dgrams)
				spans = pack(tx, int(f.gsoLimit.Load()), spans[:0])
				tx.reset()
			}
			if t.drops != (tally{}).drops {
				b.Fatalf("drops %+v", t.drops)
			}
			b.ReportMetric(float64(b.N*DefaultBatchSize)/b.Elapsed().Seconds(), "packets/s")
			b.ReportMetric(float64(dgrams)/b.Elapsed().Seconds(), "datagrams/s")
		})
	}
}

// BenchmarkReceivePath measures the underlay → TUN direction for one
// message (peer check, Decap, lookups, write to a queue that discards):
// one datagram to a plain queue, or 44 segments of a TCP flow glued by
// UDP GRO, coalesced for a queue with offloads.
func BenchmarkReceivePath(b *testing.B) {
	for _, offload := range []bool{false, true} {
		b.Run(fmt.Sprintf("offload=%v", offload), func(b *testing.B) {
			f := &Forwarder{cfg: Config{MTU: DefaultMTU}}
			mustOK(b, f.peers.set([]netip.Addr{hostB.Addr()}))
			eps, err := NewEndpoints(map[netip.Addr]netip.AddrPort{ovlA: hostB, ovlB: {}})
			mustOK(b, err)
			f.table.Set(testVNI, eps)
			q := newQueue(discard{})
			segs := 1
			if offload {
				q, segs = newQueue(offloadDiscard{}), 44
			}
			nets := map[uint32]*network{testVNI: {vni: testVNI, queues: []*queue{q}}}
			var msg []byte
			for i := range segs {
				msg = append(msg, encap(b, testVNI, tcpPacket(ovlA, ovlB, uint32(1000+i*1398), tcpFlagACK, make([]byte, 1398)))...)
			}
			seg := len(msg) / segs
			work := make([]byte, len(msg))
			var t tally
			r := &receiver{scratch: make([]byte, 0, vnetHdrLen+maxPacket)}
			co := newCoalescer(r.writeTUN, &t)
			src := hostB.Addr().As4()
			b.ReportAllocs()
			for b.Loop() {
				copy(work, msg) // coalescing rewrites the first header
				f.receiveMessage(nets, src, work, seg, false, co, &t)
				co.flush()
			}
			if t.packets != uint64(b.N*segs) {
				b.Fatalf("%d of %d delivered: %+v", t.packets, b.N*segs, t)
			}
			b.ReportMetric(float64(b.N*segs)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// tcpPacket returns a TCP/IPv4 packet with a 12-byte timestamp option,
// checksums set.
func tcpPacket(src, dst netip.Addr, seq uint32, flags byte, payload []byte) []byte {
	tcp := make([]byte, 32+len(payload))
	tcp[0], tcp[1], tcp[2], tcp[3] = 0x9c, 0x40, 0x14, 0x51 // 40000 → 5201
	tcp[4], tcp[5], tcp[6], tcp[7] = byte(seq>>24), byte(seq>>16), byte(seq>>8), byte(seq)
	tcp[8], tcp[11] = 0x12, 0x34
	tcp[12] = 8 << 4
	tcp[13] = flags
	tcp[14], tcp[15] = 0x01, 0xf5
	copy(tcp[20:32], []byte{1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9})
	copy(tcp[32:], payload)
	pkt := tunneltest.IPv4(src, dst, ipProtoTCP, tcp)
	pkt[6] = 0x40 // DF
	putIPv4Checksum(pkt)
	putTCPChecksum(pkt)
	return pkt
}

func putTCPChecksum(pkt []byte) {
	ihl := int(pkt[0]&0x0f) * 4
	tcp := pkt[ihl:]
	tcp[16], tcp[17] = 0, 0
	c := ^csumFold(csumAdd(pseudoSum(pkt, ipProtoTCP, len(tcp)), tcp))
	tcp[16], tcp[17] = byte(c>>8), byte(c)
}

// gsoHdr is the virtio_net_hdr of a TCP super-segment as the kernel hands
// it over (40-byte headers: no options).
func gsoHdr(mss int) vnetHdr {
	return vnetHdr{flags: vnetFlagNeedsCsum, gsoType: vnetGSOTCPv4, hdrLen: 52, gsoSize: uint16(mss), csumStart: 20, csumOffset: 16}
}
