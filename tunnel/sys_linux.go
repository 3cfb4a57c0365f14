package tunnel

import (
	"encoding/binary"
	"io"
	"net/netip"
	"syscall"
	"unsafe"

	"github.com/songgao/water"
	"golang.org/x/sys/unix"
)

// socketControl sets the underlay socket's options before it is bound:
// fragmentation always allowed (no DF bit), so that a datagram larger than
// the underlay's MTU is fragmented by the kernel rather than refused;
// large buffers (forced past the sysctl limits when running as root); and
// UDP GRO where the kernel has it, so that one receive may return many
// datagrams of one sender (see receiver).
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
			// Without GRO (an old kernel) datagrams simply arrive one by one.
			_ = unix.SetsockoptInt(s, unix.SOL_UDP, unix.UDP_GRO, 1)
		})
		if err != nil {
			return err
		}
		return opErr
	}
}

// rawConnOf returns the descriptor access of a device backed by a
// pollable file (a *TUNQueue, a *water.Interface or an *os.File), or nil.
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

// rawReader reads a non-blocking TUN descriptor, one read system call per
// packet (as TUN allows), and hands the packets to a function in batches,
// all inside one wait of the runtime's poller: after a batch whose reads
// emptied the queue it waits for the next packet straight away, without
// another read to learn that the queue is empty (a new wait, in a new
// RawConn.Read, forgets a readiness seen before it and must read first).
// Its callback is built once, so a read allocates nothing. It belongs to
// one goroutine.
type rawReader struct {
	rc     syscall.RawConn
	fn     func(fd uintptr) bool
	bufs   [][]byte
	offset int
	sizes  []int
	stop   func() bool
	handle func(int)
	err    error
}

func newRawReader(rc syscall.RawConn) *rawReader {
	r := &rawReader{rc: rc}
	r.fn = r.loop
	return r
}

// each reads packets into bufs[i][offset:] (their lengths in sizes[i])
// and hands every batch to handle, until stop reports true after a batch
// (it returns errStopped) or a read fails.
func (r *rawReader) each(bufs [][]byte, offset int, sizes []int, stop func() bool, handle func(int)) error {
	r.bufs, r.offset, r.sizes, r.stop, r.handle, r.err = bufs, offset, sizes, stop, handle, nil
	err := r.rc.Read(r.fn)
	r.bufs, r.sizes, r.stop, r.handle = nil, nil, nil, nil
	switch {
	case err != nil:
		return err
	case r.err != nil:
		return r.err
	}
	return errStopped
}

// loop reads and hands on batches until the queue is empty (false: the
// poller waits for a packet, then calls it again), stop reports true or a
// read fails (true: done).
func (r *rawReader) loop(fd uintptr) bool {
	for {
		n, empty := r.fill(fd)
		if n > 0 {
			r.handle(n)
			if r.stop() {
				return true
			}
		}
		if r.err != nil {
			return true
		}
		if empty {
			return false
		}
	}
}

// fill reads packets until the batch is full, the queue empty (empty
// reports it) or a read fails (r.err), and returns how many it read.
func (r *rawReader) fill(fd uintptr) (n int, empty bool) {
	for n < len(r.bufs) {
		got, e := rawRead(fd, r.bufs[n][r.offset:])
		switch e {
		case 0:
			r.sizes[n] = got
			n++
		case unix.EINTR:
		case unix.EAGAIN:
			return n, true
		default:
			r.err = e
			return n, false
		}
	}
	return n, false
}

// UDP GSO: a control message of level SOL_UDP, type UDP_SEGMENT, carrying
// the segment size as a native-endian uint16.
const gsoSupported = true

var segmentCmsgLen = unix.CmsgSpace(2)

func putSegmentCmsg(b []byte, size int) []byte {
	b = b[:segmentCmsgLen]
	clear(b)
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.SOL_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(b[unix.CmsgLen(0):], uint16(size))
	return b
}

// groCmsgSpace is the control buffer of one received message: room for
// the UDP_GRO message (an int, the size of the datagrams glued together)
// and some to spare.
const groCmsgSpace = 64

