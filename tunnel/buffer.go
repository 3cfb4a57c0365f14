package tunnel

import (
	"net/netip"
	"sync"
)

// maxPacket is the largest IPv4 packet, and so the largest packet a TUN
// queue with offloads hands over (a TCP super-segment) and the largest
// batch of datagrams one receive with UDP GRO returns.
const maxPacket = 65535

// bufPool hands out buffers of one fixed size: HeaderLen bytes of headroom
// plus the largest packet. A loop takes a batch of them when it starts and
// gives them back when it stops; in between the same buffers are reused
// for every batch, so the packet path allocates nothing.
type bufPool struct {
	size int
	p    sync.Pool
}

func newBufPool() *bufPool {
	bp := &bufPool{size: HeaderLen + maxPacket}
	bp.p.New = func() any {
		b := make([]byte, bp.size)
		return &b
	}
	return bp
}

func (bp *bufPool) get() *[]byte  { return bp.p.Get().(*[]byte) }
func (bp *bufPool) put(b *[]byte) { bp.p.Put(b) }

// batch is one loop's buffers and the length of what was read into each.
// Every slice is made once, so that filling them never allocates.
type batch struct {
	pool  *bufPool
	bufs  []*[]byte
	data  [][]byte // *bufs[i], for BatchReader
	sizes []int
}

func (bp *bufPool) batch(n int) *batch {
	b := &batch{
		pool:  bp,
		bufs:  make([]*[]byte, n),
		data:  make([][]byte, n),
		sizes: make([]int, n),
	}
	for i := range b.bufs {
		b.bufs[i] = bp.get()
		b.data[i] = *b.bufs[i]
	}
	return b
}

func (b *batch) release() {
	for i, buf := range b.bufs {
		b.pool.put(buf)
		b.bufs[i] = nil
		b.data[i] = nil
	}
}

// dgram is one datagram to send: head, then tail (nil when the datagram
// is one piece).
type dgram struct {
	head, tail []byte
	dst        netip.AddrPort
}

func (d *dgram) len() int { return len(d.head) + len(d.tail) }

// txCap is how many datagrams a txList holds: enough for the segments of
// any one super-segment, and for several.
const txCap = 2 * maxTCPSegs

// txList is the datagrams a TUN loop has built and not sent yet, and the
// room for the headers of the segments it cut: a slot of segmentHeadroom
// bytes per datagram. Made once per loop.
type txList struct {
	dgrams []dgram
	arena  []byte
	slots  int
}

func newTxList() *txList {
	return &txList{dgrams: make([]dgram, 0, txCap), arena: make([]byte, txCap*segmentHeadroom)}
}

// room reports whether n more datagrams fit.
func (tx *txList) room(n int) bool { return len(tx.dgrams)+n <= txCap }

// slot returns a free header slot.
func (tx *txList) slot() []byte {
	s := tx.arena[tx.slots*segmentHeadroom : (tx.slots+1)*segmentHeadroom]
	tx.slots++
	return s
}

func (tx *txList) add(head, tail []byte, dst netip.AddrPort) {
	tx.dgrams = append(tx.dgrams, dgram{head: head, tail: tail, dst: dst})
}

func (tx *txList) reset() {
	clear(tx.dgrams)
	tx.dgrams = tx.dgrams[:0]
	tx.slots = 0
}
