package tunnel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// TUNQueue is one queue of a TUN device opened by OpenOffloadTUN: an
// io.ReadWriteCloser of IPv4 packets on a non-blocking descriptor. When
// Offload reports true, every packet read or written is preceded by a
// virtio_net_hdr (10 bytes) and reads may return TCP super-segments of up to
// 64 KB; the forwarder deals with both. Its methods are safe for concurrent
// use, as those of an *os.File.
type TUNQueue struct {
	f       *os.File
	offload bool
}

// Read reads one packet (with its virtio_net_hdr when Offload is true).
func (q *TUNQueue) Read(p []byte) (int, error) { return q.f.Read(p) }

// Write writes one packet (with its virtio_net_hdr when Offload is true).
func (q *TUNQueue) Write(p []byte) (int, error) { return q.f.Write(p) }

// Close closes the queue; the device goes with its last queue.
func (q *TUNQueue) Close() error { return q.f.Close() }

// Offload reports whether the queue has IFF_VNET_HDR with checksum and TCP
// segmentation offloads (the OffloadQueue capability).
func (q *TUNQueue) Offload() bool { return q.offload }

// SyscallConn gives the forwarder the descriptor, for batched and vectored
// I/O.
func (q *TUNQueue) SyscallConn() (syscall.RawConn, error) { return q.f.SyscallConn() }

// tunOffloads are the offloads asked of a TUN device: checksums and TCP
// segmentation, so the kernel hands over (and takes) 64 KB TCP segments.
const tunOffloads = unix.TUN_F_CSUM | unix.TUN_F_TSO4 | unix.TUN_F_TSO6

// OpenOffloadTUN creates the TUN device name as OpenTUN does (raw IPv4
// packets, IPv6 disabled, one or queues queues), with IFF_VNET_HDR and
// checksum and TCP segmentation offloads when the kernel grants them;
// otherwise the queues have no offloads (Offload reports false). Give its
// queues to Forwarder.AddNetwork: with offloads, a single TCP stream crosses
// the forwarder in 64 KB pieces whatever the device's MTU. The device
// disappears when its last queue is closed.
func OpenOffloadTUN(name string, queues int) ([]*TUNQueue, error) {
	qs, err := openTUN(name, queues, true)
	if err != nil {
		qs, err = openTUN(name, queues, false)
	}
	if err != nil {
		return nil, err
	}
	err = os.WriteFile(filepath.Join("/proc/sys/net/ipv6/conf", name, "disable_ipv6"), []byte("1"), 0)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		for _, q := range qs {
			q.Close()
		}
		return nil, fmt.Errorf("open TUN %s: disable IPv6: %w", name, err)
	}
	return qs, nil
}

// openTUN opens the queues of TUN device name, with or without offloads.
func openTUN(name string, queues int, offload bool) ([]*TUNQueue, error) {
	if queues < 1 {
		return nil, fmt.Errorf("open TUN %s: %d queues", name, queues)
	}
	flags := uint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if offload {
		flags |= unix.IFF_VNET_HDR
	}
	if queues > 1 {
		flags |= unix.IFF_MULTI_QUEUE
	}
	var qs []*TUNQueue
	fail := func(err error) ([]*TUNQueue, error) {
		for _, q := range qs {
			q.Close()
		}
		return nil, fmt.Errorf("open TUN %s: %w", name, err)
	}
	for range queues {
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return fail(err)
		}
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			unix.Close(fd)
			return fail(err)
		}
		ifr.SetUint16(flags)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return fail(fmt.Errorf("TUNSETIFF: %w", err))
		}
		if offload {
			if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, tunOffloads); err != nil {
				unix.Close(fd)
				return fail(fmt.Errorf("TUNSETOFFLOAD: %w", err))
			}
		}
		qs = append(qs, &TUNQueue{f: os.NewFile(uintptr(fd), "/dev/net/tun"), offload: offload})
	}
	return qs, nil
}
