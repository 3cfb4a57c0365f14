package tunnel

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"testing"

	"github.com/actorswarm/swarm/tunnel/tunneltest"
	"golang.org/x/sys/unix"
)

func TestPack(t *testing.T) {
	x := &net.UDPAddr{IP: net.IPv4(10, 201, 0, 2), Port: 4789}
	y := &net.UDPAddr{IP: net.IPv4(10, 201, 0, 3), Port: 4789}
	type dg struct {
		size int
		dst  *net.UDPAddr
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
		limit int64
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
			f := &Forwarder{}
			f.gsoLimit.Store(tt.limit)
			b := newBufPool(9000).batch(len(tt.in))
			defer b.release()
			for i, d := range tt.in {
				b.dgrams[i] = make([]byte, d.size)
				b.dsts[i] = d.dst
			}
			n := f.pack(b, len(tt.in))
			var got [][]int
			for _, m := range b.msgs[:n] {
				var s []int
				for _, d := range m.Buffers {
					s = append(s, len(d))
				}
				got = append(got, s)
				if len(m.Buffers) > 1 {
					if seg := segmentSize(t, m.OOB); seg != len(m.Buffers[0]) {
						t.Errorf("segment size %d, want %d", seg, len(m.Buffers[0]))
					}
				} else if len(m.OOB) != 0 {
					t.Errorf("control message on a single datagram")
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

func segmentSize(t *testing.T, oob []byte) int {
	t.Helper()
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) != 1 || msgs[0].Header.Level != unix.SOL_UDP || msgs[0].Header.Type != unix.UDP_SEGMENT {
		t.Fatalf("control message %x: %v %+v", oob, err, msgs)
	}
	return int(binary.NativeEndian.Uint16(msgs[0].Data))
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
			if s := p.a.Stats(); s.PacketsOut != 300 || s.Drops != (Drops{}) {
				t.Errorf("stats %+v", s)
			}
		})
	}
}
