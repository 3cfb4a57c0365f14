//go:build linux

package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// get fetches the page of a published port on one node, without keeping
// connections alive (each request is a new connection through the mesh).
func get(addr string) (string, error) {
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestRoutingMesh publishes a port and sends requests to every node's
// address: every request is answered, by both tasks from every node; when
// a node that runs a task dies, the others answer again within seconds.
func TestRoutingMesh(t *testing.T) {
	c := NewCluster(t, 190)
	formSwarm(t, c, []int{1}, []int{2, 3})
	httpBin := filepath.Join(c.bin.dir, "swarm-http")
	c.MustCtl(1, "service", "create", "-d", "--name", "web", "--replicas", "2", "--replicas-max-per-node", "1",
		"--constraint", "node.role==worker", "-p", "18190:80", httpBin)
	rows := waitRunning(t, c, 1, "web", 2, 10*time.Second)
	addr := func(i int) string { return c.Node(i).IP + ":18190" }
	Eventually(t, 5*time.Second, func() error {
		for i := 1; i <= 3; i++ {
			seen := map[string]bool{}
			for k := 0; k < 20; k++ {
				body, err := get(addr(i))
				if err != nil {
					return fmt.Errorf("node-%d request %d: %v", i, k, err)
				}
				seen[body] = true
			}
			if len(seen) != 2 {
				return fmt.Errorf("node-%d answered by %d tasks, want both: %v", i, len(seen), seen)
			}
		}
		return nil
	})
	for _, r := range rows {
		if r.Node != "node-2" && r.Node != "node-3" {
			t.Fatalf("task on %s despite the worker constraint", r.Node)
		}
	}

	// node-3 dies with its task: the survivors answer again, from the task
	// that lives and the replacement.
	start := time.Now()
	c.Kill(3)
	Eventually(t, 5*time.Second, func() error {
		for _, i := range []int{1, 2} {
			for k := 0; k < 5; k++ {
				body, err := get(addr(i))
				if err != nil {
					return err
				}
				if !strings.Contains(body, "processed by host") {
					return fmt.Errorf("node-%d answered %q", i, body)
				}
			}
		}
		return nil
	})
	t.Logf("requests through the survivors succeed again %s after the kill", time.Since(start).Round(time.Millisecond))
}

// clientLoop sends requests round the given addresses, one connection
// each, until stop is closed, and counts them and the failures.
type clientLoop struct {
	stop     chan struct{}
	done     chan struct{}
	ok, fail int
	errs     []string
}

func startClientLoop(addrs []string) *clientLoop {
	l := &clientLoop{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for k := 0; ; k++ {
			select {
			case <-l.stop:
				return
			default:
			}
			body, err := get(addrs[k%len(addrs)])
			if err == nil && !strings.Contains(body, "processed by host") {
				err = fmt.Errorf("answered %q", body)
			}
			if err != nil {
				l.fail++
				if len(l.errs) < 10 {
					l.errs = append(l.errs, fmt.Sprintf("%s %s: %v", time.Now().Format("15:04:05.000"), addrs[k%len(addrs)], err))
				}
				continue
			}
			l.ok++
		}
	}()
	return l
}

func (l *clientLoop) finish() {
	close(l.stop)
	<-l.done
}

// TestRoutingMeshNoFailedRequests scales a published service 2→5→2 and
// updates it (rolling, one task at a time) while a client sends requests
// to every node: not one request may fail.
func TestRoutingMeshNoFailedRequests(t *testing.T) {
	c := NewCluster(t, 210)
	formSwarm(t, c, []int{1}, []int{2, 3})
	httpBin := filepath.Join(c.bin.dir, "swarm-http")
	c.MustCtl(1, "service", "create", "-d", "--name", "web", "--replicas", "2", "-p", "18210:80", httpBin)
	waitRunning(t, c, 1, "web", 2, 10*time.Second)
	var addrs []string
	for i := 1; i <= 3; i++ {
		addrs = append(addrs, c.Node(i).IP+":18210")
	}
	Eventually(t, 5*time.Second, func() error {
		for _, a := range addrs {
			if _, err := get(a); err != nil {
				return err
			}
		}
		return nil
	})

	loop := startClientLoop(addrs)
	step := func(what string) { t.Logf("%s %s", time.Now().Format("15:04:05.000"), what) }
	step("scale to 5")
	c.MustCtl(1, "service", "scale", "-d", "web=5")
	waitRunning(t, c, 1, "web", 5, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	step("scale to 2")
	c.MustCtl(1, "service", "scale", "-d", "web=2")
	waitRunning(t, c, 1, "web", 2, 10*time.Second)
	time.Sleep(500 * time.Millisecond)
	step("update")
	c.MustCtl(1, "service", "update", "--env-add", "COLOUR=blue", "--update-monitor", "1s", "web")
	time.Sleep(500 * time.Millisecond)
	step("done")
	loop.finish()

	t.Logf("%d requests answered, %d failed during scale 2→5→2 and a rolling update", loop.ok, loop.fail)
	if loop.fail > 0 {
		t.Errorf("%d of %d requests failed: %s", loop.fail, loop.ok+loop.fail, strings.Join(loop.errs, "; "))
	}
	if loop.ok < 50 {
		t.Errorf("only %d requests answered: the loop did not run", loop.ok)
	}
}

// getFrom fetches a published port from the local address from (an IP),
// and returns the body and the X-Remote-Addr header swarm-http answers
// with: the client it saw.
func getFrom(from, addr string) (body, remote string, err error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 3 * time.Second}
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, DialContext: d.DialContext}}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.Header.Get("X-Remote-Addr"), err
}

