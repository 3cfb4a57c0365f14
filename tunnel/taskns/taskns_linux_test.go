package taskns

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	good := att("front", "10.99.0.2", "10.99.0.0/24", "10.99.0.1")
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"no attachments", Config{Name: "as-0123456789ab"}, true},
		{"one attachment", Config{Name: "as-0123456789ab", Attachments: []Attachment{good}}, true},
		{"two networks", Config{Name: "t", Attachments: []Attachment{good, att("back", "10.99.1.2", "10.99.1.0/24", "10.99.1.1")}}, true},
		{"empty name", Config{Attachments: []Attachment{good}}, false},
		{"slash in name", Config{Name: "a/b"}, false},
		{"leading dash", Config{Name: "-n"}, false},
		{"dot dot", Config{Name: ".."}, false},
		{"long name", Config{Name: strings.Repeat("a", 65)}, false},
		{"IPv6", Config{Name: "t", Attachments: []Attachment{att("v6", "fd00::2", "fd00::/64", "fd00::1")}}, false},
		{"address outside", Config{Name: "t", Attachments: []Attachment{att("n", "10.99.1.2", "10.99.0.0/24", "10.99.0.1")}}, false},
		{"gateway outside", Config{Name: "t", Attachments: []Attachment{att("n", "10.99.0.2", "10.99.0.0/24", "10.98.0.1")}}, false},
		{"address is gateway", Config{Name: "t", Attachments: []Attachment{att("n", "10.99.0.1", "10.99.0.0/24", "10.99.0.1")}}, false},
		{"overlapping subnets", Config{Name: "t", Attachments: []Attachment{good, att("n", "10.99.0.130", "10.99.0.128/25", "10.99.0.129")}}, false},
		{"MTU too small", Config{Name: "t", Attachments: []Attachment{{Network: "n", Addr: good.Addr, Prefix: good.Prefix, Gateway: good.Gateway, MTU: 67}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
		})
	}
}

func TestHostVeth(t *testing.T) {
	seen := map[string]bool{}
	for _, name := range []string{"as-0123456789ab", "as-0123456789ac", "tns-a"} {
		for _, i := range []int{0, 1, 9, 10, 99999} {
			v := HostVeth(name, i)
			if len(v) > 15 {
				t.Errorf("HostVeth(%q, %d) = %q: longer than 15 bytes", name, i, v)
			}
			if seen[v] {
				t.Errorf("HostVeth(%q, %d) = %q: given twice", name, i, v)
			}
			seen[v] = true
			if v != HostVeth(name, i) {
				t.Errorf("HostVeth(%q, %d) is not deterministic", name, i)
			}
			if !isHostVeth(name, v) || isHostVeth("other", v) {
				t.Errorf("isHostVeth misclassifies %q", v)
			}
		}
	}
	if p := vethPrefix("tns-a"); isHostVeth("tns-a", p) || isHostVeth("tns-a", p+"x") {
		t.Errorf("isHostVeth accepts a name without a decimal index")
	}
}

