package service

import (
	"sync"
	"sync/atomic"
)

// turns lets a bounded number of reconciles run at once. A supervisor asks
// for a turn and goes on handling its messages until the turn comes as a
// message of its own: a supervisor told to stop while it waits stops at
// once instead of after its turn (at a million tasks, a hundred
// supervisors wait in line and a turn can take seconds to come).
type turns struct {
	mu      sync.Mutex
	free    int
	waiting []*turn
}

// A turn is one request, waiting, granted or cancelled.
type turn struct {
	state atomic.Int32
	grant func()
}

const (
	turnAsked int32 = iota
	turnGiven
	turnWithdrawn
)

func newTurns(n int) *turns { return &turns{free: n} }

// ask queues a request for a turn; grant is called, from any goroutine,
// once it is this request's turn. The holder calls done when it is over.
func (g *turns) ask(grant func()) *turn {
	t := &turn{grant: grant}
	g.mu.Lock()
	if g.free > 0 {
		g.free--
		g.mu.Unlock()
		t.state.Store(turnGiven)
		grant()
		return t
	}
	g.waiting = append(g.waiting, t)
	g.mu.Unlock()
	return t
}

// done ends a turn: the next request still waiting gets it.
func (g *turns) done() {
	g.mu.Lock()
	for len(g.waiting) > 0 {
		t := g.waiting[0]
		g.waiting[0] = nil
		g.waiting = g.waiting[1:]
		if t.state.CompareAndSwap(turnAsked, turnGiven) {
			g.mu.Unlock()
			t.grant()
			return
		}
	}
	g.free++
	g.mu.Unlock()
}

// cancel withdraws a request whose grant will not be acted on (its
// supervisor stops). A request granted meanwhile passes its turn on.
func (g *turns) cancel(t *turn) {
	if !t.state.CompareAndSwap(turnAsked, turnWithdrawn) {
		g.done()
	}
}
