// Package deadline hands out contexts with deadlines that many callers
// share: code that starts thousands of bounded operations a second (a
// dispatcher's syncs, a node's task starts) made a context with a timer of
// its own for each, and creating and stopping those timers was a
// measurable part of its work.
package deadline

import (
	"context"
	"sync"
	"time"
)

// Shared hands out contexts that end between d and d+Grain after the
// call, one context for all the callers within Grain of each other. Its
// contexts are never cancelled before their deadlines: callers share
// them, so a caller cannot end its own early. The zero value has a Grain
// of 100 ms. Safe for concurrent use.
type Shared struct {
	// Grain is how far apart the deadlines are; set before first use.
	Grain time.Duration

	mu  sync.Mutex
	ctx context.Context
	at  time.Time
	// cancel is the current context's; never called (the contexts end
	// at their deadlines), kept as the context package asks.
	cancel context.CancelFunc
}

// DefaultGrain is the Grain of a zero Shared.
const DefaultGrain = 100 * time.Millisecond

// Within returns a context that ends between d and d+Grain from now.
func (s *Shared) Within(d time.Duration) context.Context {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx == nil || s.at.Before(now.Add(d)) {
		// The one before ends at its own deadline, with its timer.
		grain := s.Grain
		if grain <= 0 {
			grain = DefaultGrain
		}
		s.at = now.Add(d + grain)
		s.ctx, s.cancel = context.WithDeadline(context.Background(), s.at)
	}
	return s.ctx
}
