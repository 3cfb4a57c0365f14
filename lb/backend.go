package lb

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// backend is one address of a port's backend set and its counters. The
// counters are atomics, read by pickers and Stats without a lock. mu
// guards the drain state and the registry of open connections (sessions
// for UDP); it is taken once when a connection starts and once when it
// ends, never across a copy.
type backend struct {
	addr string

	active   atomic.Int64 // open connections; written under mu
	total    atomic.Uint64
	bytesIn  atomic.Uint64 // client to backend
	bytesOut atomic.Uint64 // backend to client
	failures atomic.Uint64
	suspect  atomic.Int64 // pool time (ns) until which b is tried last; 0: healthy

	mu      sync.Mutex
	removed bool // out of the set: takes no new connection
	done    bool // drained is closed
	conns   map[io.Closer]struct{}
	timer   *time.Timer   // closes conns when the drain timeout passes
	gen     uint64        // removals so far; a stale timer does nothing
	drained chan struct{} // closed once removed with no connection open
}

func newBackend(addr string) *backend {
	return &backend{addr: addr, conns: make(map[io.Closer]struct{}), drained: make(chan struct{})}
}

func (b *backend) suspectAt(now int64) bool {
	until := b.suspect.Load()
	return until != 0 && now < until
}

// acquire registers c, an established connection to b, so that a drain
// can close it. It reports false, leaving c to its caller, when b has been
// removed since it was picked.
func (b *backend) acquire(c io.Closer) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.removed {
		return false
	}
	b.conns[c] = struct{}{}
	b.active.Add(1)
	b.total.Add(1)
	return true
}

// release unregisters c and reports whether that drained b.
func (b *backend) release(c io.Closer) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.conns, c)
	b.active.Add(-1)
	return b.drainedLocked()
}

// remove takes b out of the set: its connections go on for drain, then
// are closed (at once if drain < 0). It reports whether b is drained
// already.
func (b *backend) remove(drain time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.removed = true
	if b.drainedLocked() {
		return true
	}
	if drain < 0 {
		b.closeAllLocked()
		return false
	}
	b.gen++
	gen := b.gen
	b.timer = time.AfterFunc(drain, func() { b.expire(gen) })
	return false
}

// revive puts a removed backend back in the set. It reports false if b
// has drained already: its channel is closed, so the caller makes a new
// backend rather than reuse it.
func (b *backend) revive() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return false
	}
	b.removed = false
	b.stopTimerLocked()
	return true
}

// shut removes b and closes its connections now; the listener is closing.
func (b *backend) shut() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.removed = true
	b.closeAllLocked()
	return b.drainedLocked()
}

// expire closes the connections of a backend whose drain timeout passed,
// unless it was put back (or put back and removed again) in the meantime.
func (b *backend) expire(gen uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.removed && b.gen == gen {
		b.closeAllLocked()
	}
}

// closeAllLocked closes b's connections; their goroutines see the error
// and release them.
func (b *backend) closeAllLocked() {
	for c := range b.conns {
		_ = c.Close()
	}
}

func (b *backend) drainedLocked() bool {
	if b.done || !b.removed || b.active.Load() != 0 {
		return false
	}
	b.done = true
	close(b.drained)
	b.stopTimerLocked()
	return true
}

func (b *backend) stopTimerLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}
