package tunnel

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/actorswarm/swarm/tunnel/tunneltest"
)

var (
	ovlA = netip.MustParseAddr("10.77.0.1")
	ovlB = netip.MustParseAddr("10.77.0.2")
)

// goldenPing is tunneltest.Ping(10.77.0.1, 10.77.0.2, 1, "swarm") on VNI 42,
// computed independently of this package (by hand and a script).
var goldenPing = unhex(
	"0800000000002a00" + // VXLAN: I flag, VNI 42
		"02420a4d0002" + "02420a4d0001" + "0800" + // Ethernet: dst, src MAC, IPv4
		"4500002100000000400166400a4d00010a4d0002" + // IPv4, 33 bytes, ICMP
		"0800b61300010001737761726d") // ICMP echo request, "swarm"

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestEncapGolden(t *testing.T) {
	inner := tunneltest.Ping(ovlA, ovlB, 1, []byte("swarm"))
	if want := goldenPing[HeaderLen:]; !bytes.Equal(inner, want) {
		t.Fatalf("test packet changed:\n got %x\nwant %x", inner, want)
	}

	// In place: the packet already sits behind the headroom.
	buf := make([]byte, HeaderLen+len(inner)+100)
	copy(buf[HeaderLen:], inner)
	got, err := Encap(buf, 42, buf[HeaderLen:])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, goldenPing) {
		t.Errorf("in place:\n got %x\nwant %x", got, goldenPing)
	}
	if &got[0] != &buf[0] {
		t.Error("in place: result does not alias the buffer")
	}

	// Copying from elsewhere.
	got, err = Encap(make([]byte, 200), 42, inner)
	if err != nil || !bytes.Equal(got, goldenPing) {
		t.Errorf("copy: got %x, %v\nwant %x", got, err, goldenPing)
	}

	// Appending.
	got, err = AppendEncap([]byte("prefix"), 42, inner)
	if err != nil || !bytes.Equal(got, append([]byte("prefix"), goldenPing...)) {
		t.Errorf("append: got %x, %v", got, err)
	}
}

func TestEncapErrors(t *testing.T) {
	ping := tunneltest.Ping(ovlA, ovlB, 1, nil)
	padded := append(append([]byte(nil), ping...), 0xee, 0xee)
	tests := []struct {
		name  string
		buf   int
		vni   uint32
		inner []byte
		want  error
	}{
		{"ok", 100, MaxVNI, ping, nil},
		{"padding trimmed", 100, 1, padded, nil},
		{"exact room", HeaderLen + len(ping), 1, padded, nil},
		{"vni too large", 100, MaxVNI + 1, ping, ErrVNI},
		{"no room", HeaderLen + len(ping) - 1, 1, ping, ErrNoRoom},
		{"not ipv4", 100, 1, append([]byte{0x60}, ping[1:]...), ErrNotIPv4},
		{"short", 100, 1, ping[:19], ErrShort},
		{"truncated", 100, 1, ping[:len(ping)-1], ErrLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Encap(make([]byte, tt.buf), tt.vni, tt.inner)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Encap error = %v, want %v", err, tt.want)
			}
			if err != nil {
				return
			}
			if len(got) != HeaderLen+len(ping) {
				t.Errorf("datagram length %d, want %d", len(got), HeaderLen+len(ping))
			}
			vni, inner, err := Decap(got)
			if err != nil || vni != tt.vni || !bytes.Equal(inner, ping) {
				t.Errorf("Decap = %d, %x, %v", vni, inner, err)
			}
		})
	}
}

// mutate returns a copy of goldenPing changed by f.
func mutate(f func(b []byte) []byte) []byte {
	return f(append([]byte(nil), goldenPing...))
}

func TestDecap(t *testing.T) {
	inner := goldenPing[HeaderLen:]
	tests := []struct {
		name      string
		datagram  []byte
		wantVNI   uint32
		wantInner []byte
		wantErr   error
	}{
		{"golden", goldenPing, 42, inner, nil},
		{"padding trimmed", mutate(func(b []byte) []byte { return append(b, 0, 0, 0, 0) }), 42, inner, nil},
		{"max vni", mutate(func(b []byte) []byte { b[4], b[5], b[6] = 0xff, 0xff, 0xff; return b }), MaxVNI, inner, nil},
		{"ip options", ipOptions(), 42, ipOptions()[HeaderLen:], nil},
		{"empty", nil, 0, nil, ErrShort},
		{"headers only", goldenPing[:HeaderLen], 0, nil, ErrShort},
		{"one short of min", goldenPing[:MinDatagramLen-1], 0, nil, ErrShort},
		{"no I flag", mutate(func(b []byte) []byte { b[0] = 0; return b }), 0, nil, ErrFlags},
		{"extra flag", mutate(func(b []byte) []byte { b[0] = 0x0c; return b }), 0, nil, ErrFlags},
		{"reserved byte 1", mutate(func(b []byte) []byte { b[1] = 1; return b }), 0, nil, ErrFlags},
		{"reserved byte 3", mutate(func(b []byte) []byte { b[3] = 0x80; return b }), 0, nil, ErrFlags},
		{"reserved byte 7", mutate(func(b []byte) []byte { b[7] = 1; return b }), 0, nil, ErrFlags},
		{"ethertype ipv6", mutate(func(b []byte) []byte { b[20], b[21] = 0x86, 0xdd; return b }), 0, nil, ErrEtherType},
		{"ethertype arp", mutate(func(b []byte) []byte { b[21] = 0x06; return b }), 0, nil, ErrEtherType},
		{"ip version 6", mutate(func(b []byte) []byte { b[22] = 0x65; return b }), 0, nil, ErrNotIPv4},
		{"ip version 0", mutate(func(b []byte) []byte { b[22] = 0x05; return b }), 0, nil, ErrNotIPv4},
		{"ihl 4", mutate(func(b []byte) []byte { b[22] = 0x44; return b }), 0, nil, ErrLength},
		{"ihl past total", mutate(func(b []byte) []byte { b[22] = 0x49; return b }), 0, nil, ErrLength},
		{"total length 0", mutate(func(b []byte) []byte { b[24], b[25] = 0, 0; return b }), 0, nil, ErrLength},
		{"total length 19", mutate(func(b []byte) []byte { b[24], b[25] = 0, 19; return b }), 0, nil, ErrLength},
		{"total past datagram", mutate(func(b []byte) []byte { b[25]++; return b }), 0, nil, ErrLength},
		{"total 65535", mutate(func(b []byte) []byte { b[24], b[25] = 0xff, 0xff; return b }), 0, nil, ErrLength},
		{"truncated", goldenPing[:len(goldenPing)-1], 0, nil, ErrLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vni, inner, err := Decap(tt.datagram)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if vni != tt.wantVNI || !bytes.Equal(inner, tt.wantInner) {
				t.Errorf("Decap = %d, %x; want %d, %x", vni, inner, tt.wantVNI, tt.wantInner)
			}
		})
	}
}

