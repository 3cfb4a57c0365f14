package process

import (
	"sync"
	"time"

	"github.com/actorswarm/swarm/actors/task"
)

// ring keeps the last size lines a task wrote. It grows as lines come, so a
// quiet task costs little. Safe for concurrent use.
type ring struct {
	mu   sync.Mutex
	size int
	buf  []task.LogLine
	next int // where the next line goes once buf is full
}

func newRing(size int) *ring { return &ring{size: size} }

func (r *ring) add(l task.LogLine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) < r.size {
		r.buf = append(r.buf, l)
		return
	}
	r.buf[r.next] = l
	r.next = (r.next + 1) % r.size
}

// lines returns, oldest first, the last tail (0: all) of the lines stamped
// after since.
func (r *ring) lines(since time.Time, tail int) []task.LogLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]task.LogLine, 0, len(r.buf))
	for i := range r.buf {
		l := r.buf[(r.next+i)%len(r.buf)]
		if l.Time.After(since) {
			out = append(out, l)
		}
	}
	if tail > 0 && len(out) > tail {
		out = out[len(out)-tail:]
	}
	return out
}