// groSize returns the datagram size of a UDP_GRO control message in oob,
// or 0.
func groSize(oob []byte) int {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < unix.SizeofCmsghdr || l > len(oob) {
			return 0
		}
		if h.Level == unix.SOL_UDP && h.Type == unix.UDP_GRO && l >= unix.CmsgLen(4) {
			return int(binary.NativeEndian.Uint32(oob[unix.CmsgLen(0):]))
		}
		oob = oob[min(unix.CmsgSpace(l-unix.CmsgLen(0)), len(oob)):]
	}
	return 0
}

// mmsghdr is struct mmsghdr of sendmmsg(2) and recvmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

func putSockaddr(sa *unix.RawSockaddrInet4, ap netip.AddrPort) {
	sa.Family = unix.AF_INET
	p := (*[2]byte)(unsafe.Pointer(&sa.Port))
	binary.BigEndian.PutUint16(p[:], ap.Port())
	sa.Addr = ap.Addr().As4()
}

func iovec(b []byte) unix.Iovec {
	v := unix.Iovec{Base: unsafe.SliceData(b)}
	v.SetLen(len(b))
	return v
}

// sender sends a TUN loop's datagrams with sendmmsg(2) through the
// runtime's poller. Everything it hands the kernel is made once, so a send
// allocates nothing. It belongs to one goroutine.
type sender struct {
	f     *Forwarder
	spans []msgSpan
	hs    []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet4
	oob   []byte
	fn    func(fd uintptr) bool
	// The current call's messages and outcome.
	msgs []mmsghdr
	sent int
	err  error
}

func (f *Forwarder) newSender() *sender {
	s := &sender{
		f:     f,
		spans: make([]msgSpan, 0, txCap),
		hs:    make([]mmsghdr, txCap),
		iovs:  make([]unix.Iovec, 2*txCap),
		names: make([]unix.RawSockaddrInet4, txCap),
		oob:   make([]byte, txCap*segmentCmsgLen),
	}
	s.fn = s.sendmmsg
	return s
}

// send sends the datagrams of tx, counting them or their drops in t.
func (s *sender) send(tx *txList, t *tally) {
	if len(tx.dgrams) == 0 {
		return
	}
	s.spans = pack(tx, int(s.f.gsoLimit.Load()), s.spans[:0])
	iov := 0
	for m, sp := range s.spans {
		first := iov
		for _, d := range tx.dgrams[sp.start:sp.end] {
			s.iovs[iov] = iovec(d.head)
			iov++
			if len(d.tail) > 0 {
				s.iovs[iov] = iovec(d.tail)
				iov++
			}
		}
		var oob []byte
		if sp.seg > 0 {
			oob = putSegmentCmsg(s.oob[m*segmentCmsgLen:], sp.seg)
		}
		s.message(&s.hs[m], &s.names[m], tx.dgrams[sp.start].dst, s.iovs[first:iov], oob)
	}
	msgs, spans := s.hs[:len(s.spans)], s.spans
	for len(msgs) > 0 {
		sent, err := s.call(msgs)
		for _, sp := range spans[:sent] {
			s.count(tx.dgrams[sp.start:sp.end], t)
		}
		msgs, spans = msgs[sent:], spans[sent:]
		if (err != nil || sent == 0) && len(msgs) > 0 {
			s.failed(tx.dgrams[spans[0].start:spans[0].end], spans[0].seg, t)
			msgs, spans = msgs[1:], spans[1:]
		}
	}
}

func (s *sender) message(h *mmsghdr, name *unix.RawSockaddrInet4, dst netip.AddrPort, iovs []unix.Iovec, oob []byte) {
	putSockaddr(name, dst)
	h.hdr = unix.Msghdr{Name: (*byte)(unsafe.Pointer(name)), Namelen: unix.SizeofSockaddrInet4, Iov: &iovs[0]}
	h.hdr.SetIovlen(len(iovs))
	if len(oob) > 0 {
		h.hdr.Control = &oob[0]
		h.hdr.SetControllen(len(oob))
	}
	h.n = 0
}

func (s *sender) count(ds []dgram, t *tally) {
	for i := range ds {
		t.packets++
		t.bytes += uint64(ds[i].len() - HeaderLen)
	}
}

