package service

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// TestServicesRespawnOnceTheOldChildStopped: a manager that loses a
// shard's leadership tells its supervisors to quit waiting for a
// reconcile slot; winning it back while one is still busy stopping, it
// gives the service a new supervisor once the old one is gone, instead of
// failing to spawn one over its name at every tick.
func TestServicesRespawnOnceTheOldChildStopped(t *testing.T) {
	e := newStoreEnv(t, 1, 1)
	release := make(chan struct{})
	var made atomic.Int32
	firstQuit := make(chan (<-chan struct{}), 1)
	old := childProps
	childProps = func(_ string, _ uint64, _ Env, quit <-chan struct{}) *actor.Props {
		n := made.Add(1)
		if n == 1 {
			firstQuit <- quit
		}
		return actor.PropsFromFunc(func(ctx actor.Context) {
			if _, ok := ctx.Message().(*actor.Started); ok && n == 1 {
				<-release // busy: a stop waits for this
			}
		})
	}
	t.Cleanup(func() { childProps = old })
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	system.Root.Spawn(Props(e))
	waitUntil(t, "a supervisor", func() bool { return made.Load() == 1 })
	e.notLeading.Store(true)
	time.Sleep(4 * leadershipPeriod) // told to stop, still busy
	select {
	case <-<-firstQuit:
	default:
		t.Fatal("a supervisor told to stop was not told to quit waiting for a reconcile slot")
	}
	e.notLeading.Store(false)
	time.Sleep(6 * leadershipPeriod) // leading again
	if n := made.Load(); n != 1 {
		t.Fatalf("%d supervisors made while the old one had not stopped", n)
	}
	close(release)
	waitUntil(t, "a new supervisor once the old one stopped", func() bool { return made.Load() == 2 })
	time.Sleep(4 * leadershipPeriod)
	if n := made.Load(); n != 2 {
		t.Fatalf("%d supervisors made, want 2", n)
	}
	if logs := e.logs.String(); strings.Contains(logs, "spawn supervisor") {
		t.Fatalf("spawn errors logged:\n%s", logs)
	}
}
