package tunnel

import (
	"encoding/binary"
	"io"
	"syscall"
	"unsafe"

	"github.com/songgao/water"
	"golang.org/x/sys/unix"
)

// socketControl sets the underlay socket's options before it is bound:
// fragmentation always allowed (no DF bit), so that a datagram larger than
// the underlay's MTU is fragmented by the kernel rather than refused, and
// large buffers (forced past the sysctl limits when running as root).
func socketControl(bufSize int) func(network, address string, c syscall.RawConn) error {
	return func(_, _ string, c syscall.RawConn) error {
		var opErr error
		err := c.Control(func(fd uintptr) {
			s := int(fd)
			opErr = unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT)
			if opErr != nil {
				return
			}
			if unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, bufSize) != nil {
				opErr = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_RCVBUF, bufSize)
			}
			if opErr != nil {
				return
			}
			if unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, bufSize) != nil {
				opErr = unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_SNDBUF, bufSize)
			}
		})
		if err != nil {
			return err
		}
		return opErr
	}
}

// rawConnOf returns the descriptor access of a device backed by a
// pollable file (a *water.Interface or an *os.File), or nil.
func rawConnOf(dev io.ReadWriteCloser) syscall.RawConn {
	if w, ok := dev.(*water.Interface); ok {
		dev = w.ReadWriteCloser
	}
	sc, ok := dev.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// rawReader is the BatchReader of a non-blocking TUN descriptor: it reads
// every packet that is ready in one wake-up of the runtime's poller (one
// read system call per packet, as TUN without offloads allows). Its
// callback is built once, so a read allocates nothing. It belongs to one
// goroutine.
type rawReader struct {
	rc     syscall.RawConn
	fn     func(fd uintptr) bool
	bufs   [][]byte
	offset int
	sizes  []int
	n      int
	err    error
}

func newRawReader(rc syscall.RawConn) *rawReader {
	r := &rawReader{rc: rc}
	r.fn = r.drain
	return r
}

func (r *rawReader) ReadBatch(bufs [][]byte, offset int, sizes []int) (int, error) {
	r.bufs, r.offset, r.sizes, r.n, r.err = bufs, offset, sizes, 0, nil
	err := r.rc.Read(r.fn)
	r.bufs, r.sizes = nil, nil
	if r.n > 0 {
		return r.n, nil
	}
	if err != nil {
		return 0, err
	}
	return 0, r.err
}

// drain reads until the queue is empty or the batch full. Returning false
// (nothing read, nothing failed) parks the goroutine until the descriptor
// is readable.
func (r *rawReader) drain(fd uintptr) bool {
	for r.n < len(r.bufs) {
		n, err := unix.Read(int(fd), r.bufs[r.n][r.offset:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if err != unix.EAGAIN {
				r.err = err
			}
			break
		}
		r.sizes[r.n] = n
		r.n++
	}
	return r.n > 0 || r.err != nil
}

// UDP GSO: a control message of level SOL_UDP, type UDP_SEGMENT, carrying
// the segment size as a native-endian uint16.
const gsoSupported = true

var segmentCmsgLen = unix.CmsgSpace(2)

func putSegmentCmsg(b []byte, size int) []byte {
	b = b[:segmentCmsgLen]
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(size))
	return b
}
