package lb

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/actorswarm/swarm/internal/clock/clocktest"
)

// httpBackend serves its name over HTTP on a free loopback port.
func httpBackend(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, name) })}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func get(t *testing.T, addr string) (string, error) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestListenerRoundRobin(t *testing.T) {
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.SetBackends([]string{httpBackend(t, "a"), httpBackend(t, "b")})
	seen := map[string]int{}
	for i := 0; i < 6; i++ {
		got, err := get(t, l.Addr().String())
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		seen[got]++
	}
	if seen["a"] != 3 || seen["b"] != 3 {
		t.Fatalf("answers %v, want 3 from each backend", seen)
	}
}

func TestListenerSkipsDeadBackend(t *testing.T) {
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	l.SetBackends([]string{deadAddr, httpBackend(t, "live")})
	for i := 0; i < 4; i++ {
		got, err := get(t, l.Addr().String())
		if err != nil || got != "live" {
			t.Fatalf("request %d: %q, %v; want the live backend every time", i, got, err)
		}
	}
}

func TestListenerNoBackends(t *testing.T) {
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := get(t, l.Addr().String()); err == nil {
		t.Fatal("a request with no backend succeeded")
	}
	if l.Failed.Load() == 0 {
		t.Fatal("no failure counted")
	}
	if !strings.Contains(l.Addr().String(), "127.0.0.1") {
		t.Fatal(l.Addr())
	}
}

func TestListenWithBadOptions(t *testing.T) {
	for _, o := range []ListenOptions{{Policy: "random"}, {IdleTimeout: -1}} {
		if _, err := ListenWith("127.0.0.1:0", o); err == nil {
			t.Errorf("ListenWith(%+v) succeeded", o)
		}
	}
	l := listen(t, ListenOptions{})
	if err := l.SetPolicy("fastest"); !errors.Is(err, ErrPolicy) {
		t.Fatalf("SetPolicy(fastest) = %v, want ErrPolicy", err)
	}
}

func TestListenerLeastConn(t *testing.T) {
	l := listen(t, ListenOptions{Policy: PolicyLeastConn})
	a, b := echoBackend(t, "a"), echoBackend(t, "b")
	l.SetBackends([]string{a})
	for range 2 {
		dial(t, l.Addr().String())
	}
	// With a holding two connections, b takes the next two, where
	// round-robin would send the first of them to a.
	l.SetBackends([]string{a, b})
	for i := range 2 {
		if _, name := dial(t, l.Addr().String()); name != "b" {
			t.Fatalf("connection %d went to %s, want b (fewer connections)", i, name)
		}
	}

	// Round-robin at run time alternates, regardless of load.
	if err := l.SetPolicy(PolicyRoundRobin); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for range 4 {
		_, name := dial(t, l.Addr().String())
		seen[name]++
	}
	if seen["a"] != 2 || seen["b"] != 2 {
		t.Fatalf("round-robin answers %v, want 2 each", seen)
	}
}

// TestListenerSuspect checks that a backend whose dial failed is tried
// last for SuspectTime, then first again in its turn.
func TestListenerSuspect(t *testing.T) {
	clk := clocktest.New(time.Unix(1_700_000_000, 0))
	l := listen(t, ListenOptions{Clock: clk})
	dead, live := deadAddr(t, "tcp"), echoBackend(t, "live")
	l.SetBackends([]string{dead, live})
	failures := func() uint64 { return backendStats(t, l.Stats(), dead).Failures }
	through := func() {
		t.Helper()
		c, name := dial(t, l.Addr().String())
		if name != "live" {
			t.Fatalf("answered by %s", name)
		}
		c.Close()
	}

	through() // dead first in turn: fails, then live
	if failures() != 1 || !backendStats(t, l.Stats(), dead).Suspect {
		t.Fatalf("after a failed dial: %+v, want 1 failure and suspect", backendStats(t, l.Stats(), dead))
	}
	for range 4 {
		through() // dead is last, never dialed
	}
	if failures() != 1 {
		t.Fatalf("a suspect backend was dialed: %d failures", failures())
	}

	clk.Advance(SuspectTime)
	if backendStats(t, l.Stats(), dead).Suspect {
		t.Fatal("still suspect after SuspectTime")
	}
	through()
	through() // one of the two has dead first in turn
	if failures() != 2 {
		t.Fatalf("%d failures after the suspicion ran out, want 2", failures())
	}
	if got := l.Stats(); got.Failed != 0 || got.Accepted != 7 {
		t.Fatalf("port stats %+v, want 7 accepted, none failed", got)
	}
}

func TestListenerStats(t *testing.T) {
	l := listen(t, ListenOptions{})
	a := echoBackend(t, "a")
	l.SetBackends([]string{a})
	c, _ := dial(t, l.Addr().String())
	c.echo("hello")
	s := backendStats(t, l.Stats(), a)
	if s.Active != 1 || s.Total != 1 {
		t.Fatalf("open connection: %+v, want 1 active of 1", s)
	}
	c.Close()
	l.SetBackends(nil)
	waitClosed(t, l.Drain(a), "drain")
	got := l.Stats()
	// Bytes are counted when a direction ends: the greeting "a\n" and the
	// echo out, "hello" in.
	if got.BytesIn != 5 || got.BytesOut != 7 || got.Active != 0 || got.Accepted != 1 || got.Protocol != "tcp" || got.Port != l.Addr().(*net.TCPAddr).Port {
		t.Fatalf("port stats %+v", got)
	}
}

// BenchmarkListenerCopy measures the proxy's throughput over one
// connection to an echo backend; splice keeps it at 0 allocs/op.
func BenchmarkListenerCopy(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			l := listen(b, ListenOptions{})
			l.SetBackends([]string{echoBackend(b, "a")})
			c, _ := dial(b, l.Addr().String())
			c.SetDeadline(time.Time{})
			out, in := make([]byte, size), make([]byte, size)
			writes := make(chan struct{})
			defer close(writes)
			go func() {
				for range writes {
					c.Write(out)
				}
			}()
			b.SetBytes(int64(2 * size))
			b.ReportAllocs()
			for b.Loop() {
				writes <- struct{}{}
				if _, err := io.ReadFull(c.r, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
