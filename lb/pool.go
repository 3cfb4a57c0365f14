package lb

import (
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorswarm/swarm/internal/clock"
)

// pool is the backend set of one port and the options that pick among
// it, shared by the TCP and UDP listeners. The set is an immutable slice
// swapped atomically, so a connection picks without a lock; mu serializes
// the owner's changes (SetBackends, Close) and guards gone.
type pool struct {
	clock clock.Clock
	epoch time.Time
	intn  func(n int) int // for p2c; safe for concurrent use

	policy        atomic.Int32 // a policy
	proxyProtocol atomic.Bool
	drain         atomic.Int64 // time.Duration; < 0 closes at once
	rr            atomic.Uint64
	bytesIn       atomic.Uint64
	bytesOut      atomic.Uint64
	set           atomic.Pointer[[]*backend]

	mu     sync.Mutex
	gone   map[string]*backend // removed, connections still open
	closed bool
}

func newPool(o ListenOptions) (*pool, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	pol, _ := parsePolicy(o.Policy)
	c := o.clock()
	p := &pool{clock: c, epoch: c.Now(), intn: rand.IntN, gone: make(map[string]*backend)}
	p.policy.Store(int32(pol))
	p.proxyProtocol.Store(o.ProxyProtocol)
	p.drain.Store(int64(o.drainTimeout()))
	p.set.Store(new([]*backend))
	return p, nil
}

// now is the pool's time in nanoseconds; it reads the monotonic clock
// when the clock has one.
func (p *pool) now() int64 { return int64(p.clock.Now().Sub(p.epoch)) }

func (p *pool) setPolicy(s string) error {
	pol, err := parsePolicy(s)
	if err != nil {
		return err
	}
	p.policy.Store(int32(pol))
	return nil
}

// order appends to out the backends to try for one new connection, in
// turn; see order.
func (p *pool) order(out []*backend) []*backend {
	return order(policy(p.policy.Load()), *p.set.Load(), p.now(), p.rr.Add(1)-1, p.intn, out)
}

// dialFailed counts a failed dial of b and has it tried last for a while.
func (p *pool) dialFailed(b *backend) {
	b.failures.Add(1)
	b.suspect.Store(p.now() + int64(SuspectTime))
}

// dialed clears b's suspicion: a dial succeeded (TCP) or a reply came (UDP).
func (p *pool) dialed(b *backend) {
	if b.suspect.Load() != 0 {
		b.suspect.Store(0)
	}
}

func (p *pool) release(b *backend, c io.Closer) {
	if b.release(c) {
		p.forget(b)
	}
}

func (p *pool) forget(b *backend) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone[b.addr] == b {
		delete(p.gone, b.addr)
	}
}

func (p *pool) setBackends(addrs []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	old := *p.set.Load()
	kept := make(map[string]*backend, len(old))
	for _, b := range old {
		kept[b.addr] = b
	}
	next := make([]*backend, 0, len(addrs))
	seen := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		if seen[a] {
			continue
		}
		seen[a] = true
		b := kept[a]
		if b == nil {
			if g := p.gone[a]; g != nil && g.revive() {
				delete(p.gone, a)
				b = g
			} else {
				b = newBackend(a)
			}
		}
		next = append(next, b)
	}
	p.set.Store(&next)
	drain := time.Duration(p.drain.Load())
	for _, b := range old {
		if seen[b.addr] {
			continue
		}
		if !b.remove(drain) {
			p.gone[b.addr] = b
		}
	}
}

func (p *pool) backends() []string {
	set := *p.set.Load()
	out := make([]string, len(set))
	for i, b := range set {
		out[i] = b.addr
	}
	return out
}

// drained returns the channel closed once addr is out of the set with no
// connection open: at once for an address the pool does not know.
func (p *pool) drained(addr string) <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, b := range *p.set.Load() {
		if b.addr == addr {
			return b.drained
		}
	}
	if b := p.gone[addr]; b != nil {
		return b.drained
	}
	c := make(chan struct{})
	close(c)
	return c
}

// close empties the set and closes every backend's connections.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, b := range p.gone {
		b.shut()
	}
	for _, b := range *p.set.Load() {
		if !b.shut() {
			p.gone[b.addr] = b
		}
	}
	p.set.Store(new([]*backend))
}

// stats snapshots the backends: the set in its order, then the removed
// ones still draining by address.
func (p *pool) stats() []BackendStats {
	p.mu.Lock()
	set := *p.set.Load()
	gone := make([]*backend, 0, len(p.gone))
	for _, b := range p.gone {
		gone = append(gone, b)
	}
	p.mu.Unlock()
	slices.SortFunc(gone, func(a, b *backend) int { return strings.Compare(a.addr, b.addr) })
	now := p.now()
	out := make([]BackendStats, 0, len(set)+len(gone))
	for _, b := range set {
		out = append(out, b.stats(now, false))
	}
	for _, b := range gone {
		out = append(out, b.stats(now, true))
	}
	return out
}

func (b *backend) stats(now int64, draining bool) BackendStats {
	return BackendStats{
		Backend:  b.addr,
		Active:   b.active.Load(),
		Total:    b.total.Load(),
		BytesIn:  b.bytesIn.Load(),
		BytesOut: b.bytesOut.Load(),
		Failures: b.failures.Load(),
		Suspect:  b.suspectAt(now),
		Draining: draining,
	}
}
