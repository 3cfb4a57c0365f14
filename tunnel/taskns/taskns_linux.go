package taskns

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrExists is returned by Setup when the namespace, or a host veth it
// would create, already exists. Nothing is changed then.
var ErrExists = errors.New("taskns: already exists")

// netnsDir is where ip netns binds named network namespaces.
const netnsDir = "/run/netns"

// Attachment is one overlay network of a task.
type Attachment struct {
	// Network names the network in errors.
	Network string
	// Addr is the task's IPv4 address on the network, inside Prefix.
	Addr netip.Addr
	// Prefix is the network's subnet.
	Prefix netip.Prefix
	// Gateway is the host's address on the network, inside Prefix.
	Gateway netip.Addr
	// MTU of both ends of the veth; 0 keeps the kernel's default (1500).
	// It should not exceed the MTU of the network's TUN device.
	MTU int
}

// Config describes a task's namespace.
type Config struct {
	// Name of the namespace, bound at /run/netns/<Name>: letters, digits,
	// '.', '_' and '-', starting with a letter or digit, at most 64 bytes.
	// Swarmd uses "as-" and 12 characters of the task ID.
	Name string
	// Attachments become eth0, eth1... in the namespace, in this order.
	Attachments []Attachment
}

// Validate reports whether c is usable: a valid name, and attachments with
// IPv4 addresses, a gateway and a task address that differ and lie inside
// the subnet, and subnets that do not overlap.
func (c Config) Validate() error {
	if err := validName(c.Name); err != nil {
		return err
	}
	for i, a := range c.Attachments {
		switch {
		case !a.Addr.Is4() || !a.Gateway.Is4() || !a.Prefix.IsValid() || !a.Prefix.Addr().Is4():
			return fmt.Errorf("taskns: attachment %d (%s): addresses must be IPv4", i, a.Network)
		case !a.Prefix.Contains(a.Addr) || !a.Prefix.Contains(a.Gateway):
			return fmt.Errorf("taskns: attachment %d (%s): %s and gateway %s must be inside %s", i, a.Network, a.Addr, a.Gateway, a.Prefix)
		case a.Addr == a.Gateway:
			return fmt.Errorf("taskns: attachment %d (%s): address %s is the gateway", i, a.Network, a.Addr)
		case a.MTU != 0 && (a.MTU < 68 || a.MTU > 65535):
			return fmt.Errorf("taskns: attachment %d (%s): MTU %d out of range", i, a.Network, a.MTU)
		}
		for j := range i {
			if c.Attachments[j].Prefix.Overlaps(a.Prefix) {
				return fmt.Errorf("taskns: attachments %d and %d: subnets %s and %s overlap", j, i, c.Attachments[j].Prefix, a.Prefix)
			}
		}
	}
	return nil
}

func validName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("taskns: name %q: must be 1 to 64 bytes", name)
	}
	for i, r := range name {
		alnum := 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
		if !alnum && (i == 0 || r != '.' && r != '_' && r != '-') {
			return fmt.Errorf("taskns: name %q: invalid character %q", name, r)
		}
	}
	return nil
}

// Path returns the file that binds the network namespace name, which
// Command and setns(2) take.
func Path(name string) string { return filepath.Join(netnsDir, name) }

// HostVeth returns the name of the host end of the veth of attachment i of
// the namespace name: "vt", 8 hex digits of a hash of name and i in
// decimal, so at most 15 bytes for any i below 100000.
func HostVeth(name string, i int) string {
	return vethPrefix(name) + strconv.Itoa(i)
}

func vethPrefix(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	return fmt.Sprintf("vt%08x", h.Sum32())
}

