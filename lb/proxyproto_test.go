package lb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"testing"
)

// sig is the PROXY v2 signature, written out by hand.
var sig = []byte{0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestAppendProxyV2(t *testing.T) {
	tcp := func(ip string, port int) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: port} }
	udp := func(ip string, port int) net.Addr { return &net.UDPAddr{IP: net.ParseIP(ip), Port: port} }
	tests := []struct {
		name     string
		src, dst net.Addr
		want     []byte
	}{
		{
			name: "tcp4",
			src:  tcp("192.0.2.1", 56324),
			dst:  tcp("198.51.100.7", 443),
			want: cat(sig, []byte{
				0x21, 0x11, 0x00, 0x0c,
				0xc0, 0x00, 0x02, 0x01, // 192.0.2.1
				0xc6, 0x33, 0x64, 0x07, // 198.51.100.7
				0xdc, 0x04, // 56324
				0x01, 0xbb, // 443
			}),
		},
		{
			name: "tcp6",
			src:  tcp("2001:db8::1", 40000),
			dst:  tcp("2001:db8::2", 8080),
			want: cat(sig, []byte{
				0x21, 0x21, 0x00, 0x24,
				0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
				0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
				0x9c, 0x40, // 40000
				0x1f, 0x90, // 8080
			}),
		},
		{
			name: "udp4",
			src:  udp("10.0.0.1", 53),
			dst:  udp("10.0.0.2", 5353),
			want: cat(sig, []byte{
				0x21, 0x12, 0x00, 0x0c,
				0x0a, 0x00, 0x00, 0x01,
				0x0a, 0x00, 0x00, 0x02,
				0x00, 0x35,
				0x14, 0xe9,
			}),
		},
		{
			name: "udp6",
			src:  udp("fe80::1", 1),
			dst:  udp("ff02::fb", 5353),
			want: cat(sig, []byte{
				0x21, 0x22, 0x00, 0x24,
				0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
				0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfb,
				0x00, 0x01,
				0x14, 0xe9,
			}),
		},
		{
			// A dual-stack listener sees an IPv4 client as IPv4-mapped.
			name: "mapped is ipv4",
			src:  tcp("::ffff:192.0.2.1", 1),
			dst:  tcp("192.0.2.2", 2),
			want: cat(sig, []byte{
				0x21, 0x11, 0x00, 0x0c,
				0xc0, 0x00, 0x02, 0x01,
				0xc0, 0x00, 0x02, 0x02,
				0x00, 0x01,
				0x00, 0x02,
			}),
		},
		{
			name: "ipv4 to ipv6 is mapped",
			src:  tcp("192.0.2.1", 1),
			dst:  tcp("::", 80),
			want: cat(sig, []byte{
				0x21, 0x21, 0x00, 0x24,
				0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xc0, 0x00, 0x02, 0x01,
				0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				0x00, 0x01,
				0x00, 0x50,
			}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("x")
			got, err := AppendProxyV2(prefix, tt.src, tt.dst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, cat(prefix, tt.want)) {
				t.Fatalf("header\n got % x\nwant % x", got, cat(prefix, tt.want))
			}
			if len(tt.want) > ProxyV2MaxLen {
				t.Fatalf("%d bytes, more than ProxyV2MaxLen", len(tt.want))
			}
		})
	}
}

