package lb

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actorswarm/swarm/internal/clock/clocktest"
)

// udpBackend answers each datagram with its name, a colon and the
// datagram; got, if not nil, receives each datagram.
func udpBackend(t testing.TB, name string, got chan<- []byte) string {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, maxDatagram)
		out := make([]byte, 0, len(name)+1+maxDatagram)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if got != nil {
				got <- bytes.Clone(buf[:n])
			}
			out = append(append(append(out[:0], name...), ':'), buf[:n]...)
			c.WriteToUDPAddrPort(out, from)
		}
	}()
	return c.LocalAddr().String()
}

func listenUDP(t testing.TB, o ListenOptions) *UDPListener {
	t.Helper()
	l, err := ListenUDP("127.0.0.1:0", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// udpClient is one client address talking to a UDP listener.
type udpClient struct {
	t testing.TB
	*net.UDPConn
	buf []byte
}

func newUDPClient(t testing.TB, l *UDPListener) *udpClient {
	t.Helper()
	c, err := net.DialUDP("udp", nil, l.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpClient{t: t, UDPConn: c, buf: make([]byte, maxDatagram)}
}

// ask sends msg and returns the name of the backend that answered.
func (c *udpClient) ask(msg string) string {
	c.t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		c.t.Fatalf("send %q: %v", msg, err)
	}
	c.SetReadDeadline(time.Now().Add(waitTimeout))
	n, err := c.Read(c.buf)
	if err != nil {
		c.t.Fatalf("reply to %q: %v", msg, err)
	}
	name, echoed, ok := strings.Cut(string(c.buf[:n]), ":")
	if !ok || echoed != msg {
		c.t.Fatalf("reply to %q: %q", msg, c.buf[:n])
	}
	return name
}

// TestUDPAffinity checks that each client address keeps its backend and
// gets the replies.
func TestUDPAffinity(t *testing.T) {
	l := listenUDP(t, ListenOptions{})
	a, b := udpBackend(t, "a", nil), udpBackend(t, "b", nil)
	l.SetBackends([]string{a, b})
	c1, c2 := newUDPClient(t, l), newUDPClient(t, l)
	for i := range 4 {
		if got := c1.ask(fmt.Sprint("one", i)); got != "a" {
			t.Fatalf("client 1, datagram %d: answered by %s, want a", i, got)
		}
		if got := c2.ask(fmt.Sprint("two", i)); got != "b" {
			t.Fatalf("client 2, datagram %d: answered by %s, want b", i, got)
		}
	}
	// Bytes are counted after a datagram was sent on, so the last may
	// count after its client saw the reply.
	eventually(t, "32 bytes in, 48 out", func() bool {
		s := l.Stats()
		return s.BytesIn == 32 && s.BytesOut == 48
	})
	s := l.Stats()
	if s.Accepted != 2 || s.Active != 2 || s.Protocol != "udp" || s.Port != l.Addr().(*net.UDPAddr).Port {
		t.Fatalf("port stats %+v, want 2 sessions", s)
	}
	if sa := backendStats(t, s, a); sa.Total != 1 || sa.Active != 1 || sa.BytesIn != 16 || sa.BytesOut != 24 {
		t.Fatalf("backend a %+v", sa)
	}
}

// TestUDPRemoval checks that removing a backend ends its sessions at once
// and that its clients and new ones go to the others.
func TestUDPRemoval(t *testing.T) {
	l := listenUDP(t, ListenOptions{})
	a, b := udpBackend(t, "a", nil), udpBackend(t, "b", nil)
	l.SetBackends([]string{a, b})
	c1, c2 := newUDPClient(t, l), newUDPClient(t, l)
	if c1.ask("x") != "a" || c2.ask("y") != "b" {
		t.Fatal("sessions not spread")
	}
	l.SetBackends([]string{b})
	waitClosed(t, l.Drain(a), "end of the removed backend's sessions")
	if got := c1.ask("x"); got != "b" {
		t.Fatalf("client of the removed backend answered by %s", got)
	}
	if got := newUDPClient(t, l).ask("z"); got != "b" {
		t.Fatalf("new client answered by %s", got)
	}
	if got := c2.ask("y"); got != "b" {
		t.Fatalf("untouched client answered by %s", got)
	}
	if s := l.Stats(); s.Accepted != 4 {
		t.Fatalf("%d sessions, want 4", s.Accepted)
	}
}

// TestUDPIdleExpiry checks that a session lives while datagrams flow and
// ends after the idle timeout without any.
func TestUDPIdleExpiry(t *testing.T) {
	const idle = 30 * time.Second
	clk := clocktest.New(time.Unix(1_700_000_000, 0))
	l := listenUDP(t, ListenOptions{IdleTimeout: idle, Clock: clk})
	a, b := udpBackend(t, "a", nil), udpBackend(t, "b", nil)
	l.SetBackends([]string{a, b})
	c := newUDPClient(t, l)
	c.ask("1")
	for range 3 {
		clk.Advance(idle - time.Second)
		l.expire()
		if got := c.ask("again"); got != "a" {
			t.Fatalf("answered by %s while the session was live", got)
		}
	}
	if s := l.Stats(); s.Accepted != 1 {
		t.Fatalf("%d sessions, want 1 kept alive", s.Accepted)
	}
	clk.Advance(idle)
	l.expire()
	// A new session, picked in turn.
	if got := c.ask("later"); got != "b" {
		t.Fatalf("answered by %s after the idle timeout, want b", got)
	}
	if s := l.Stats(); s.Accepted != 2 {
		t.Fatalf("%d sessions, want 2", s.Accepted)
	}
}

func TestUDPProxyProtocol(t *testing.T) {
	got := make(chan []byte, 1)
	l := listenUDP(t, ListenOptions{ProxyProtocol: true})
	l.SetBackends([]string{udpBackend(t, "a", got)})
	c := newUDPClient(t, l)
	for _, msg := range []string{"first", "second"} {
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		want, err := AppendProxyV2(nil, c.LocalAddr(), l.Addr())
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, msg...)
		if b := <-got; !bytes.Equal(b, want) {
			t.Fatalf("backend got\n% x\nwant\n% x", b, want)
		}
	}
	// The header does not count.
	eventually(t, "11 bytes in", func() bool { return l.Stats().BytesIn == 11 })
}

// TestUDPDeadBackend checks that a session whose backend refuses (an ICMP
// port unreachable) ends, and that the backend is then tried last.
func TestUDPDeadBackend(t *testing.T) {
	l := listenUDP(t, ListenOptions{})
	dead, live := deadAddr(t, "udp"), udpBackend(t, "live", nil)
	l.SetBackends([]string{dead, live})
	c := newUDPClient(t, l)
	if _, err := c.Write([]byte("lost")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dead backend's failure", func() bool {
		return backendStats(t, l.Stats(), dead).Failures == 1
	})
	for i := range 3 {
		if got := c.ask(fmt.Sprint(i)); got != "live" {
			t.Fatalf("answered by %s", got)
		}
	}
	if s := backendStats(t, l.Stats(), dead); !s.Suspect || s.Failures != 1 || s.Total != 1 {
		t.Fatalf("dead backend %+v, want suspect after 1 failed session", s)
	}
}