// TestTwoTasks sets up two tasks on one network and checks that they reach
// each other through the host, and the gateway address on the host.
func TestTwoTasks(t *testing.T) {
	requireRoot(t)
	a := setup(t, Config{Name: "tns-a", Attachments: []Attachment{att("front", "10.99.0.2", "10.99.0.0/24", "10.99.0.1")}})
	b := setup(t, Config{Name: "tns-b", Attachments: []Attachment{att("front", "10.99.0.3", "10.99.0.0/24", "10.99.0.1")}})

	if a.Path() != "/run/netns/tns-a" {
		t.Errorf("Path() = %q", a.Path())
	}
	if got := a.HostVeths(); len(got) != 1 || got[0] != HostVeth("tns-a", 0) {
		t.Errorf("HostVeths() = %q", got)
	}
	if fwd, err := os.ReadFile(ipForward); err != nil || strings.TrimSpace(string(fwd)) != "1" {
		t.Errorf("ip_forward = %q, %v; want 1", fwd, err)
	}

	t.Run("ping", func(t *testing.T) {
		run(t, "ip", "netns", "exec", "tns-a", "ping", "-c", "1", "-W", "1", "10.99.0.3")
		run(t, "ip", "netns", "exec", "tns-b", "ping", "-c", "1", "-W", "1", "10.99.0.2")
	})

	t.Run("gateway", func(t *testing.T) {
		ln, err := net.Listen("tcp4", "10.99.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		err = inNetns(a.Path(), func() error {
			c, err := net.DialTimeout("tcp4", ln.Addr().String(), 5*time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Write([]byte("hello gateway"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if from := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr(); from != netip.MustParseAddr("10.99.0.2") {
			t.Errorf("connection from %s, want 10.99.0.2", from)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if got, err := io.ReadAll(c); err != nil || string(got) != "hello gateway" {
			t.Errorf("read %q, %v", got, err)
		}
	})

	t.Run("close", func(t *testing.T) {
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		requireGone(t, "tns-a")
		if err := a.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := os.Lstat(b.Path()); err != nil {
			t.Errorf("closing tns-a touched tns-b: %v", err)
		}
	})
}

// TestTwoAttachments checks the devices, addresses and routes of a task on
// two networks, and Remove by name alone, as after a restart of swarmd.
func TestTwoAttachments(t *testing.T) {
	requireRoot(t)
	back := att("back", "10.99.2.2", "10.99.2.0/24", "10.99.2.1")
	back.MTU = 1400
	ns := setup(t, Config{Name: "tns-c", Attachments: []Attachment{att("front", "10.99.1.2", "10.99.1.0/24", "10.99.1.1"), back}})

	for dev, want := range map[string]string{"lo": "127.0.0.1/8", "eth0": "10.99.1.2/32", "eth1": "10.99.2.2/32"} {
		if out := run(t, "ip", "-n", "tns-c", "-4", "-o", "addr", "show", "dev", dev); !strings.Contains(out, " inet "+want+" ") {
			t.Errorf("%s: want inet %s:\n%s", dev, want, out)
		}
	}
	var routes []string
	for line := range strings.Lines(run(t, "ip", "-n", "tns-c", "-4", "route", "show")) {
		routes = append(routes, strings.TrimSpace(line))
	}
	wantRoutes := []string{
		"default via 10.99.1.1 dev eth0",
		"10.99.1.0/24 via 10.99.1.1 dev eth0",
		"10.99.1.1 dev eth0 scope link",
		"10.99.2.0/24 via 10.99.2.1 dev eth1",
		"10.99.2.1 dev eth1 scope link",
	}
	if strings.Join(routes, "\n") != strings.Join(wantRoutes, "\n") {
		t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(routes, "\n"), strings.Join(wantRoutes, "\n"))
	}
	for _, link := range [][]string{{"-n", "tns-c", "link", "show", "eth1"}, {"link", "show", ns.HostVeths()[1]}} {
		if out := run(t, append([]string{"ip"}, link...)...); !strings.Contains(out, " mtu 1400 ") {
			t.Errorf("ip %s: want mtu 1400:\n%s", strings.Join(link, " "), out)
		}
	}
	host := run(t, "ip", "-4", "route", "show", "10.99.2.2/32")
	if !strings.Contains(host, "dev "+ns.HostVeths()[1]) {
		t.Errorf("host route to 10.99.2.2: %q, want dev %s", host, ns.HostVeths()[1])
	}
	run(t, "ip", "netns", "exec", "tns-c", "ping", "-c", "1", "-W", "1", "10.99.2.1")

	if err := Remove("tns-c"); err != nil {
		t.Fatal(err)
	}
	requireGone(t, "tns-c")
}

func TestSetupExisting(t *testing.T) {
	requireRoot(t)
	one := []Attachment{att("front", "10.99.4.2", "10.99.4.0/24", "10.99.4.1")}

	t.Run("twice", func(t *testing.T) {
		ns := setup(t, Config{Name: "tns-e", Attachments: one})
		_, err := Setup(Config{Name: "tns-e", Attachments: []Attachment{att("front", "10.99.4.3", "10.99.4.0/24", "10.99.4.1")}})
		if !errors.Is(err, ErrExists) {
			t.Fatalf("second Setup: %v, want ErrExists", err)
		}
		if _, err := net.InterfaceByName(ns.HostVeths()[0]); err != nil {
			t.Errorf("first namespace lost its veth: %v", err)
		}
		if out := run(t, "ip", "-4", "route", "show", "10.99.4.3/32"); out != "" {
			t.Errorf("second Setup left a route: %q", out)
		}
		run(t, "ip", "netns", "exec", ns.Name(), "ping", "-c", "1", "-W", "1", "10.99.4.1")
	})

	t.Run("foreign namespace", func(t *testing.T) {
		_ = Remove("tns-f")
		run(t, "ip", "netns", "add", "tns-f")
		defer Remove("tns-f")
		if _, err := Setup(Config{Name: "tns-f", Attachments: one}); !errors.Is(err, ErrExists) {
			t.Fatalf("Setup: %v, want ErrExists", err)
		}
		if left := leftovers(t, "tns-f"); len(left) != 1 || left[0] != Path("tns-f") {
			t.Errorf("want only the foreign namespace, have %q", left)
		}
	})

	t.Run("stale veth", func(t *testing.T) {
		_ = Remove("tns-g")
		stale := HostVeth("tns-g", 1)
		run(t, "ip", "link", "add", stale, "type", "veth", "peer", "name", "tns-gp")
		defer run(t, "ip", "link", "delete", stale)
		_, err := Setup(Config{Name: "tns-g", Attachments: append(one, att("back", "10.99.5.2", "10.99.5.0/24", "10.99.5.1"))})
		if !errors.Is(err, ErrExists) {
			t.Fatalf("Setup: %v, want ErrExists", err)
		}
		if left := leftovers(t, "tns-g"); len(left) != 1 || left[0] != "link "+stale {
			t.Errorf("want only the stale link, have %q", left)
		}
	})
}

// TestSetupRollsBack makes Setup fail half-way, at the host route to the
// task, and checks that nothing is left.
func TestSetupRollsBack(t *testing.T) {
	requireRoot(t)
	_ = Remove("tns-h")
	run(t, "ip", "route", "add", "blackhole", "10.99.6.2/32")
	defer run(t, "ip", "route", "delete", "blackhole", "10.99.6.2/32")
	_, err := Setup(Config{Name: "tns-h", Attachments: []Attachment{att("front", "10.99.6.2", "10.99.6.0/24", "10.99.6.1")}})
	if err == nil || errors.Is(err, ErrExists) {
		t.Fatalf("Setup: %v, want a route error", err)
	}
	requireGone(t, "tns-h")
}

func TestRemoveAbsent(t *testing.T) {
	requireRoot(t)
	if err := Remove("tns-never"); err != nil {
		t.Errorf("Remove: %v", err)
	}
	if err := Remove("../etc"); err == nil {
		t.Errorf("Remove accepted an invalid name")
	}
}