// ipOptions is goldenPing with 4 bytes of IP options (IHL 6).
func ipOptions() []byte {
	b := append([]byte(nil), goldenPing[:HeaderLen+20]...)
	b = append(b, 1, 1, 1, 0) // NOP, NOP, NOP, EOL
	b = append(b, goldenPing[HeaderLen+20:]...)
	b[HeaderLen] = 0x46
	b[HeaderLen+3] += 4
	return b
}

// naiveDecap is the reference for Decap: the RFC 7348 and RFC 791 rules
// spelled out one by one, without regard for speed.
func naiveDecap(d []byte) (uint32, []byte, bool) {
	if len(d) < 8+14+20 {
		return 0, nil, false
	}
	vx, eth, ip := d[:8], d[8:22], d[22:]
	if vx[0] != 0x08 {
		return 0, nil, false
	}
	for _, i := range []int{1, 2, 3, 7} {
		if vx[i] != 0 {
			return 0, nil, false
		}
	}
	if eth[12] != 0x08 || eth[13] != 0x00 {
		return 0, nil, false
	}
	version := ip[0] / 16
	headerLen := int(ip[0]%16) * 4
	totalLen := int(ip[2])*256 + int(ip[3])
	if version != 4 || headerLen < 20 || totalLen < headerLen || totalLen > len(ip) {
		return 0, nil, false
	}
	vni := uint32(vx[4])*65536 + uint32(vx[5])*256 + uint32(vx[6])
	return vni, ip[:totalLen], true
}

func FuzzDecap(f *testing.F) {
	f.Add(goldenPing, uint32(42))
	f.Add(ipOptions(), uint32(0))
	f.Add(goldenPing[:MinDatagramLen], uint32(MaxVNI))
	f.Add(goldenPing[HeaderLen:], uint32(7))
	f.Add([]byte("garbage"), uint32(1))
	f.Fuzz(func(t *testing.T, data []byte, vni uint32) {
		// Decap never panics and agrees with the reference.
		gotVNI, gotInner, err := Decap(data)
		wantVNI, wantInner, ok := naiveDecap(data)
		if (err == nil) != ok || gotVNI != wantVNI || !bytes.Equal(gotInner, wantInner) {
			t.Fatalf("Decap(%x) = %d, %x, %v; reference %d, %x, %v", data, gotVNI, gotInner, err, wantVNI, wantInner, ok)
		}
		if err == nil && len(gotInner) > 0 && &gotInner[0] != &data[HeaderLen] {
			t.Fatal("inner packet is not a sub-slice of the datagram")
		}

		// Taking data as an inner packet: whatever Encap accepts, in
		// place or copied, Decap returns unchanged.
		_, _, innerOK := naiveDecap(append(append([]byte(nil), goldenPing[:HeaderLen]...), data...))
		buf := make([]byte, HeaderLen+len(data))
		copy(buf[HeaderLen:], data)
		d, err := Encap(buf, vni, buf[HeaderLen:])
		if want := innerOK && vni <= MaxVNI; (err == nil) != want {
			t.Fatalf("Encap(%d, %x) error %v, want success %v", vni, data, err, want)
		}
		if err != nil {
			return
		}
		v, inner, err := Decap(d)
		if err != nil || v != vni || !bytes.Equal(inner, data[:len(inner)]) || len(inner) != len(d)-HeaderLen {
			t.Fatalf("round trip of %x on %d: %d, %x, %v", data, vni, v, inner, err)
		}
		copied, err := Encap(make([]byte, len(d)), vni, data)
		if err != nil || !bytes.Equal(copied, d) {
			t.Fatalf("copying Encap differs: %x, %v; in place %x", copied, err, d)
		}
	})
}

func BenchmarkEncapDecap(b *testing.B) {
	for _, size := range []int{64, 1450, 9000, 65000} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			inner := tunneltest.IPv4(ovlA, ovlB, 17, []byte(strings.Repeat("x", size-20)))
			buf := make([]byte, HeaderLen+len(inner))
			copy(buf[HeaderLen:], inner)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				d, err := Encap(buf, 42, buf[HeaderLen:])
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := Decap(d); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