// failed deals with a message the socket refused. A GSO message is refused
// when its segments do not fit the route's MTU (a datagram that needs
// fragmenting) or the kernel lacks UDP_SEGMENT: its datagrams are sent one
// by one, and only smaller datagrams are coalesced from then on. Anything
// else is counted as a send error.
func (s *sender) failed(ds []dgram, seg int, t *tally) {
	if seg == 0 {
		t.drops[dropSendError] += uint64(len(ds))
		return
	}
	s.f.lowerGSOLimit(seg - 1)
	var one [1]mmsghdr
	var name unix.RawSockaddrInet4
	var iovs [2]unix.Iovec
	for i := range ds {
		iovs[0], iovs[1] = iovec(ds[i].head), iovec(ds[i].tail)
		n := 1
		if len(ds[i].tail) > 0 {
			n = 2
		}
		s.message(&one[0], &name, ds[i].dst, iovs[:n], nil)
		if sent, _ := s.call(one[:]); sent != 1 {
			t.drop(dropSendError)
			continue
		}
		s.count(ds[i:i+1], t)
	}
}

// call sends msgs with one sendmmsg, waiting while the socket's buffer is
// full, and returns how many went.
func (s *sender) call(msgs []mmsghdr) (int, error) {
	s.msgs, s.sent, s.err = msgs, 0, nil
	err := s.f.rc.Write(s.fn)
	s.msgs = nil
	if err != nil {
		return 0, err
	}
	return s.sent, s.err
}

func (s *sender) sendmmsg(fd uintptr) bool {
	n, e := mmsg(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.msgs[0])), len(s.msgs), 0)
	switch e {
	case 0:
		s.sent = n
	case unix.EAGAIN:
		return false
	default:
		s.err = e
	}
	return true
}

// receiver reads datagrams with recvmmsg(2), each message up to 64 KB
// (several datagrams of one sender glued by UDP GRO), through the
// runtime's poller, and writes packets to TUN queues, vectored where the
// queue has a descriptor. Made once per loop; it allocates nothing per
// packet. It belongs to one goroutine.
type receiver struct {
	b     *batch
	hs    []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet4
	oob   []byte
	fn    func(fd uintptr) bool
	// alone: this is the socket's only reader (see run).
	alone  bool
	stop   func() bool
	handle func(int)
	n      int
	err    error

	wiov    []unix.Iovec
	wfn     func(fd uintptr) bool
	werr    error
	scratch []byte
}

func newReceiver(b *batch) *receiver {
	n := len(b.data)
	r := &receiver{
		b:       b,
		hs:      make([]mmsghdr, n),
		iovs:    make([]unix.Iovec, n),
		names:   make([]unix.RawSockaddrInet4, n),
		oob:     make([]byte, n*groCmsgSpace),
		wiov:    make([]unix.Iovec, 0, maxCoalesceSegs),
		scratch: make([]byte, 0, vnetHdrLen+maxPacket),
	}
	for i := range r.hs {
		r.iovs[i] = iovec(b.data[i])
		r.hs[i].hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		r.hs[i].hdr.Iov = &r.iovs[i]
		r.hs[i].hdr.SetIovlen(1)
		r.hs[i].hdr.Control = &r.oob[i*groCmsgSpace]
	}
	r.fn = r.recvmmsg
	r.wfn = r.writev
	return r
}

// run receives batches of messages from rc and hands each to handle
// until stop reports true after a batch (it returns nil) or the socket
// fails; it goes on after a transient error. The socket's only reader
// (alone) handles its batches inside one wait of the runtime's poller,
// and after a batch smaller than it asked for (the socket was empty)
// waits for the next datagram straight away, without another call to
// learn that the socket is empty (a new wait, in a new RawConn.Read,
// forgets a readiness seen before it and must read first). One of
// several readers handles each batch after its wait, as the wait holds
// the socket's read lock.
func (r *receiver) run(rc syscall.RawConn, stop func() bool, handle func(int)) error {
	r.stop, r.handle = stop, handle
	for !stop() {
		r.n, r.err = 0, nil
		if err := rc.Read(r.fn); err != nil {
			return err
		}
		if r.err != nil && !transient(r.err) {
			return r.err
		}
		if r.n > 0 {
			handle(r.n)
		}
	}
	return nil
}

func (r *receiver) recvmmsg(fd uintptr) bool {
	for {
		for i := range r.hs {
			h := &r.hs[i].hdr
			h.Namelen = unix.SizeofSockaddrInet4
			h.SetControllen(groCmsgSpace)
			h.Flags = 0
		}
		n, e := mmsg(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hs[0])), len(r.hs), unix.MSG_DONTWAIT)
		switch e {
		case 0:
		case unix.EAGAIN:
			return false
		default:
			r.err = e
			return true
		}
		if !r.alone {
			r.n = n
			return true
		}
		r.handle(n)
		if r.stop() {
			return true
		}
		if n < len(r.hs) {
			return false
		}
	}
}