func TestUDPNoBackends(t *testing.T) {
	l := listenUDP(t, ListenOptions{})
	c := newUDPClient(t, l)
	if _, err := c.Write([]byte("dropped")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the dropped datagram", func() bool { return l.Stats().Failed == 1 })
	l.SetBackends([]string{udpBackend(t, "a", nil)})
	c.ask("served")
	if s := l.Stats(); s.Failed != 1 || s.Accepted != 1 {
		t.Fatalf("port stats %+v, want 1 failed, 1 accepted", s)
	}
}

func TestUDPClose(t *testing.T) {
	l, err := ListenUDP("127.0.0.1:0", ListenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a := udpBackend(t, "a", nil)
	l.SetBackends([]string{a})
	newUDPClient(t, l).ask("x")
	drained := l.Drain(a)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, drained, "drain at Close")
	if s := l.Stats(); s.Active != 0 {
		t.Fatalf("%d sessions open after Close", s.Active)
	}
}

// BenchmarkUDPEcho measures a datagram's round trip through the listener;
// the steady state allocates nothing in the listener.
func BenchmarkUDPEcho(b *testing.B) {
	for _, size := range []int{64, 512, 1400} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			l := listenUDP(b, ListenOptions{})
			l.SetBackends([]string{udpBackend(b, "a", nil)})
			c := newUDPClient(b, l)
			msg := strings.Repeat("x", size)
			c.ask(msg)
			out := []byte(msg)
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if _, err := c.Write(out); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Read(c.buf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "roundtrips/s")
		})
	}
}

// TestUDPLoopbackAlias reaches a backend bound to all addresses through a
// loopback address other than 127.0.0.1, as loopback swarm nodes are:
// the kernel answers from 127.0.0.1, and the reply must still come back.
func TestUDPLoopbackAlias(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, maxDatagram)
		for {
			n, from, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			c.WriteToUDPAddrPort(append([]byte("any:"), buf[:n]...), from)
		}
	}()
	port := c.LocalAddr().(*net.UDPAddr).Port
	l := listenUDP(t, ListenOptions{})
	l.SetBackends([]string{net.JoinHostPort("127.0.0.77", strconv.Itoa(port))})
	if got := newUDPClient(t, l).ask("hello"); got != "any" {
		t.Fatalf("answered by %q", got)
	}
}