// udpAsk sends one datagram on conn to addr and returns the answer.
func udpAsk(conn *net.UDPConn, addr string) (string, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return "", err
	}
	if _, err := conn.WriteToUDP([]byte("hello"), ua); err != nil {
		return "", err
	}
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 512)
	n, _, err := conn.ReadFromUDP(buf)
	return string(buf[:n]), err
}

// TestRoutingMeshOptions covers what a published port can ask for and
// what a node reports: a port in use on one node (reported in inspect,
// served by the others, served there too once freed), PROXY protocol v2
// with least-connections (the task sees the client's address), a UDP port
// with per-client affinity, mode=host (bound on the task's node only, one
// task per node), and the lb counters on /metrics.
func TestRoutingMeshOptions(t *testing.T) {
	c := NewCluster(t, 220)
	formSwarm(t, c, []int{1}, []int{2, 3})
	httpBin := filepath.Join(c.bin.dir, "swarm-http")
	at := func(i int, port string) string { return c.Node(i).IP + ":" + port }

	// A port held on node-2 by someone else.
	squatter, err := net.Listen("tcp", at(2, "18221"))
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	c.MustCtl(1, "service", "create", "-d", "--name", "web", "--replicas", "2", "-p", "18221:80", httpBin)
	waitRunning(t, c, 1, "web", 2, 10*time.Second)
	Eventually(t, 5*time.Second, func() error {
		out := c.MustCtl(1, "service", "inspect", "--pretty", "web")
		if !strings.Contains(out, "Unavailable on node-2: listen tcp "+at(2, "18221")) || !strings.Contains(out, "address already in use") {
			return fmt.Errorf("inspect does not report node-2:\n%s", out)
		}
		for _, i := range []int{1, 3} {
			if _, err := get(at(i, "18221")); err != nil {
				return err
			}
		}
		return nil
	})
	squatter.Close()
	Eventually(t, 5*time.Second, func() error {
		if _, err := get(at(2, "18221")); err != nil {
			return err
		}
		if out := c.MustCtl(1, "service", "inspect", "--pretty", "web"); strings.Contains(out, "Unavailable") {
			return fmt.Errorf("still reported unavailable:\n%s", out)
		}
		return nil
	})
	// Without PROXY protocol the task sees the load balancer's address.
	if _, remote, err := getFrom("127.0.0.229", at(3, "18221")); err != nil || strings.HasPrefix(remote, "127.0.0.229:") {
		t.Errorf("plain port: the task saw %q (err %v), want the load balancer", remote, err)
	}

	// PROXY protocol v2 and least connections.
	c.MustCtl(1, "service", "create", "-d", "--name", "pp", "--replicas", "2",
		"--publish", "published=18222,target=80,proxy-protocol=v2,lb=leastconn", httpBin, "--proxy-protocol")
	waitRunning(t, c, 1, "pp", 2, 10*time.Second)
	Eventually(t, 5*time.Second, func() error {
		for _, i := range []int{1, 2, 3} {
			body, remote, err := getFrom("127.0.0.229", at(i, "18222"))
			if err != nil {
				return err
			}
			if !strings.Contains(body, "processed by host") || !strings.HasPrefix(remote, "127.0.0.229:") {
				return fmt.Errorf("node-%d: the task saw %q, want the client 127.0.0.229 (body %q)", i, remote, body)
			}
		}
		return nil
	})
	if out := c.MustCtl(1, "service", "inspect", "--pretty", "pp"); !strings.Contains(out, "LoadBalancing = leastconn") || !strings.Contains(out, "ProxyProtocol = v2") {
		t.Errorf("inspect --pretty pp lacks the port's options:\n%s", out)
	}

	// UDP: each client keeps its task.
	c.MustCtl(1, "service", "create", "-d", "--name", "dns", "--replicas", "2", "-p", "18223:53/udp", httpBin, "--udp")
	waitRunning(t, c, 1, "dns", 2, 10*time.Second)
	seen := map[string]bool{}
	Eventually(t, 5*time.Second, func() error {
		for k := range 2 {
			conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.229")})
			if err != nil {
				return err
			}
			first := ""
			for n := range 5 {
				got, err := udpAsk(conn, at(1, "18223"))
				if err != nil {
					conn.Close()
					return fmt.Errorf("client %d datagram %d: %v", k, n, err)
				}
				if first == "" {
					first = got
				} else if got != first {
					conn.Close()
					return fmt.Errorf("client %d moved from %q to %q", k, first, got)
				}
			}
			conn.Close()
			seen[first] = true
		}
		if len(seen) != 2 {
			return fmt.Errorf("two clients answered by %d tasks: %v", len(seen), seen)
		}
		return nil
	})

	// mode=host: bound on the task's node, one task per node.
	c.MustCtl(1, "service", "create", "-d", "--name", "hm", "--replicas", "2", "--constraint", "node.role==worker",
		"--publish", "mode=host,published=18224,target=80", httpBin)
	waitRunning(t, c, 1, "hm", 2, 10*time.Second)
	for _, i := range []int{2, 3} {
		if body, err := get(at(i, "18224")); err != nil || !strings.Contains(body, "processed by host") {
			t.Errorf("mode=host port on node-%d: %q %v", i, body, err)
		}
	}
	if _, err := get(at(1, "18224")); err == nil {
		t.Errorf("mode=host port answered on node-1, which runs no task of it")
	}
	c.MustCtl(1, "service", "scale", "-d", "hm=3")
	Eventually(t, 5*time.Second, func() error {
		out := c.MustCtl(1, "service", "ps", "--no-trunc", "hm")
		if !strings.Contains(out, "host-mode port already in use on 2 nodes") {
			return fmt.Errorf("the third task is not held back by the port:\n%s", out)
		}
		return nil
	})

	// The counters, from node-1's /metrics.
	resp, err := http.Get("http://" + at(1, "9323") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	metrics, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`actorswarm_lb_connections_total{backend="`,
		`port="18221",protocol="tcp"}`,
		`actorswarm_lb_accepted_total{port="18223",protocol="udp"}`,
		`actorswarm_lb_bytes_out_total{backend="`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("node-1 /metrics lacks %s", want)
		}
	}
}
