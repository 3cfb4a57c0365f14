//go:build !linux

package tunnel

import (
	"io"
	"syscall"
)

func socketControl(int) func(network, address string, c syscall.RawConn) error { return nil }

func rawConnOf(io.ReadWriteCloser) syscall.RawConn { return nil }

func newRawReader(syscall.RawConn) BatchReader { return nil }

const gsoSupported = false

const segmentCmsgLen = 0

func putSegmentCmsg(b []byte, _ int) []byte { return b }
