package tunnel

// Limits of one UDP GSO send (Linux UDP_MAX_SEGMENTS, and the largest UDP
// payload with room to spare).
const (
	maxGSOSegments = 64
	maxGSOBytes    = 65000
)

// msgSpan is one message of a send: datagrams [start, end) of a txList,
// all to one host. When there are several, all but the last have the
// length seg and the last is no longer: the message goes with UDP generic
// segmentation offload (UDP_SEGMENT seg).
type msgSpan struct {
	start, end, seg int
}

// pack groups the datagrams of tx into messages, appended to spans.
// Consecutive datagrams to one host with the same length (the last may be
// shorter) go as one GSO message when they are no longer than limit (0:
// GSO off): the kernel carries them as one buffer down to the device, or
// to the receiving socket on a veth, and splits them there. The receiver
// sees ordinary datagrams.
func pack(tx *txList, limit int, spans []msgSpan) []msgSpan {
	ds := tx.dgrams
	for i := 0; i < len(ds); {
		size := ds[i].len()
		total, j := size, i+1
		if size <= limit {
			for j < len(ds) && j-i < maxGSOSegments && ds[j].dst == ds[i].dst &&
				ds[j].len() <= size && total+ds[j].len() <= maxGSOBytes {
				total += ds[j].len()
				j++
				if ds[j-1].len() < size {
					break
				}
			}
		}
		sp := msgSpan{start: i, end: j}
		if j-i > 1 {
			sp.seg = size
		}
		spans = append(spans, sp)
		i = j
	}
	return spans
}

func (f *Forwarder) lowerGSOLimit(limit int) {
	for {
		cur := f.gsoLimit.Load()
		if int64(limit) >= cur || f.gsoLimit.CompareAndSwap(cur, int64(limit)) {
			return
		}
	}
}
