package lb

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// waitTimeout bounds every wait on an event in these tests.
const waitTimeout = 2 * time.Second

// echoBackend is a TCP backend on a free loopback port that greets each
// connection with its name and a newline, then echoes.
func echoBackend(t testing.TB, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := io.WriteString(c, name+"\n"); err != nil {
					return
				}
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

// deadAddr is a loopback address nothing listens on.
func deadAddr(t testing.TB, network string) string {
	t.Helper()
	var addr string
	switch network {
	case "tcp":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		ln.Close()
	case "udp":
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = c.LocalAddr().String()
		c.Close()
	}
	return addr
}

// client is a connection through a listener to an echoBackend.
type client struct {
	t testing.TB
	net.Conn
	r *bufio.Reader
}

// dial connects to addr and returns the name of the backend that greeted.
func dial(t testing.TB, addr string) (*client, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(waitTimeout)); err != nil {
		t.Fatal(err)
	}
	cl := &client{t: t, Conn: c, r: bufio.NewReader(c)}
	name, err := cl.r.ReadString('\n')
	if err != nil {
		t.Fatalf("greeting through %s: %v", addr, err)
	}
	return cl, strings.TrimSuffix(name, "\n")
}

// echo checks a round trip of msg.
func (c *client) echo(msg string) {
	c.t.Helper()
	if _, err := io.WriteString(c, msg); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c.r, got); err != nil || string(got) != msg {
		c.t.Fatalf("echo of %q: %q, %v", msg, got, err)
	}
}

// waitClosed waits for ch to be closed.
func waitClosed(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("%s: not after %v", what, waitTimeout)
	}
}

// isClosed reports whether ch is closed now.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// eventually waits for cond, polling: for counters that change in the
// listener's goroutines with no event to wait on.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitTimeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s: not after %v", what, waitTimeout)
		}
	}
}

func listen(t testing.TB, o ListenOptions) *Listener {
	t.Helper()
	l, err := ListenWith("127.0.0.1:0", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func backendStats(t testing.TB, s PortStats, addr string) BackendStats {
	t.Helper()
	for _, b := range s.Backends {
		if b.Backend == addr {
			return b
		}
	}
	t.Fatalf("no stats of backend %s in %+v", addr, s.Backends)
	return BackendStats{}
}