func TestAppendProxyV2Errors(t *testing.T) {
	tests := []struct {
		name     string
		src, dst net.Addr
	}{
		{"mixed transports", &net.TCPAddr{IP: net.IPv4(1, 2, 3, 4)}, &net.UDPAddr{IP: net.IPv4(1, 2, 3, 4)}},
		{"unix", &net.UnixAddr{Name: "/run/x"}, &net.UnixAddr{Name: "/run/y"}},
		{"nil", nil, nil},
		{"no IP", &net.TCPAddr{Port: 1}, &net.TCPAddr{IP: net.IPv4(1, 2, 3, 4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := AppendProxyV2(nil, tt.src, tt.dst)
			if !errors.Is(err, ErrProxyAddr) || len(b) != 0 {
				t.Fatalf("AppendProxyV2 = % x, %v; want ErrProxyAddr", b, err)
			}
		})
	}
}

// TestListenerProxyProtocol checks that a backend gets the header, then
// the client's bytes, and that the option can be turned on at run time.
func TestListenerProxyProtocol(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	const hello = "hello"
	got := make(chan []byte)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b, _ := io.ReadAll(c)
			io.WriteString(c, "world")
			c.Close()
			got <- b
		}
	}()
	l := listen(t, ListenOptions{})
	l.SetBackends([]string{ln.Addr().String()})
	send := func() (local *net.TCPAddr, received []byte) {
		t.Helper()
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, hello); err != nil {
			t.Fatal(err)
		}
		c.(*net.TCPConn).CloseWrite()
		reply, err := io.ReadAll(c)
		if err != nil || string(reply) != "world" {
			t.Fatalf("reply %q, %v", reply, err)
		}
		return c.LocalAddr().(*net.TCPAddr), <-got
	}

	if _, b := send(); string(b) != hello {
		t.Fatalf("without PROXY the backend got %q", b)
	}

	l.SetProxyProtocol(true)
	local, b := send()
	lport := l.Addr().(*net.TCPAddr).Port
	want := cat(sig, []byte{0x21, 0x11, 0x00, 0x0c, 127, 0, 0, 1, 127, 0, 0, 1},
		binary.BigEndian.AppendUint16(nil, uint16(local.Port)),
		binary.BigEndian.AppendUint16(nil, uint16(lport)),
		[]byte(hello))
	if !bytes.Equal(b, want) {
		t.Fatalf("backend got\n% x\nwant\n% x", b, want)
	}
}

func TestReadProxyV2RoundTrip(t *testing.T) {
	for _, tc := range []struct{ src, dst string }{
		{"192.0.2.10:51000", "198.51.100.1:80"},
		{"[2001:db8::1]:51000", "[2001:db8::2]:443"},
	} {
		src, dst := netip.MustParseAddrPort(tc.src), netip.MustParseAddrPort(tc.dst)
		hdr, err := AppendProxyV2(nil, net.TCPAddrFromAddrPort(src), net.TCPAddrFromAddrPort(dst))
		if err != nil {
			t.Fatal(err)
		}
		r := bytes.NewReader(append(hdr, "GET / HTTP/1.1\r\n"...))
		gotSrc, gotDst, err := ReadProxyV2(r)
		if err != nil || gotSrc != src || gotDst != dst {
			t.Errorf("ReadProxyV2(%s → %s) = %v, %v, %v", src, dst, gotSrc, gotDst, err)
		}
		rest, _ := io.ReadAll(r)
		if string(rest) != "GET / HTTP/1.1\r\n" {
			t.Errorf("after the header %q is left, want the request", rest)
		}
	}
}

func TestReadProxyV2Bad(t *testing.T) {
	good, _ := AppendProxyV2(nil, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1}, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 2})
	long := slices.Clone(good)
	binary.BigEndian.PutUint16(long[14:16], 4096)
	for name, in := range map[string][]byte{
		"empty":       nil,
		"http":        []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"truncated":   good[:20],
		"version 1":   append(append([]byte(proxyV2Sig), 0x11), good[13:]...),
		"huge length": long,
	} {
		if _, _, err := ReadProxyV2(bytes.NewReader(in)); !errors.Is(err, ErrProxyHeader) {
			t.Errorf("%s: err = %v, want ErrProxyHeader", name, err)
		}
	}
}

// FuzzReadProxyV2 feeds arbitrary bytes to the parser a backend runs on
// every connection: it must never panic, and what it accepts must be a
// header AppendProxyV2 could have written or a LOCAL one.
func FuzzReadProxyV2(f *testing.F) {
	good, _ := AppendProxyV2(nil, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1}, &net.TCPAddr{IP: net.IPv4(192, 0, 2, 2), Port: 2})
	f.Add(good)
	f.Add([]byte(proxyV2Sig))
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		src, dst, err := ReadProxyV2(bytes.NewReader(in))
		if err != nil && (src.IsValid() || dst.IsValid()) {
			t.Fatalf("error %v with addresses %v %v", err, src, dst)
		}
	})
}
