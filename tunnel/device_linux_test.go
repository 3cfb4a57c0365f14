package tunnel

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// requireRoot skips tests that create namespaces and devices.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root to create network namespaces, veth pairs and TUN devices")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipped: the ip command (iproute2) is not installed")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip("skipped: no /dev/net/tun")
	}
}

// netns creates a network namespace (named tnt-*) that is deleted when the
// test ends, after a leftover of an earlier run is removed.
func netns(t *testing.T, name string) {
	t.Helper()
	if !strings.HasPrefix(name, "tnt-") {
		t.Fatalf("test namespace %q must be named tnt-*", name)
	}
	if _, err := os.Stat("/run/netns/" + name); err == nil {
		mustOK(t, DeleteNetns(name))
	}
	mustOK(t, CreateNetns(name))
	t.Cleanup(func() {
		if err := DeleteNetns(name); err != nil {
			t.Errorf("delete netns: %v", err)
		}
	})
}

// run runs a command and returns its output, failing the test on error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func netnsInode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	mustOK(t, unix.Stat(path, &st))
	return st.Ino
}

func TestInNetns(t *testing.T) {
	requireRoot(t)
	netns(t, "tnt-d1")
	want := netnsInode(t, "/run/netns/tnt-d1")
	var here uint64
	mustOK(t, InNetns("tnt-d1", func() error {
		var st unix.Stat_t
		if err := unix.Stat("/proc/thread-self/ns/net", &st); err != nil {
			return err
		}
		here = st.Ino
		return nil
	}))
	if here != want {
		t.Errorf("inside: namespace inode %d, want %d", here, want)
	}
	if netnsInode(t, "/proc/thread-self/ns/net") == want {
		t.Error("caller's thread left in the namespace")
	}

	errBoom := errors.New("boom")
	if err := InNetns("tnt-d1", func() error { return errBoom }); !errors.Is(err, errBoom) {
		t.Errorf("error from fn: %v", err)
	}
	if err := InNetns("tnt-nonexistent", func() error { return nil }); err == nil {
		t.Error("unknown namespace accepted")
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic of fn", r)
			}
		}()
		_ = InNetns("tnt-d1", func() error { panic("boom") })
	}()
}

func TestOpenTUN(t *testing.T) {
	requireRoot(t)
	netns(t, "tnt-d1")
	var queues int
	var pkt []byte
	mustOK(t, InNetns("tnt-d1", func() error {
		qs, err := OpenTUN("tnt0", 1)
		if err != nil {
			return err
		}
		defer qs[0].Close()
		if err := ConfigureLink("tnt0", netip.MustParsePrefix("10.99.0.1/24"), 1400); err != nil {
			return err
		}
		if err := AddRoute(netip.MustParsePrefix("10.98.0.0/16"), "tnt0"); err != nil {
			return err
		}
		mq, err := OpenTUN("tnt1", 3)
		if err != nil {
			return err
		}
		for _, q := range mq {
			defer q.Close()
		}
		queues = len(mq)

		// A datagram routed to the device comes out of the queue.
		c, err := net.Dial("udp4", "10.98.0.5:9")
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.Write([]byte("hello tun")); err != nil {
			return err
		}
		buf := make([]byte, 1500)
		n, err := qs[0].Read(buf)
		pkt = buf[:n]
		return err
	}))
	if queues != 3 {
		t.Errorf("multi-queue device: %d queues", queues)
	}
	if len(pkt) < 20 || pkt[0]>>4 != 4 || !strings.HasSuffix(string(pkt), "hello tun") ||
		netip.AddrFrom4([4]byte(pkt[16:20])) != netip.MustParseAddr("10.98.0.5") {
		t.Errorf("read from TUN: %x", pkt)
	}
	// The device went with its last queue.
	if out, err := exec.Command("ip", "-n", "tnt-d1", "link", "show", "tnt0").CombinedOutput(); err == nil {
		t.Errorf("tnt0 still exists after close: %s", out)
	}
}

func TestConfigureLink(t *testing.T) {
	requireRoot(t)
	netns(t, "tnt-d1")
	netns(t, "tnt-d2")
	mustOK(t, InNetns("tnt-d1", func() error {
		if err := CreateVeth("tnt-v1", "tnt-v2", "tnt-d2"); err != nil {
			return err
		}
		return ConfigureLink("tnt-v1", netip.MustParsePrefix("10.202.0.1/24"), 1400)
	}))
	mustOK(t, InNetns("tnt-d2", func() error {
		if err := ConfigureLink("tnt-v2", netip.MustParsePrefix("10.202.0.2/24"), 0); err != nil {
			return err
		}
		return AddRoute(netip.MustParsePrefix("10.203.0.0/16"), "tnt-v2")
	}))
	link := run(t, "ip", "-n", "tnt-d1", "-o", "link", "show", "tnt-v1")
	if !strings.Contains(link, "mtu 1400") || !strings.Contains(link, ",UP") {
		t.Errorf("link: %s", link)
	}
	if addr := run(t, "ip", "-n", "tnt-d2", "-o", "addr", "show", "dev", "tnt-v2"); !strings.Contains(addr, "10.202.0.2/24") {
		t.Errorf("address: %s", addr)
	}
	if route := run(t, "ip", "-n", "tnt-d2", "route", "show", "10.203.0.0/16"); !strings.Contains(route, "dev tnt-v2") {
		t.Errorf("route: %s", route)
	}
	run(t, "ip", "netns", "exec", "tnt-d1", "ping", "-c", "1", "-W", "5", "10.202.0.2")
}