// isHostVeth reports whether link is a host veth of the namespace name.
func isHostVeth(name, link string) bool {
	i, ok := strings.CutPrefix(link, vethPrefix(name))
	if !ok || i == "" {
		return false
	}
	for _, r := range i {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Namespace is a task's network namespace set up by Setup. Its methods are
// safe for concurrent use.
type Namespace struct {
	name  string
	veths []string
}

// Name returns the namespace's name.
func (n *Namespace) Name() string { return n.name }

// Path returns the file that binds the namespace (/run/netns/<Name>).
func (n *Namespace) Path() string { return Path(n.name) }

// HostVeths returns the host ends of the veths, in attachment order.
func (n *Namespace) HostVeths() []string { return append([]string(nil), n.veths...) }

// Close removes the namespace, its host veths and their FORWARD rules, as
// Remove does. Calling it again does nothing.
func (n *Namespace) Close() error { return Remove(n.name) }

// Setup creates the network namespace cfg.Name with its loopback up and
// wires each attachment to the host (see the package documentation). It
// fails with ErrExists, changing nothing, if the namespace or one of its
// host veths exists already. On any other failure it removes what it
// created.
func Setup(cfg Config) (*Namespace, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ns := &Namespace{name: cfg.Name}
	for i := range cfg.Attachments {
		ns.veths = append(ns.veths, HostVeth(cfg.Name, i))
	}
	if err := ns.checkFree(); err != nil {
		return nil, fmt.Errorf("setup %s: %w", cfg.Name, err)
	}
	if err := enableForwarding(); err != nil {
		return nil, fmt.Errorf("setup %s: %w", cfg.Name, err)
	}
	if err := ip("netns", "add", cfg.Name); err != nil {
		return nil, fmt.Errorf("setup %s: %w", cfg.Name, err)
	}
	if err := ns.wire(cfg.Attachments); err != nil {
		err = fmt.Errorf("setup %s: %w", cfg.Name, err)
		if rerr := Remove(cfg.Name); rerr != nil {
			err = errors.Join(err, fmt.Errorf("clean up: %w", rerr))
		}
		return nil, err
	}
	return ns, nil
}

func (n *Namespace) checkFree() error {
	if _, err := os.Lstat(n.Path()); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w", n.Path(), ErrExists)
	}
	for _, v := range n.veths {
		if _, err := net.InterfaceByName(v); err == nil {
			return fmt.Errorf("host link %s: %w", v, ErrExists)
		}
	}
	return nil
}

// wire brings up the loopback and creates and addresses the veths.
func (n *Namespace) wire(atts []Attachment) error {
	if err := ip("-n", n.name, "link", "set", "lo", "up"); err != nil {
		return err
	}
	for i, a := range atts {
		host, eth, gw := n.veths[i], "eth"+strconv.Itoa(i), a.Gateway.String()
		var mtu []string
		if a.MTU != 0 {
			mtu = []string{"mtu", strconv.Itoa(a.MTU)}
		}
		add := append(append([]string{"link", "add", host}, mtu...), "type", "veth", "peer", "name", eth)
		add = append(append(add, mtu...), "netns", n.name)
		if err := ip(add...); err != nil {
			return fmt.Errorf("attachment %d (%s): %w", i, a.Network, err)
		}
		if err := allowForward(host); err != nil {
			return fmt.Errorf("attachment %d (%s): %w", i, a.Network, err)
		}
		steps := [][]string{
			{"-n", n.name, "addr", "add", a.Addr.String() + "/32", "dev", eth},
			{"-n", n.name, "link", "set", eth, "up"},
			{"-n", n.name, "route", "add", gw, "dev", eth, "scope", "link"},
			{"-n", n.name, "route", "add", a.Prefix.Masked().String(), "via", gw, "dev", eth},
			{"addr", "add", gw + "/32", "dev", host},
			{"link", "set", host, "up"},
			{"route", "add", a.Addr.String() + "/32", "dev", host},
		}
		if i == 0 {
			steps = append(steps, []string{"-n", n.name, "route", "add", "default", "via", gw, "dev", eth})
		}
		for _, s := range steps {
			if err := ip(s...); err != nil {
				return fmt.Errorf("attachment %d (%s): %w", i, a.Network, err)
			}
		}
	}
	return nil
}

// Remove deletes the network namespace name, the host veths of its
// attachments and their FORWARD rules, whichever exist: it needs only the
// name, so swarmd can clean up after a restart. Removing what does not
// exist is not an error. A process still inside the namespace keeps it
// alive, but without its veths.
func Remove(name string) error {
	if err := validName(name); err != nil {
		return err
	}
	var errs []error
	links, err := net.Interfaces()
	if err != nil {
		errs = append(errs, err)
	}
	for _, l := range links {
		if isHostVeth(name, l.Name) {
			// Deleting one end of a veth deletes both.
			errs = append(errs, ip("link", "delete", l.Name))
		}
	}
	if _, err := os.Lstat(Path(name)); !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, ip("netns", "delete", name))
	}
	errs = append(errs, removeForward(name))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// MoveInto moves the task interfaces of the namespace name (set up by
// Setup with atts) into the network namespace of process pid, and gives
// them their addresses and routes again there (a move drops them): the
// way a container made with no network joins the task's networks. The
// namespace name stays, empty, with the host veths; Remove takes both.
func MoveInto(name string, atts []Attachment, pid int) error {
	if err := validName(name); err != nil {
		return err
	}
	target := "/proc/" + strconv.Itoa(pid) + "/ns/net"
	in := func(args ...string) error {
		cmd := exec.Command("nsenter", append([]string{"--net=" + target, "ip"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s in process %d's namespace: %w: %s", strings.Join(args, " "), pid, err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := in("link", "set", "lo", "up"); err != nil {
		return err
	}
	for i, a := range atts {
		eth, gw := "eth"+strconv.Itoa(i), a.Gateway.String()
		if err := ip("-n", name, "link", "set", eth, "netns", strconv.Itoa(pid)); err != nil {
			return fmt.Errorf("attachment %d (%s): %w", i, a.Network, err)
		}
		steps := [][]string{
			{"addr", "add", a.Addr.String() + "/32", "dev", eth},
			{"link", "set", eth, "up"},
			{"route", "add", gw, "dev", eth, "scope", "link"},
			{"route", "add", a.Prefix.Masked().String(), "via", gw, "dev", eth},
		}
		if i == 0 {
			steps = append(steps, []string{"route", "add", "default", "via", gw, "dev", eth})
		}
		for _, s := range steps {
			if err := in(s...); err != nil {
				return fmt.Errorf("attachment %d (%s): %w", i, a.Network, err)
			}
		}
	}
	return nil
}
