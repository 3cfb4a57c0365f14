package tunnel

import (
	"bytes"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/actorswarm/swarm/tunnel/tunneltest"
)

// waitTimeout bounds every wait for an event in these tests.
const waitTimeout = 10 * time.Second

// eventually waits until cond holds, failing the test after waitTimeout.
// The forwarder's counters have no change notification, so this polls.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// forwarderGoroutines returns the stacks of goroutines running a
// forwarder's loops.
func forwarderGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var found []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "tunnel.(*Forwarder).run") {
			found = append(found, g)
		}
	}
	return found
}

// startForwarder starts a forwarder that the test closes at cleanup.
func startForwarder(t testing.TB, cfg Config) *Forwarder {
	t.Helper()
	f, err := NewForwarder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

// leakCheck makes the test fail if forwarder goroutines outlive its
// cleanups. Call it before starting forwarders: cleanups run last first.
func leakCheck(t testing.TB) {
	t.Helper()
	if left := forwarderGoroutines(); len(left) != 0 {
		t.Fatalf("forwarder goroutines already running:\n%s", strings.Join(left, "\n\n"))
	}
	t.Cleanup(func() { checkNoLeaks(t) })
}

// checkNoLeaks fails the test if forwarder goroutines are running. A
// goroutine that has called wg.Done may still be unwinding, so allow it a
// moment.
func checkNoLeaks(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		left := forwarderGoroutines()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d forwarder goroutines left after Close:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(time.Millisecond)
	}
}

// recv waits for the next packet written to tun.
func recv(t testing.TB, tun *tunneltest.TUN) []byte {
	t.Helper()
	select {
	case p := <-tun.Written():
		return p
	case <-time.After(waitTimeout):
		t.Fatal("timed out waiting for a packet on the TUN")
		return nil
	}
}

// expectNothing checks that tun has received no packet so far.
func expectNothing(t testing.TB, tun *tunneltest.TUN) {
	t.Helper()
	select {
	case p := <-tun.Written():
		t.Fatalf("unexpected packet on the TUN: %x", p)
	default:
	}
}

func mustEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got %x\nwant %x", what, got, want)
	}
}

var loopback = netip.MustParseAddr("127.0.0.1")
