package tunnel

import (
	"net"
	"sync"

	"golang.org/x/net/ipv4"
)

// bufPool hands out buffers of one fixed size: HeaderLen bytes of headroom
// plus the largest inner packet (the MTU). A loop takes a batch of them when
// it starts and gives them back when it stops; in between the same buffers
// are reused for every batch, so the packet path allocates nothing.
type bufPool struct {
	size int
	p    sync.Pool
}

func newBufPool(mtu int) *bufPool {
	bp := &bufPool{size: HeaderLen + mtu}
	bp.p.New = func() any {
		b := make([]byte, bp.size)
		return &b
	}
	return bp
}

func (bp *bufPool) get() *[]byte  { return bp.p.Get().(*[]byte) }
func (bp *bufPool) put(b *[]byte) { bp.p.Put(b) }

// batch is one loop's working set: n buffers, the length of what was read
// into each, the datagrams built in them and their destinations, and the
// messages that carry them through ReadBatch and WriteBatch. Every slice is
// made once, with room for n entries (a GSO message carries up to n
// datagrams), so that filling them never allocates.
type batch struct {
	pool   *bufPool
	bufs   []*[]byte
	data   [][]byte // *bufs[i], for BatchReader
	sizes  []int
	dgrams [][]byte
	dsts   []*net.UDPAddr
	msgs   []ipv4.Message
	oob    [][]byte
}

func (bp *bufPool) batch(n int) *batch {
	b := &batch{
		pool:   bp,
		bufs:   make([]*[]byte, n),
		data:   make([][]byte, n),
		sizes:  make([]int, n),
		dgrams: make([][]byte, n),
		dsts:   make([]*net.UDPAddr, n),
		msgs:   make([]ipv4.Message, n),
		oob:    make([][]byte, n),
	}
	for i := range b.bufs {
		b.bufs[i] = bp.get()
		b.data[i] = *b.bufs[i]
		b.msgs[i].Buffers = make([][]byte, 1, n)
		b.oob[i] = make([]byte, segmentCmsgLen)
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
