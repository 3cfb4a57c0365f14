// Package tick sends an actor the same message at a fixed period, from a
// goroutine of its own, until stopped: the timers of actors whose Receive
// must not block. The goroutine touches no actor state; it only sends.
package tick

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Every sends msg to pid every period until the returned stop is called
// (once).
func Every(root *actor.RootContext, pid *actor.PID, period time.Duration, msg any) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				root.Send(pid, msg)
			}
		}
	}()
	return func() { close(done) }
}
