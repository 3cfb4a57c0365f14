//go:build unix

package lb

import (
	"net/netip"
	"syscall"
)

// readReplies forwards the datagrams of the session's socket to its client
// until the socket is closed or fails. It waits on the runtime's poller
// without a buffer and takes one from the pool only while datagrams are
// queued, so that idle sessions hold no memory.
func (s *session) readReplies() error {
	rc, err := s.up.SyscallConn()
	if err != nil {
		return err
	}
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		bp := s.l.bufs.Get().(*[]byte)
		defer s.l.bufs.Put(bp)
		for {
			n, from, err := syscall.Recvfrom(int(fd), *bp, 0)
			switch err {
			case nil:
				if s.loose && !s.fromBackend(sockaddrPort(from)) {
					continue
				}
				s.reply((*bp)[:n])
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false
			default:
				rerr = err
				return true
			}
		}
	})
	if rerr != nil {
		return rerr
	}
	return err
}

// sockaddrPort converts a recvfrom source; anything else is invalid.
func sockaddrPort(sa syscall.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}
