//go:build linux

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/actorswarm/swarm/internal/cpulatency"
)

// clientScript is the program of the client tasks: every round it
// resolves the web service, then fetches the page of and pings each of
// its tasks by address, and prints what it saw for `service logs`.
const clientScript = `while true; do
echo "round"
for a in $(getent ahostsv4 tasks.web | cut -d' ' -f1 | sort -u); do
  echo "task $a"
  curl -s --max-time 0.5 "http://$a/" | grep -o 'host: [^<]*' | sed "s/^/page $a /"
  ping -c 1 -W 0.5 "$a" >/dev/null 2>&1 && echo "ping $a ok"
done
getent ahostsv4 web >/dev/null && echo "name web ok"
curl -s --max-time 2 http://web/ >/dev/null && echo "http web ok"
sleep 0.2
done`

// overlayView is what the client's last complete round says.
type overlayView struct {
	tasks, pages, pings map[string]bool
	name, http          bool
}

var (
	taskLine = regexp.MustCompile(`^task (\S+)$`)
	pageLine = regexp.MustCompile(`^page (\S+) host: (\S+)$`)
	pingLine = regexp.MustCompile(`^ping (\S+) ok$`)
)

// lastRound reads the client's logs and returns its last complete round.
func lastRound(logs string) overlayView {
	var rounds [][]string
	for _, l := range strings.Split(logs, "\n") {
		// service logs prefixes each line with the task name and node.
		if i := strings.Index(l, "| "); i >= 0 {
			l = l[i+2:]
		}
		l = strings.TrimSpace(l)
		if l == "round" {
			rounds = append(rounds, nil)
			continue
		}
		if len(rounds) > 0 {
			rounds[len(rounds)-1] = append(rounds[len(rounds)-1], l)
		}
	}
	v := overlayView{tasks: map[string]bool{}, pages: map[string]bool{}, pings: map[string]bool{}}
	if len(rounds) < 2 {
		return v
	}
	for _, l := range rounds[len(rounds)-2] { // the last one may be cut short
		if m := taskLine.FindStringSubmatch(l); m != nil {
			v.tasks[m[1]] = true
		} else if m := pageLine.FindStringSubmatch(l); m != nil {
			v.pages[m[1]] = true
		} else if m := pingLine.FindStringSubmatch(l); m != nil {
			v.pings[m[1]] = true
		} else if l == "name web ok" {
			v.name = true
		} else if l == "http web ok" {
			v.http = true
		}
	}
	return v
}

