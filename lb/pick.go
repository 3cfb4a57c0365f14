package lb

import "slices"

// order appends to out the backends of bs in the order to try them for one
// connection: the ones not suspect at now first, then the suspect ones,
// each group arranged by the policy. Both groups start at rr (mod len(bs))
// and go on in turn, which is round-robin and breaks ties between equally
// loaded backends. intn(n) draws in [0, n) for p2c. order is pure but for
// reading the backends' atomic counters.
func order(pol policy, bs []*backend, now int64, rr uint64, intn func(int) int, out []*backend) []*backend {
	n := len(bs)
	if n == 0 {
		return out
	}
	start := int(rr % uint64(n))
	base := len(out)
	out = slices.Grow(out, n)[:base+n]
	// Healthy backends fill out from the front, suspect ones from the back,
	// so that each backend's suspicion is read once.
	h, s := base, base+n
	for i := range n {
		b := bs[(start+i)%n]
		if b.suspectAt(now) {
			s--
			out[s] = b
		} else {
			out[h] = b
			h++
		}
	}
	slices.Reverse(out[h:])
	arrange(pol, out[base:h], intn)
	arrange(pol, out[h:], intn)
	return out
}

// arrange moves the policy's choice among bs to the front, leaving the
// others in turn behind it.
func arrange(pol policy, bs []*backend, intn func(int) int) {
	if len(bs) < 2 {
		return
	}
	switch pol {
	case leastConn:
		k, low := 0, bs[0].active.Load()
		for i, b := range bs[1:] {
			if a := b.active.Load(); a < low {
				k, low = i+1, a
			}
		}
		toFront(bs, k)
	case p2c:
		i := intn(len(bs))
		j := intn(len(bs) - 1)
		if j >= i {
			j++
		}
		if bs[j].active.Load() < bs[i].active.Load() {
			i = j
		}
		toFront(bs, i)
	}
}

// toFront moves bs[k] to the front, keeping the order of the others.
func toFront(bs []*backend, k int) {
	b := bs[k]
	copy(bs[1:k+1], bs[:k])
	bs[0] = b
}
