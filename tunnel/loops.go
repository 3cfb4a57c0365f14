package tunnel

import (
	"encoding/binary"
	"errors"
	"io"
	"syscall"
)

// BatchReader is an optional capability of a TUN queue given to
// AddNetwork: ReadBatch reads up to len(bufs) packets that are ready, each
// into bufs[i][offset:], stores their lengths in sizes[i] and returns how
// many it read. It blocks until at least one packet is ready or an error
// occurs (then it returns 0 and the error). A queue without it is read one
// packet per Read; a queue backed by a pollable descriptor (a *TUNQueue, a
// *water.Interface or an *os.File) gets a built-in batch reader.
type BatchReader interface {
	ReadBatch(bufs [][]byte, offset int, sizes []int) (int, error)
}

// OffloadQueue is an optional capability of a TUN queue given to
// AddNetwork. When Offload reports true, every packet read from and
// written to the queue is preceded by a virtio_net_hdr, and the device has
// checksum and TCP segmentation offloads (TUN_F_CSUM, TUN_F_TSO4): it
// hands over and takes TCP super-segments (see OpenOffloadTUN).
type OffloadQueue interface {
	Offload() bool
}

// queue is one TUN queue and how it is read and written.
type queue struct {
	dev     io.ReadWriteCloser
	batch   BatchReader
	offload bool
	// rc is the queue's descriptor when it has one: super-segments are
	// written to it with one vectored write.
	rc syscall.RawConn
	// raw reads the descriptor, when the queue has one and no
	// BatchReader of its own.
	raw *rawReader
}

func newQueue(dev io.ReadWriteCloser) *queue {
	q := &queue{dev: dev, rc: rawConnOf(dev)}
	if o, ok := dev.(OffloadQueue); ok {
		q.offload = o.Offload()
	}
	if br, ok := dev.(BatchReader); ok {
		q.batch = br
	} else if q.rc != nil {
		q.raw = newRawReader(q.rc)
	}
	return q
}

// errStopped ends a loop whose stop function reported true.
var errStopped = errors.New("tunnel: loop stopped")

// offset is where a packet read from the queue starts in a buffer, so that
// its IPv4 header lands at HeaderLen, behind the virtio_net_hdr if any.
func (q *queue) offset() int {
	if q.offload {
		return HeaderLen - vnetHdrLen
	}
	return HeaderLen
}

// each reads packets into b (b.data[i][q.offset():], their lengths in
// b.sizes[i]) and hands every batch to handle, until stop reports true
// after a batch (it returns errStopped) or a read fails.
func (q *queue) each(b *batch, stop func() bool, handle func(cnt int)) error {
	if q.raw != nil {
		return q.raw.each(b.data, q.offset(), b.sizes, stop, handle)
	}
	for {
		cnt, err := q.read(b)
		if err != nil {
			return err
		}
		handle(cnt)
		if stop() {
			return errStopped
		}
	}
}

// read fills b.data[i][q.offset():] with packets and b.sizes[i] with their
// lengths and returns how many it read, at least one unless err is set.
func (q *queue) read(b *batch) (int, error) {
	if q.batch != nil {
		return q.batch.ReadBatch(b.data, q.offset(), b.sizes)
	}
	n, err := q.dev.Read(b.data[0][q.offset():])
	if err != nil {
		return 0, err
	}
	b.sizes[0] = n
	return 1, nil
}

// runTUN forwards the packets of one queue of network n to the underlay.
func (f *Forwarder) runTUN(n *network, q *queue) {
	defer f.wg.Done()
	defer n.wg.Done()
	b := f.pool.batch(f.cfg.BatchSize)
	defer b.release()
	tx := newTxList()
	s := f.newSender()
	var t tally
	stop := func() bool { return n.stopping.Load() || f.closing.Load() }
	err := q.each(b, stop, func(cnt int) {
		eps := f.table.Get(n.vni)
		for i := range cnt {
			for !f.encap(tx, b.data[i], b.sizes[i], q, n.vni, eps, &t) {
				s.send(tx, &t)
				tx.reset()
			}
		}
		s.send(tx, &t)
		tx.reset()
		f.ctr.flushOut(&t)
	})
	if !stop() {
		f.log.Error("tunnel: TUN read failed, queue stopped", "vni", n.vni, "err", err)
	}
}