// TestNetnsOverlay runs a service on an overlay network across three
// network-namespace hosts: from a client task on host 1, every task of
// the service is found by name (tasks.web, web), answers HTTP and pings
// by address, wherever it runs; a task of another network reaches none of
// them; when a host dies, its task's replacement is found and answers.
// Host 1's /metrics count the overlay's packets, and its swarmd runs with
// --overlay-low-latency: the CPU latency is held at 0 µs while its client
// sends and let go once the client is gone.
func TestNetnsOverlay(t *testing.T) {
	c := NewNetnsCluster(t, 3)
	// Node-1 runs with --overlay-low-latency: its forwarder's traffic
	// (the client's) holds the CPU latency at 0 µs, and quiet lets it go.
	latencyBefore, lowLatency := cpuLatencyBefore(t)
	if lowLatency {
		c.Node(1).args = append(c.Node(1).args, "--overlay-low-latency")
	}
	formSwarm(t, c, []int{1}, []int{2, 3})
	c.MustCtl(1, "network", "create", "-d", "overlay", "skynet")
	c.MustCtl(1, "network", "create", "-d", "overlay", "other")
	httpBin := filepath.Join(c.bin.dir, "swarm-http")
	c.MustCtl(1, "service", "create", "-d", "--name", "web", "--network", "skynet", "--replicas", "3", "-p", "18080:80", httpBin)
	waitRunning(t, c, 1, "web", 3, 20*time.Second)
	c.MustCtl(1, "service", "create", "-d", "--name", "client", "--network", "skynet",
		"--constraint", "node.hostname==node-1", "/bin/sh", "-c", clientScript)

	var seen overlayView
	Eventually(t, 30*time.Second, func() error {
		seen = lastRound(c.MustCtl(1, "service", "logs", "--raw", "client"))
		if len(seen.tasks) != 3 || len(seen.pages) != 3 || len(seen.pings) != 3 || !seen.name || !seen.http {
			return fmt.Errorf("client's last round: tasks %v, pages %v, pings %v, name %t, http %t", seen.tasks, seen.pages, seen.pings, seen.name, seen.http)
		}
		return nil
	})
	t.Logf("from node-1, the web tasks %v answer and ping", seen.tasks)
	if lowLatency {
		waitCPULatency(t, 0, "node-1's client sends overlay traffic")
	}
	// Node-1's /metrics count the client's packets (and the keeper).
	metrics, err := exec.Command("ip", "netns", "exec", netnsPrefix+"h1", "curl", "-s", "--max-time", "2", "http://10.199.0.11:9323/metrics").Output()
	if err != nil {
		t.Fatalf("node-1 /metrics: %v", err)
	}
	for _, re := range []string{
		`(?m)^actorswarm_overlay_packets_total\{direction="out"\} [1-9]`,
		`(?m)^actorswarm_overlay_packets_total\{direction="in"\} [1-9]`,
		`(?m)^actorswarm_overlay_dropped_total\{reason="malformed"\} [0-9]`,
	} {
		if !regexp.MustCompile(re).Match(metrics) {
			t.Errorf("node-1 /metrics lacks %s", re)
		}
	}
	if lowLatency && !regexp.MustCompile(`(?m)^actorswarm_overlay_cpu_latency_held 1$`).Match(metrics) {
		t.Errorf("node-1 /metrics does not show the CPU latency held")
	}
	inspectOut := c.MustCtl(2, "network", "inspect", "skynet")
	for a := range seen.tasks {
		if !strings.Contains(inspectOut, `"IPv4Address": "`+a+`/24"`) {
			t.Errorf("network inspect skynet lacks the task at %s:\n%s", a, inspectOut)
		}
	}

	// The routing mesh reaches the tasks at their overlay addresses: each
	// host's published port answers from every host, from every task.
	Eventually(t, 15*time.Second, func() error {
		hosts := map[string]bool{}
		for i := 1; i <= 3; i++ {
			for j := 1; j <= 3; j++ {
				for range 3 {
					out, err := exec.Command("ip", "netns", "exec", fmt.Sprintf("%sh%d", netnsPrefix, i),
						"curl", "-s", "--max-time", "2", fmt.Sprintf("http://10.199.0.%d:18080/", 10+j)).Output()
					m := regexp.MustCompile(`host: ([^<]+)`).FindSubmatch(out)
					if err != nil || m == nil {
						return fmt.Errorf("from host %d to host %d's port 18080: %v %q", i, j, err, out)
					}
					hosts[string(m[1])] = true
				}
			}
		}
		if len(hosts) != 3 {
			return fmt.Errorf("the mesh reached %d tasks, want 3: %v", len(hosts), hosts)
		}
		return nil
	})

	// A host-mode port of a task on the network is bound on its node.
	c.MustCtl(1, "service", "create", "-d", "--name", "hm", "--network", "skynet", "--constraint", "node.hostname==node-2",
		"--publish", "mode=host,published=18090,target=80", httpBin)
	waitRunning(t, c, 1, "hm", 1, 20*time.Second)
	Eventually(t, 10*time.Second, func() error {
		out, err := exec.Command("ip", "netns", "exec", netnsPrefix+"h1", "curl", "-s", "--max-time", "2", "http://10.199.0.12:18090/").Output()
		if err != nil || !strings.Contains(string(out), "processed by host") {
			return fmt.Errorf("mode=host port 18090 on node-2: %v %q", err, out)
		}
		return nil
	})
	c.MustCtl(1, "service", "rm", "hm")

	// A task of another network on the same host reaches none of them.
	var addrs []string
	for a := range seen.tasks {
		addrs = append(addrs, a)
	}
	c.MustCtl(1, "service", "create", "-d", "--name", "intruder", "--network", "other",
		"--constraint", "node.hostname==node-1", "--env", "WEB_ADDRS="+strings.Join(addrs, " "), "/bin/sh", "-c", intruderScript)
	Eventually(t, 20*time.Second, func() error {
		logs := c.MustCtl(1, "service", "logs", "--raw", "intruder")
		if strings.Count(logs, "round") < 3 {
			return fmt.Errorf("intruder has not run 3 rounds yet:\n%s", logs)
		}
		return nil
	})
	if logs := c.MustCtl(1, "service", "logs", "--raw", "intruder"); strings.Contains(logs, "reached") || !strings.Contains(logs, "own gateway ok") {
		t.Errorf("a task of network other reached skynet's tasks, or not its own gateway:\n%s", logs)
	}

	// Host 3 dies with its task: the replacement is found and answers.
	rows := waitRunning(t, c, 1, "web", 3, 5*time.Second)
	if nodesOf(rows)["node-3"] == 0 {
		t.Fatalf("no web task on node-3: %v", nodesOf(rows))
	}
	killed := time.Now()
	c.Kill(3)
	Eventually(t, 10*time.Second, func() error {
		rows, err := parseTasks(c.MustCtl(1, "service", "ps", "web"))
		if err != nil {
			return err
		}
		if live := running(rows); len(live) != 3 || nodesOf(live)["node-3"] != 0 {
			return fmt.Errorf("not moved off node-3 yet: %v", nodesOf(live))
		}
		return nil
	})
	rescheduled := time.Since(killed)
	Eventually(t, 30*time.Second, func() error {
		v := lastRound(c.MustCtl(1, "service", "logs", "--raw", "client"))
		if len(v.tasks) != 3 || len(v.pages) != 3 || !v.http {
			return fmt.Errorf("client's last round: tasks %v, pages %v", v.tasks, v.pages)
		}
		for a := range v.tasks {
			if !seen.tasks[a] {
				return nil // a new address: the replacement, answering
			}
		}
		return fmt.Errorf("no new task address yet: %v", v.tasks)
	})
	t.Logf("node-3's task runs elsewhere %s after the kill; a client round (resolve, fetch and ping each task, up to 0.5 s per dead one) sees the replacement answer %s after it",
		rescheduled.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))

	if lowLatency {
		// Without the client (and the intruder, whose packets are
		// dropped before the forwarder anyway) node-1's overlay is quiet.
		c.MustCtl(1, "service", "rm", "client", "intruder")
		waitCPULatency(t, latencyBefore, "node-1's overlay is quiet")
	}
}

