//go:build !linux

package tunnel

import (
	"errors"
	"io"
	"syscall"
)

// The forwarder's I/O is Linux's (sendmmsg, recvmmsg, UDP GSO and GRO,
// TUN): elsewhere NewForwarder fails with errUnsupported.
var errUnsupported = errors.New("tunnel: the forwarder runs on Linux only")

func platformCheck() error { return errUnsupported }

func socketControl(int) func(network, address string, c syscall.RawConn) error { return nil }

func rawConnOf(io.ReadWriteCloser) syscall.RawConn { return nil }

func newRawReader(syscall.RawConn) *rawReader { return nil }

// rawReader is Linux's.
type rawReader struct{}

func (*rawReader) each([][]byte, int, []int, func() bool, func(int)) error { return errUnsupported }

const gsoSupported = false

type sender struct{}

func (f *Forwarder) newSender() *sender { return &sender{} }

func (s *sender) send(tx *txList, t *tally) { t.drops[dropSendError] += uint64(len(tx.dgrams)) }

func (f *Forwarder) runUDP() { f.wg.Done() }
