package tunnel

import "golang.org/x/net/ipv4"

// Limits of one UDP GSO send (Linux UDP_MAX_SEGMENTS, and the largest UDP
// payload with room to spare).
const (
	maxGSOSegments = 64
	maxGSOBytes    = 65000
)

// send sends the first k datagrams of b with as few system calls, and as
// few trips through the kernel's stack, as the socket allows. Consecutive
// datagrams to one host with the same length (the last may be shorter) go
// as one message with UDP generic segmentation offload: the kernel carries
// them as one buffer down to the device, or to the receiving socket on a
// veth, and splits them there. The receiver sees ordinary datagrams.
func (f *Forwarder) send(b *batch, k int, t *tally) {
	msgs := b.msgs[:f.pack(b, k)]
	for len(msgs) > 0 {
		sent, err := f.pc.WriteBatch(msgs, 0)
		sent = max(sent, 0)
		for _, m := range msgs[:sent] {
			for _, d := range m.Buffers {
				t.packets++
				t.bytes += uint64(len(d) - HeaderLen)
			}
		}
		msgs = msgs[sent:]
		if (err != nil || sent == 0) && len(msgs) > 0 {
			f.sendFailed(&msgs[0], t)
			msgs = msgs[1:]
		}
	}
}

// pack fills b.msgs from b.dgrams and b.dsts and returns how many messages
// it made.
func (f *Forwarder) pack(b *batch, k int) int {
	limit := int(f.gsoLimit.Load())
	out := 0
	for i := 0; i < k; {
		m := &b.msgs[out]
		m.Buffers = append(m.Buffers[:0], b.dgrams[i])
		m.Addr = b.dsts[i]
		m.OOB = nil
		size, total, j := len(b.dgrams[i]), len(b.dgrams[i]), i+1
		if size <= limit {
			for j < k && j-i < maxGSOSegments && b.dsts[j] == b.dsts[i] &&
				len(b.dgrams[j]) <= size && total+len(b.dgrams[j]) <= maxGSOBytes {
				m.Buffers = append(m.Buffers, b.dgrams[j])
				total += len(b.dgrams[j])
				j++
				if len(b.dgrams[j-1]) < size {
					break
				}
			}
			if j-i > 1 {
				m.OOB = putSegmentCmsg(b.oob[out], size)
			}
		}
		out++
		i = j
	}
	return out
}

// sendFailed deals with a message the socket refused. A GSO message is
// refused when its segments do not fit the route's MTU (a datagram that
// needs fragmenting) or the kernel lacks UDP_SEGMENT: its datagrams are
// sent one by one, and only smaller datagrams are coalesced from then on.
// Anything else is counted as a send error.
func (f *Forwarder) sendFailed(m *ipv4.Message, t *tally) {
	if len(m.OOB) == 0 {
		t.drop(dropSendError)
		return
	}
	f.lowerGSOLimit(len(m.Buffers[0]) - 1)
	for _, d := range m.Buffers {
		if _, err := f.pc.WriteTo(d, nil, m.Addr); err != nil {
			t.drop(dropSendError)
			continue
		}
		t.packets++
		t.bytes += uint64(len(d) - HeaderLen)
	}
}

func (f *Forwarder) lowerGSOLimit(limit int) {
	for {
		cur := f.gsoLimit.Load()
		if int64(limit) >= cur || f.gsoLimit.CompareAndSwap(cur, int64(limit)) {
			return
		}
	}
}
