package tunnel

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/songgao/water"
	"golang.org/x/sys/unix"
)

// Device helpers. They act on the network namespace of the calling OS
// thread: wrap them in InNetns to act in another namespace. Links and
// addresses are configured with the ip command (iproute2), which inherits
// the thread's namespace.

// OpenTUN creates the TUN device name (raw IPv4 packets, no packet-info
// header) and returns its queues: one, or that many queues of a
// multi-queue device when queues > 1. IPv6 is disabled on the device, so the
// kernel sends no router or neighbour solicitations into the overlay. The
// device disappears when its last queue is closed.
func OpenTUN(name string, queues int) ([]*water.Interface, error) {
	if queues < 1 {
		return nil, fmt.Errorf("open TUN %s: %d queues", name, queues)
	}
	cfg := water.Config{DeviceType: water.TUN}
	cfg.Name = name
	cfg.MultiQueue = queues > 1
	var qs []*water.Interface
	for range queues {
		q, err := water.New(cfg)
		if err != nil {
			for _, q := range qs {
				q.Close()
			}
			return nil, fmt.Errorf("open TUN %s: %w", name, err)
		}
		qs = append(qs, q)
	}
	err := os.WriteFile(filepath.Join("/proc/sys/net/ipv6/conf", name, "disable_ipv6"), []byte("1"), 0)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		for _, q := range qs {
			q.Close()
		}
		return nil, fmt.Errorf("open TUN %s: disable IPv6: %w", name, err)
	}
	return qs, nil
}

// ConfigureLink gives the link name the address addr (which also routes
// addr's subnet through the link), sets its MTU unless mtu is 0, and brings
// it up.
func ConfigureLink(name string, addr netip.Prefix, mtu int) error {
	if err := ip("addr", "replace", addr.String(), "dev", name); err != nil {
		return err
	}
	args := []string{"link", "set", "dev", name}
	if mtu > 0 {
		args = append(args, "mtu", strconv.Itoa(mtu))
	}
	return ip(append(args, "up")...)
}

// AddRoute routes dst through the link dev, replacing any route to dst.
func AddRoute(dst netip.Prefix, dev string) error {
	return ip("route", "replace", dst.String(), "dev", dev)
}

// CreateVeth creates the veth pair name–peer and moves peer into the named
// network namespace (it stays here when peerNetns is empty). Both ends are
// down and without addresses.
func CreateVeth(name, peer, peerNetns string) error {
	args := []string{"link", "add", name, "type", "veth", "peer", "name", peer}
	if peerNetns != "" {
		args = append(args, "netns", peerNetns)
	}
	return ip(args...)
}

// CreateNetns creates the named network namespace (as ip netns add does,
// bound under /run/netns) and brings its loopback up.
func CreateNetns(name string) error {
	if err := ip("netns", "add", name); err != nil {
		return err
	}
	return InNetns(name, func() error { return ip("link", "set", "dev", "lo", "up") })
}

// DeleteNetns deletes the named network namespace; the links in it go with
// it once no process uses it any more.
func DeleteNetns(name string) error {
	return ip("netns", "delete", name)
}

// InNetns runs fn on an OS thread that is switched into the named network
// namespace, so that the sockets and devices fn creates belong to it (they
// stay there after fn returns). Goroutines that fn starts run elsewhere, in
// the original namespace. The thread is switched back afterwards; if that
// fails, it is never reused: its goroutine exits still locked, and the
// runtime terminates it. A panic in fn is re-raised in the caller.
func InNetns(name string, fn func() error) error {
	target, err := unix.Open(filepath.Join("/run/netns", name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("netns %s: %w", name, err)
	}
	defer unix.Close(target)

	type result struct {
		err   error
		panic any
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("netns %s: current namespace: %w", name, err)}
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("netns %s: enter: %w", name, err)}
			return
		}
		var res result
		defer func() {
			if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
				res.err = errors.Join(res.err, fmt.Errorf("netns %s: leave: %w", name, err))
			} else {
				runtime.UnlockOSThread()
			}
			done <- res
		}()
		defer func() { res.panic = recover() }()
		res.err = fn()
	}()
	res := <-done
	if res.panic != nil {
		panic(res.panic)
	}
	return res.err
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
