package tunnel

import (
	"fmt"
	"net"
	"net/netip"
	"testing"

	"github.com/actorswarm/swarm/tunnel/tunneltest"
	"golang.org/x/net/ipv4"
)

// discard is a TUN queue that takes every packet.
type discard struct{}

func (discard) Read([]byte) (int, error)    { select {} }
func (discard) Write(p []byte) (int, error) { return len(p), nil }
func (discard) Close() error                { return nil }

// BenchmarkSendPath measures the user-space work of the TUN → underlay
// direction for one batch (checks, lookup, headers, GSO packing), without
// the system calls.
func BenchmarkSendPath(b *testing.B) {
	for _, size := range []int{1450, 65000} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			eps, err := NewEndpoints(map[netip.Addr]netip.AddrPort{ovlA: {}, ovlB: hostB})
			if err != nil {
				b.Fatal(err)
			}
			f := &Forwarder{}
			f.gsoLimit.Store(HeaderLen + 1450)
			bt := newBufPool(size).batch(DefaultBatchSize)
			defer bt.release()
			pkt := tunneltest.IPv4(ovlA, ovlB, 6, make([]byte, size-20))
			for i := range bt.data {
				bt.sizes[i] = copy(bt.data[i][HeaderLen:], pkt)
			}
			var t tally
			b.ReportAllocs()
			for b.Loop() {
				if k := encapBatch(bt, DefaultBatchSize, testVNI, eps, &t); k != DefaultBatchSize {
					b.Fatalf("%d datagrams", k)
				}
				f.pack(bt, DefaultBatchSize)
			}
			b.ReportMetric(float64(b.N*DefaultBatchSize)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// BenchmarkReceivePath measures the underlay → TUN direction for one
// datagram (peer check, Decap, lookups, write to a queue that discards).
func BenchmarkReceivePath(b *testing.B) {
	f := &Forwarder{}
	mustOK(b, f.peers.set([]netip.Addr{hostB.Addr()}))
	eps, err := NewEndpoints(map[netip.Addr]netip.AddrPort{ovlA: hostB, ovlB: {}})
	mustOK(b, err)
	f.table.Set(testVNI, eps)
	nets := map[uint32]*network{testVNI: {vni: testVNI, queues: []*queue{newQueue(discard{})}}}
	d := encap(b, testVNI, tunneltest.IPv4(ovlA, ovlB, 6, make([]byte, 1430)))
	m := ipv4.Message{Buffers: [][]byte{d}, N: len(d), Addr: &net.UDPAddr{IP: hostB.Addr().AsSlice(), Port: 4789}}
	var t tally
	b.ReportAllocs()
	for b.Loop() {
		f.receive(nets, &m, &t)
	}
	if t.packets != uint64(b.N) {
		b.Fatalf("%d of %d delivered: %+v", t.packets, b.N, t)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
