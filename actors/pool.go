package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// Pool is an actor.Dispatcher that runs the mailboxes of its actors on a
// fixed number of goroutines, in the order they were scheduled, instead
// of a goroutine each. A swarmd hosting thousands of simulated nodes
// (swarmd --sim-nodes) runs their actors and their tasks' runners on one:
// the simulated nodes stand for other machines, and a burst of work for
// them (a Raft entry creating a task on each of 10,000 nodes) then waits
// in the pool's queue rather than as thousands of goroutines in the Go
// scheduler's, beside the managers' own (at a million tasks, all
// running 8-20 % sooner in four alternated runs of four;
// docs/benchmarks.md).
//
// An actor on a pool must not block in its Receive on another actor of
// the same pool. After Close, mailboxes run on goroutines of their own,
// as with protoactor's default dispatcher.
type Pool struct {
	throughput int

	mu     sync.Mutex
	ready  sync.Cond
	queue  []func()
	head   int
	closed bool
	done   sync.WaitGroup
}

var _ actor.Dispatcher = (*Pool)(nil)

// NewPool starts a pool of workers goroutines (at least one) whose
// mailboxes yield after throughput messages, as protoactor's own
// dispatchers do (300 by default).
func NewPool(workers, throughput int) *Pool {
	p := &Pool{throughput: throughput}
	p.ready.L = &p.mu
	workers = max(workers, 1)
	p.done.Add(workers)
	for range workers {
		go p.work()
	}
	return p
}

// Schedule implements actor.Dispatcher: fn runs on a worker once those
// scheduled before it have. It never blocks.
func (p *Pool) Schedule(fn func()) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		go fn()
		return
	}
	p.queue = append(p.queue, fn)
	p.mu.Unlock()
	p.ready.Signal()
}

// Throughput implements actor.Dispatcher.
func (p *Pool) Throughput() int { return p.throughput }

// Close stops the workers once the queue is empty and waits for them;
// what is scheduled afterwards runs on a goroutine of its own. Closing
// again only waits.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.ready.Broadcast()
	p.done.Wait()
}

func (p *Pool) work() {
	defer p.done.Done()
	for {
		fn, ok := p.next()
		if !ok {
			return
		}
		fn()
	}
}

// next takes the oldest function scheduled, waiting for one; false once
// the pool is closed and its queue empty.
func (p *Pool) next() (func(), bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.head == len(p.queue) {
		if p.closed {
			return nil, false
		}
		p.ready.Wait()
	}
	fn := p.queue[p.head]
	p.queue[p.head] = nil
	p.head++
	switch {
	case p.head == len(p.queue):
		// Empty: start again at the front, keeping the room.
		p.queue, p.head = p.queue[:0], 0
	case p.head >= 1024 && p.head*2 >= len(p.queue):
		// Mostly taken: move what is left to the front.
		n := copy(p.queue, p.queue[p.head:])
		clear(p.queue[n:])
		p.queue, p.head = p.queue[:n], 0
	}
	return fn, true
}
