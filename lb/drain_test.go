package lb

import (
	"io"
	"testing"
	"time"
)

// TestDrainKeepsOpenConnections checks that a removed backend takes no new
// connection while its open one goes on, and that Drain reports when that
// one ends.
func TestDrainKeepsOpenConnections(t *testing.T) {
	l := listen(t, ListenOptions{DrainTimeout: time.Hour})
	a, b := echoBackend(t, "a"), echoBackend(t, "b")
	l.SetBackends([]string{a})
	old, _ := dial(t, l.Addr().String())
	old.echo("before")

	drained := l.Drain(a)
	if isClosed(drained) {
		t.Fatal("Drain of a backend in the set is closed")
	}
	l.SetBackends([]string{b})
	for i := range 3 {
		if _, name := dial(t, l.Addr().String()); name != "b" {
			t.Fatalf("new connection %d went to %s after a was removed", i, name)
		}
	}
	old.echo("after removal")
	if s := backendStats(t, l.Stats(), a); !s.Draining || s.Active != 1 || s.Total != 1 {
		t.Fatalf("removed backend %+v, want draining with its one connection", s)
	}
	if isClosed(drained) || isClosed(l.Drain(a)) {
		t.Fatal("drained with a connection open")
	}
	old.Close()
	waitClosed(t, drained, "drain after the last connection closed")
}

// TestDrainTimeout checks that the connections of a removed backend are
// closed when the drain timeout passes, or at once for a negative one.
func TestDrainTimeout(t *testing.T) {
	for _, d := range []time.Duration{20 * time.Millisecond, -1} {
		t.Run(d.String(), func(t *testing.T) {
			l := listen(t, ListenOptions{DrainTimeout: d})
			a := echoBackend(t, "a")
			l.SetBackends([]string{a})
			c, _ := dial(t, l.Addr().String())
			c.echo("x")
			l.SetBackends(nil)
			waitClosed(t, l.Drain(a), "drain")
			if n, err := c.r.Read(make([]byte, 1)); err == nil {
				t.Fatalf("read %d bytes from a connection the drain closed", n)
			}
		})
	}
}

// TestDrainRevive checks that a backend put back before it drained keeps
// its connections and counters and takes new connections again.
func TestDrainRevive(t *testing.T) {
	l := listen(t, ListenOptions{DrainTimeout: time.Hour})
	a := echoBackend(t, "a")
	l.SetBackends([]string{a})
	c, _ := dial(t, l.Addr().String())
	drained := l.Drain(a)
	l.SetBackends(nil)
	l.SetBackends([]string{a})
	if _, name := dial(t, l.Addr().String()); name != "a" {
		t.Fatalf("went to %s", name)
	}
	c.echo("still open")
	if s := backendStats(t, l.Stats(), a); s.Draining || s.Total != 2 || s.Active != 2 {
		t.Fatalf("revived backend %+v, want 2 of 2 active, not draining", s)
	}
	if isClosed(drained) {
		t.Fatal("Drain closed for a backend put back")
	}
}

// closer records that it was closed.
type closer struct{ closed bool }

func (c *closer) Close() error {
	c.closed = true
	return nil
}

// TestBackendStaleDrainTimer fires a drain timer by hand after the backend
// was put back, and after it was removed again: neither closes anything.
func TestBackendStaleDrainTimer(t *testing.T) {
	b := newBackend("a")
	c := &closer{}
	if !b.acquire(c) {
		t.Fatal("acquire refused")
	}
	b.remove(time.Hour)
	first := b.gen
	if !b.revive() {
		t.Fatal("revive refused")
	}
	b.expire(first)
	if c.closed {
		t.Fatal("the timer of a revived backend closed its connection")
	}
	b.remove(time.Hour)
	b.expire(first)
	if c.closed {
		t.Fatal("the first removal's timer closed a connection of the second")
	}
	b.expire(b.gen)
	if !c.closed {
		t.Fatal("the drain timeout closed nothing")
	}
	if b.acquire(&closer{}) {
		t.Fatal("a removed backend took a connection")
	}
	if !b.release(c) || !isClosed(b.drained) {
		t.Fatal("not drained after the last release")
	}
	if b.revive() {
		t.Fatal("a drained backend was revived")
	}
}

func TestDrainUnknown(t *testing.T) {
	l := listen(t, ListenOptions{})
	waitClosed(t, l.Drain("127.0.0.1:1"), "drain of an unknown backend")
	a := echoBackend(t, "a")
	l.SetBackends([]string{a})
	l.SetBackends(nil)
	waitClosed(t, l.Drain(a), "drain of a backend removed without connections")
}

// TestCloseDrains checks that Close ends the open connections and the
// waits on Drain.
func TestCloseDrains(t *testing.T) {
	l, err := ListenWith("127.0.0.1:0", ListenOptions{DrainTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a, b := echoBackend(t, "a"), echoBackend(t, "b")
	l.SetBackends([]string{a})
	ca, _ := dial(t, l.Addr().String())
	l.SetBackends([]string{b})
	cb, _ := dial(t, l.Addr().String())
	da, db := l.Drain(a), l.Drain(b)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, da, "drain of the removed backend")
	waitClosed(t, db, "drain of the current backend")
	for _, c := range []*client{ca, cb} {
		if _, err := io.ReadAll(c.r); err != nil {
			t.Fatalf("read after Close: %v, want EOF", err)
		}
	}
	if got := l.Backends(); len(got) != 0 {
		t.Fatalf("backends after Close: %v", got)
	}
}
