package tunnel

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"syscall"

	"golang.org/x/net/ipv4"
)

// BatchReader is an optional capability of a TUN queue given to
// AddNetwork: ReadBatch reads up to len(bufs) packets that are ready, each
// into bufs[i][offset:], stores their lengths in sizes[i] and returns how
// many it read. It blocks until at least one packet is ready or an error
// occurs (then it returns 0 and the error). A queue without it is read one
// packet per Read; a *water.Interface or *os.File gets a built-in batch
// reader.
type BatchReader interface {
	ReadBatch(bufs [][]byte, offset int, sizes []int) (int, error)
}

// queue is one TUN queue and how it is read.
type queue struct {
	dev   io.ReadWriteCloser
	batch BatchReader
}

func newQueue(dev io.ReadWriteCloser) *queue {
	q := &queue{dev: dev}
	if br, ok := dev.(BatchReader); ok {
		q.batch = br
	} else if rc := rawConnOf(dev); rc != nil {
		q.batch = newRawReader(rc)
	}
	return q
}

// read fills b.data[i][HeaderLen:] with packets and b.sizes[i] with their
// lengths and returns how many it read, at least one unless err is set.
func (q *queue) read(b *batch) (int, error) {
	if q.batch != nil {
		return q.batch.ReadBatch(b.data, HeaderLen, b.sizes)
	}
	n, err := q.dev.Read(b.data[0][HeaderLen:])
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
	var t tally
	for {
		cnt, err := q.read(b)
		if err != nil {
			if !n.stopping.Load() && !f.closing.Load() {
				f.log.Error("tunnel: TUN read failed, queue stopped", "vni", n.vni, "err", err)
			}
			return
		}
		k := encapBatch(b, cnt, n.vni, f.table.Get(n.vni), &t)
		f.send(b, k, &t)
		f.ctr.flushOut(&t)
	}
}

// encapBatch encapsulates in place the cnt packets read into b for network
// vni, routed by eps, and lists the datagrams to send in b.dgrams and
// b.dsts. It returns how many there are; the others are counted as drops.
func encapBatch(b *batch, cnt int, vni uint32, eps *Endpoints, t *tally) int {
	k := 0
	for i := range cnt {
		if b.sizes[i] > len(b.data[i])-HeaderLen {
			t.drop(dropMalformed)
			continue
		}
		pkt := b.data[i][:HeaderLen+b.sizes[i]]
		size, err := checkIPv4(pkt[HeaderLen:])
		if err != nil {
			t.drop(dropMalformed)
			continue
		}
		r, ok := eps.lookup(binary.BigEndian.Uint32(pkt[HeaderLen+16:]))
		switch {
		case !ok:
			t.drop(dropNoRoute)
			continue
		case r.local():
			t.drop(dropLoop)
			continue
		}
		putHeader(pkt, vni)
		b.dgrams[k] = pkt[:HeaderLen+size]
		b.dsts[k] = r.ua
		k++
	}
	return k
}

// runUDP forwards received datagrams to the TUN queues of their networks.
func (f *Forwarder) runUDP() {
	defer f.wg.Done()
	b := f.pool.batch(f.cfg.BatchSize)
	defer b.release()
	for i := range b.msgs {
		b.msgs[i].Buffers[0] = b.data[i]
	}
	var t tally
	for {
		cnt, err := f.pc.ReadBatch(b.msgs, 0)
		if err != nil {
			if f.closing.Load() {
				return
			}
			if transient(err) {
				continue
			}
			f.log.Error("tunnel: UDP read failed, reader stopped", "addr", f.addr, "err", err)
			return
		}
		nets := *f.nets.Load()
		for i := range cnt {
			f.receive(nets, &b.msgs[i], &t)
		}
		f.ctr.flushIn(&t)
	}
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

// receive checks one datagram and writes its inner packet to its network's
// TUN. The checks run cheapest and most hostile first: source, then format,
// then the tables.
func (f *Forwarder) receive(nets map[uint32]*network, m *ipv4.Message, t *tally) {
	src, _ := m.Addr.(*net.UDPAddr)
	if src == nil || !f.peers.has(src.IP) {
		t.drop(dropNotPeer)
		return
	}
	if m.Flags&syscall.MSG_TRUNC != 0 {
		t.drop(dropMalformed)
		return
	}
	vni, inner, err := Decap(m.Buffers[0][:m.N])
	if err != nil {
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
	if _, err := n.queueFor(inner).dev.Write(inner); err != nil {
		t.drop(dropDeviceError)
		return
	}
	t.packets++
	t.bytes += uint64(len(inner))
}
