package lb

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
)

// backend serves its name over HTTP on a free loopback port.
func backend(t *testing.T, name string) string {
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
	l.SetBackends([]string{backend(t, "a"), backend(t, "b")})
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
	l.SetBackends([]string{deadAddr, backend(t, "live")})
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
