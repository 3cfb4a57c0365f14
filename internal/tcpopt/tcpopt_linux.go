package tcpopt

import "golang.org/x/sys/unix"

func setThin(fd int) {
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_THIN_LINEAR_TIMEOUTS, 1)
}

// thin reports whether fd has linear timeouts (for tests).
func thin(fd int) (bool, error) {
	v, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_THIN_LINEAR_TIMEOUTS)
	return v == 1, err
}
