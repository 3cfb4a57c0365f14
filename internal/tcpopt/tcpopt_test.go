package tcpopt

import (
	"net"
	"runtime"
	"testing"
)

// TestDialerSetsThinStream: a connection dialed with Dialer has linear
// retransmission timeouts.
func TestDialerSetsThinStream(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("TCP_THIN_LINEAR_TIMEOUTS is Linux's")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := DialContext(t.Context(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var on bool
	var gerr error
	if err := rc.Control(func(fd uintptr) { on, gerr = thin(int(fd)) }); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	if !on {
		t.Error("a dialed connection lacks TCP_THIN_LINEAR_TIMEOUTS")
	}
	plain, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	rc, _ = plain.(*net.TCPConn).SyscallConn()
	_ = rc.Control(func(fd uintptr) { on, gerr = thin(int(fd)) })
	if on || gerr != nil {
		t.Errorf("a plain connection reports linear timeouts (%v, %v): the check proves nothing", on, gerr)
	}
}