// message returns message i of the last batch: its sender, its data, the
// size of the datagrams glued in it, and whether it was truncated.
func (r *receiver) message(i int) (src [4]byte, data []byte, seg int, trunc bool) {
	h := &r.hs[i]
	data = r.b.data[i][:h.n]
	seg = groSize(r.oob[i*groCmsgSpace : i*groCmsgSpace+int(h.hdr.Controllen)])
	if seg <= 0 {
		seg = len(data)
	}
	ok := h.hdr.Namelen == unix.SizeofSockaddrInet4 && r.names[i].Family == unix.AF_INET
	if !ok {
		return src, data, seg, h.hdr.Flags&unix.MSG_TRUNC != 0
	}
	return r.names[i].Addr, data, seg, h.hdr.Flags&unix.MSG_TRUNC != 0
}

// writeTUN writes the pieces of iov to q as one packet: one writev on the
// queue's descriptor, or, for a queue without one, one Write of the pieces
// joined.
func (r *receiver) writeTUN(q *queue, iov [][]byte) error {
	if q.rc == nil {
		if len(iov) == 1 {
			_, err := q.dev.Write(iov[0])
			return err
		}
		r.scratch = r.scratch[:0]
		for _, p := range iov {
			r.scratch = append(r.scratch, p...)
		}
		_, err := q.dev.Write(r.scratch)
		return err
	}
	r.wiov = r.wiov[:0]
	for _, p := range iov {
		r.wiov = append(r.wiov, iovec(p))
	}
	r.werr = nil
	if err := q.rc.Write(r.wfn); err != nil {
		return err
	}
	return r.werr
}

func (r *receiver) writev(fd uintptr) bool {
	for {
		_, _, e := unix.RawSyscall(unix.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&r.wiov[0])), uintptr(len(r.wiov)))
		switch e {
		case 0:
			return true
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			r.werr = e
			return true
		}
	}
}

// runUDP forwards received datagrams to the TUN queues of their networks.
func (f *Forwarder) runUDP() {
	defer f.wg.Done()
	b := f.pool.batch(f.cfg.BatchSize)
	defer b.release()
	r := newReceiver(b)
	r.alone = f.cfg.Readers == 1
	var t tally
	co := newCoalescer(r.writeTUN, &t)
	for {
		err := r.run(f.rc, f.closing.Load, func(cnt int) {
			nets := *f.nets.Load()
			for i := range cnt {
				src, data, seg, trunc := r.message(i)
				f.receiveMessage(nets, src, data, seg, trunc, co, &t)
			}
			co.flush()
			f.ctr.flushIn(&t)
		})
		switch {
		case f.closing.Load():
			return
		case transient(err):
			continue
		}
		f.log.Error("tunnel: UDP read failed, reader stopped", "addr", f.addr, "err", err)
		return
	}
}

func platformCheck() error { return nil }

// The packet path's system calls (read and writev of a TUN queue,
// sendmmsg and recvmmsg of the socket) are raw: made without telling the
// runtime, as none of them waits (every descriptor is non-blocking; the
// poller does the waiting). Told, the runtime wakes its monitor thread at
// the first call after an idle spell, which then polls every 20 µs for a
// millisecond. On this 2-vCPU VM raw calls took about 100 µs off each
// request of a Go UDP echo server and a fifth off the forwarders' CPU per
// flooded ping through the overlay (see tunnel/README.md).

// rawRead reads from the non-blocking descriptor fd into b.
func rawRead(fd uintptr, b []byte) (int, unix.Errno) {
	r, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	return int(r), e
}

// mmsg makes a sendmmsg or recvmmsg call (trap) of n message headers at
// hdrs, again while a signal interrupts it.
func mmsg(trap, fd, hdrs uintptr, n int, flags uintptr) (int, unix.Errno) {
	for {
		r, _, e := unix.RawSyscall6(trap, fd, hdrs, uintptr(n), flags, 0, 0)
		if e != unix.EINTR {
			return int(r), e
		}
	}
}