// cpuLatencyBefore reads the kernel's CPU latency target before the test,
// and whether --overlay-low-latency can be seen at work: the device
// exists and no other process holds the target at 0 µs.
func cpuLatencyBefore(t *testing.T) (int32, bool) {
	t.Helper()
	if _, err := os.Stat(cpulatency.DevicePath); err != nil {
		t.Logf("no CPU latency QoS device: --overlay-low-latency left out: %v", err)
		return 0, false
	}
	v, err := cpulatency.Current(cpulatency.DevicePath)
	if err != nil {
		t.Fatal(err)
	}
	if v == 0 {
		t.Logf("another process holds the CPU latency at 0 µs: --overlay-low-latency left out")
		return 0, false
	}
	return v, true
}

// waitCPULatency waits until the kernel's CPU latency target is want µs.
func waitCPULatency(t *testing.T, want int32, why string) {
	t.Helper()
	Eventually(t, 15*time.Second, func() error {
		v, err := cpulatency.Current(cpulatency.DevicePath)
		if err != nil {
			return err
		}
		if v != want {
			return fmt.Errorf("CPU latency target %d µs, want %d (%s)", v, want, why)
		}
		return nil
	})
}

// intruderScript tries the addresses in $WEB_ADDRS from another network.
const intruderScript = `while true; do
echo "round"
for a in $WEB_ADDRS; do
  curl -s --max-time 1 "http://$a/" >/dev/null && echo "reached $a by http"
  ping -c 1 -W 1 "$a" >/dev/null 2>&1 && echo "reached $a by ping"
done
gw=$(ip route show default | cut -d' ' -f3)
ping -c 1 -W 1 "$gw" >/dev/null 2>&1 && echo "own gateway ok"
done`

// TestNetnsOverlayDocker runs the service as Docker containers on the
// overlay: each container starts with no network and gets its task's
// interface; a process task on another host finds both by name and
// fetches their pages.
func TestNetnsOverlayDocker(t *testing.T) {
	needDocker(t)
	c := NewNetnsCluster(t, 3)
	formSwarm(t, c, []int{1}, []int{2, 3})
	c.MustCtl(1, "network", "create", "-d", "overlay", "skynet")
	c.MustCtl(1, "service", "create", "-d", "--name", "web", "--runtime", "docker", "--network", "skynet", "--replicas", "2",
		"--constraint", "node.role==worker", "actorswarm/http:latest")
	waitRunning(t, c, 1, "web", 2, 60*time.Second)
	c.MustCtl(1, "service", "create", "-d", "--name", "client", "--network", "skynet",
		"--constraint", "node.hostname==node-1", "/bin/sh", "-c", clientScript)
	Eventually(t, 30*time.Second, func() error {
		v := lastRound(c.MustCtl(1, "service", "logs", "--raw", "client"))
		if len(v.tasks) != 2 || len(v.pages) != 2 || !v.name || !v.http {
			return fmt.Errorf("client's last round: tasks %v, pages %v, name %t, http %t", v.tasks, v.pages, v.name, v.http)
		}
		return nil
	})
	c.MustCtl(1, "service", "rm", "web", "client")
	Eventually(t, 30*time.Second, func() error {
		if ids := containersOf(t, "web"); len(ids) > 0 {
			return fmt.Errorf("containers left: %v", ids)
		}
		return nil
	})
}
