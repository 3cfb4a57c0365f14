package actors

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// TestPoolRunsInOrderOnItsWorkers: what is scheduled runs once, in the
// order scheduled with one worker, on no more goroutines at once than
// the pool has workers.
func TestPoolRunsInOrderOnItsWorkers(t *testing.T) {
	p := NewPool(1, 300)
	defer p.Close()
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range 5000 {
		wg.Add(1)
		p.Schedule(func() {
			defer wg.Done()
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(order) != 5000 || !slices.IsSorted(order) {
		t.Fatalf("ran %d functions, sorted %v", len(order), slices.IsSorted(order))
	}

	p2 := NewPool(3, 300)
	defer p2.Close()
	var running, most atomic.Int32
	for range 200 {
		wg.Add(1)
		p2.Schedule(func() {
			defer wg.Done()
			n := running.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(100 * time.Microsecond)
			running.Add(-1)
		})
	}
	wg.Wait()
	if m := most.Load(); m > 3 || m < 1 {
		t.Fatalf("%d functions ran at once on a pool of 3", m)
	}
}

// TestPoolAfterClose: Close waits for what was scheduled; what is
// scheduled afterwards still runs.
func TestPoolAfterClose(t *testing.T) {
	p := NewPool(2, 300)
	var ran atomic.Int32
	for range 100 {
		p.Schedule(func() { time.Sleep(10 * time.Microsecond); ran.Add(1) })
	}
	p.Close()
	if n := ran.Load(); n != 100 {
		t.Fatalf("%d of 100 ran before Close returned", n)
	}
	done := make(chan struct{})
	p.Schedule(func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a function scheduled after Close never ran")
	}
}

// TestPoolRunsActors: actors on a pool get their messages, in order, and
// an actor may send to another of the same pool.
func TestPoolRunsActors(t *testing.T) {
	p := NewPool(1, 10)
	defer p.Close()
	system := actor.NewActorSystem()
	defer system.Shutdown()
	got := make(chan int, 1000)
	sink := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if n, ok := ctx.Message().(int); ok {
			got <- n
		}
	}, actor.WithDispatcher(p)))
	relay := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if n, ok := ctx.Message().(int); ok {
			ctx.Send(sink, n)
		}
	}, actor.WithDispatcher(p)))
	for i := range 1000 {
		system.Root.Send(relay, i)
	}
	for want := range 1000 {
		select {
		case n := <-got:
			if n != want {
				t.Fatalf("got %d, want %d", n, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d never came", want)
		}
	}
}

// TestPoolClosesTwice: a second Close returns too.
func TestPoolClosesTwice(t *testing.T) {
	p := NewPool(2, 300)
	p.Close()
	done := make(chan struct{})
	go func() { p.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a second Close never returned")
	}
}