// encap checks one packet read from queue q of network vni into buf
// (size bytes from q.offset()), routes it by eps and adds its datagrams to
// tx: the packet itself, encapsulated in place, or the segments of a TCP
// super-segment. It returns false, having done nothing, when tx lacks the
// room; a packet it drops is counted.
func (f *Forwarder) encap(tx *txList, buf []byte, size int, q *queue, vni uint32, eps *Endpoints, t *tally) bool {
	off := q.offset()
	if size > len(buf)-off || size < HeaderLen-off {
		t.drop(dropMalformed)
		return true
	}
	pkt := buf[HeaderLen : off+size]
	n, err := checkIPv4(pkt)
	if err != nil {
		t.drop(dropMalformed)
		return true
	}
	pkt = pkt[:n]
	r, ok := eps.lookup(binary.BigEndian.Uint32(pkt[16:20]))
	switch {
	case !ok:
		t.drop(dropNoRoute)
		return true
	case r.local():
		t.drop(dropLoop)
		return true
	}
	if q.offload {
		h := parseVnetHdr(buf[off:HeaderLen])
		plan, cut, err := planSegments(pkt, h, f.maxInner)
		if err != nil {
			t.drop(dropMalformed)
			return true
		}
		if cut {
			if !tx.room(plan.segs) {
				return false
			}
			for i := range plan.segs {
				head, payload := tsoSegment(tx.slot(), pkt, plan, i, vni)
				tx.add(head, payload, r.remote)
			}
			return true
		}
		if !tx.room(1) {
			return false
		}
		if h.flags&vnetFlagNeedsCsum != 0 && completeChecksum(pkt, h) != nil {
			t.drop(dropMalformed)
			return true
		}
	} else if !tx.room(1) {
		return false
	}
	d := buf[:HeaderLen+n]
	putHeader(d, vni)
	tx.add(d, nil, r.remote)
	return true
}

// transient reports a socket error that a reader may retry: one reported
// for an earlier datagram (an ICMP error) or a momentary lack of memory.
func transient(err error) bool {
	for _, e := range []error{syscall.ECONNREFUSED, syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.ENOMEM, syscall.ENOBUFS} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// receive checks one datagram dg, received from a peer, and writes its
// inner packet to its network's TUN through co. The checks run cheapest
// first: format (an inner packet larger than the MTU is malformed: nodes
// agree on the MTU), then the tables.
func (f *Forwarder) receive(nets map[uint32]*network, dg []byte, co *coalescer, t *tally) {
	vni, inner, err := Decap(dg)
	if err != nil || len(inner) > f.cfg.MTU {
		t.drop(dropMalformed)
		return
	}
	n, ok := nets[vni]
	if !ok {
		t.drop(dropUnknownVNI)
		return
	}
	r, ok := f.table.Get(vni).lookup(binary.BigEndian.Uint32(inner[16:20]))
	if !ok || !r.local() {
		t.drop(dropNotLocal)
		return
	}
	q := n.queueFor(inner)
	if q.offload {
		co.add(q, dg[:HeaderLen+len(inner)])
		return
	}
	if err := co.plain(q, inner); err != nil {
		t.drop(dropDeviceError)
		return
	}
	t.packets++
	t.bytes += uint64(len(inner))
}

// receiveMessage handles one message received from src: one datagram, or
// several of seg bytes (the last may be shorter) glued by UDP GRO. The
// checks run cheapest and most hostile first: source, truncation, then per
// datagram format and the tables.
func (f *Forwarder) receiveMessage(nets map[uint32]*network, src [4]byte, data []byte, seg int, trunc bool, co *coalescer, t *tally) {
	seg = max(seg, 1)
	dgrams := max((len(data)+seg-1)/seg, 1)
	switch {
	case !f.peers.has4(src):
		t.drops[dropNotPeer] += uint64(dgrams)
		return
	case trunc || len(data) == 0:
		t.drops[dropMalformed] += uint64(dgrams)
		return
	}
	for off := 0; off < len(data); off += seg {
		f.receive(nets, data[off:min(off+seg, len(data))], co, t)
	}
}
