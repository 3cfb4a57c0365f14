package tunnel

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
)

var (
	hostB = netip.MustParseAddrPort("10.201.0.2:4789")
	hostC = netip.MustParseAddrPort("10.201.0.3:4789")
)

func TestNewEndpoints(t *testing.T) {
	tests := []struct {
		name string
		m    map[netip.Addr]netip.AddrPort
		ok   bool
	}{
		{"empty", nil, true},
		{"local and remote", map[netip.Addr]netip.AddrPort{ovlA: {}, ovlB: hostB}, true},
		{"mapped key and value", map[netip.Addr]netip.AddrPort{
			netip.MustParseAddr("::ffff:10.77.0.9"): netip.MustParseAddrPort("[::ffff:10.201.0.2]:4789"),
		}, true},
		{"ipv6 key", map[netip.Addr]netip.AddrPort{netip.MustParseAddr("fd00::1"): hostB}, false},
		{"invalid key", map[netip.Addr]netip.AddrPort{{}: hostB}, false},
		{"ipv6 remote", map[netip.Addr]netip.AddrPort{ovlB: netip.MustParseAddrPort("[fd00::2]:4789")}, false},
		{"port zero", map[netip.Addr]netip.AddrPort{ovlB: netip.MustParseAddrPort("10.201.0.2:0")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eps, err := NewEndpoints(tt.m)
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrAddress) {
					t.Errorf("err = %v, want ErrAddress", err)
				}
				return
			}
			if eps.Len() != len(tt.m) {
				t.Errorf("Len = %d, want %d", eps.Len(), len(tt.m))
			}
			for ip, want := range tt.m {
				got, ok := eps.Lookup(ip)
				if want.IsValid() {
					want = netip.AddrPortFrom(want.Addr().Unmap(), want.Port())
				}
				if !ok || got != want {
					t.Errorf("Lookup(%s) = %s, %v; want %s", ip, got, ok, want)
				}
			}
		})
	}
}

func TestEndpointsLookup(t *testing.T) {
	eps, err := NewEndpoints(map[netip.Addr]netip.AddrPort{ovlA: {}, ovlB: hostB, netip.MustParseAddr("10.77.0.3"): hostB})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := eps.lookup(ipKey(ovlA)); !ok || !r.local() {
		t.Errorf("local endpoint: %+v, %v", r, ok)
	}
	r2, _ := eps.lookup(ipKey(ovlB))
	r3, _ := eps.lookup(ipKey(netip.MustParseAddr("10.77.0.3")))
	if r2.local() || r3.local() || r2.remote != hostB || r3.remote != hostB {
		t.Errorf("remotes on host B: %v %v", r2.remote, r3.remote)
	}
	if _, ok := eps.Lookup(netip.MustParseAddr("10.77.0.4")); ok {
		t.Error("unknown address found")
	}
	if _, ok := eps.Lookup(netip.MustParseAddr("fd00::1")); ok {
		t.Error("IPv6 address found")
	}
	var none *Endpoints
	if _, ok := none.lookup(ipKey(ovlA)); ok || none.Len() != 0 {
		t.Error("nil snapshot is not empty")
	}
}

func TestTable(t *testing.T) {
	var tab Table
	if tab.Get(1) != nil {
		t.Fatal("zero Table not empty")
	}
	e1, _ := NewEndpoints(map[netip.Addr]netip.AddrPort{ovlA: {}})
	e2, _ := NewEndpoints(map[netip.Addr]netip.AddrPort{ovlB: hostB})
	tab.Set(1, e1)
	tab.Set(2, e2)
	if tab.Get(1) != e1 || tab.Get(2) != e2 {
		t.Fatal("Get after Set")
	}
	tab.Set(1, e2)
	tab.Delete(2)
	if tab.Get(1) != e2 || tab.Get(2) != nil {
		t.Fatal("Get after replace and Delete")
	}
	tab.Set(1, nil)
	if tab.Get(1) != nil {
		t.Fatal("Set nil did not delete")
	}
}

// TestTableConcurrent replaces snapshots while readers look up; run with
// -race. Every snapshot a reader sees is complete: all of its entries point
// at the same host.
func TestTableConcurrent(t *testing.T) {
	var tab Table
	build := func(h netip.AddrPort) *Endpoints {
		m := make(map[netip.Addr]netip.AddrPort)
		for i := range 64 {
			m[netip.AddrFrom4([4]byte{10, 77, 0, byte(i)})] = h
		}
		e, err := NewEndpoints(m)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	snaps := []*Endpoints{build(hostB), build(hostC)}
	tab.Set(7, snaps[0])
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				eps := tab.Get(7)
				first, _ := eps.lookup(ipKey(netip.AddrFrom4([4]byte{10, 77, 0, 0})))
				for i := range 64 {
					r, ok := eps.lookup(ipKey(netip.AddrFrom4([4]byte{10, 77, 0, byte(i)})))
					if !ok || r.remote != first.remote {
						t.Errorf("torn snapshot at %d", i)
						return
					}
				}
			}
		})
	}
	for i := range 1000 {
		tab.Set(7, snaps[i%2])
		tab.Set(uint32(100+i%10), snaps[0])
	}
	close(stop)
	wg.Wait()
}

func TestPeerSet(t *testing.T) {
	var p peerSet
	if p.has4([4]byte{10, 201, 0, 2}) {
		t.Fatal("empty set has a peer")
	}
	if err := p.set([]netip.Addr{hostB.Addr(), netip.MustParseAddr("::ffff:10.201.0.3")}); err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{"10.201.0.2": true, "10.201.0.3": true, "10.201.0.4": false} {
		if got := p.has4(netip.MustParseAddr(ip).As4()); got != want {
			t.Errorf("has4(%s) = %v, want %v", ip, got, want)
		}
	}
	if err := p.set([]netip.Addr{netip.MustParseAddr("fd00::1")}); !errors.Is(err, ErrAddress) {
		t.Errorf("IPv6 peer: err = %v", err)
	}
	if !p.has4([4]byte{10, 201, 0, 2}) {
		t.Error("failed set changed the peers")
	}
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{16, 4096} {
		b.Run(fmt.Sprintf("endpoints=%d", n), func(b *testing.B) {
			m := make(map[netip.Addr]netip.AddrPort, n)
			keys := make([]uint32, n)
			for i := range n {
				ip := netip.AddrFrom4([4]byte{10, 77, byte(i >> 8), byte(i)})
				m[ip] = hostB
				keys[i] = ipKey(ip)
			}
			eps, err := NewEndpoints(m)
			if err != nil {
				b.Fatal(err)
			}
			var tab Table
			tab.Set(42, eps)
			for v := range uint32(16) {
				tab.Set(v, eps)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, ok := tab.Get(42).lookup(keys[i%n]); !ok {
					b.Fatal("miss")
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		})
	}
}
