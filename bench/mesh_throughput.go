package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sizes of mesh-throughput: how long wrk runs against each path, with how
// many connections and threads.
const (
	meshDuration      = 10 * time.Second
	meshQuickDuration = 2 * time.Second
	meshConnections   = 32
	meshThreads       = 2
	meshPort          = "18300"
	// haproxyAddr is where the HAProxy baseline listens: an address of
	// the loopback block no bench node uses.
	haproxyAddr = "127.0.0.250:18301"
)

// meshPaths are the three ways to the same tasks that mesh-throughput
// compares, in report order.
var meshPaths = []string{"direct", "mesh", "haproxy"}

// runMeshThroughput measures HTTP through the routing mesh with wrk, side
// by side in the same run with the same tasks reached directly (one task)
// and through HAProxy in TCP round-robin mode (both tasks): requests/s and
// p50/p99 latency per path. Each repetition runs wrk once per path.
func runMeshThroughput(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "mesh-throughput"
	for _, tool := range []string{"wrk", "haproxy"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found: apt-get install -y wrk haproxy", tool)
		}
	}
	dur := meshDuration
	if opts.Quick {
		dur = meshQuickDuration
	}
	s, err := startSwarm(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()

	from, entry := s.managers[0], s.workers[0]
	httpBin := filepath.Join(opts.BinDir, "swarm-http")
	if _, err := s.Ctl(ctx, from, "service", "create", "-d", "--name", "web", "--replicas", "2",
		"--constraint", "node.role==worker", "-p", meshPort+":80", httpBin); err != nil {
		return nil, err
	}
	if err := s.waitSettled(ctx, from, "web", 2); err != nil {
		return nil, err
	}
	meshAddr := s.Node(entry).IP + ":" + meshPort
	backends, err := meshBackends(ctx, s.Node(entry).IP, meshAddr)
	if err != nil {
		return nil, err
	}
	stopHAProxy, err := startHAProxy(ctx, backends)
	if err != nil {
		return nil, err
	}
	defer stopHAProxy()

	targets := map[string]string{"direct": backends[0], "mesh": meshAddr, "haproxy": haproxyAddr}
	params := s.parameters()
	params["tool"] = fmt.Sprintf("wrk -t%d -c%d -d%s --latency", meshThreads, meshConnections, dur)
	params["tasks"] = "2 × swarm-http on the workers"
	params["haproxy"] = "mode tcp, balance roundrobin, both tasks"
	params["entry"] = s.Node(entry).Hostname
	started := time.Now()
	byPath := map[string]*[3]Record{}
	for _, p := range meshPaths {
		pp := func() map[string]string {
			m := map[string]string{"path": p}
			for k, v := range params {
				m[k] = v
			}
			return m
		}
		byPath[p] = &[3]Record{
			{Scenario: name + "/" + p + "/requests", Parameters: pp(), Started: started, Unit: "requests/s"},
			{Scenario: name + "/" + p + "/p50", Parameters: pp(), Started: started, Unit: "ms"},
			{Scenario: name + "/" + p + "/p99", Parameters: pp(), Started: started, Unit: "ms"},
		}
	}
	for run := 1; run <= opts.Repeat; run++ {
		var line []string
		for _, p := range meshPaths {
			res, err := runWrk(ctx, targets[p], dur)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
			r := byPath[p]
			r[0].Samples = append(r[0].Samples, res.rps)
			r[1].Samples = append(r[1].Samples, res.p50)
			r[2].Samples = append(r[2].Samples, res.p99)
			line = append(line, fmt.Sprintf("%s %s req/s p50 %s ms p99 %s ms", p, FormatFigure(res.rps), FormatFigure(res.p50), FormatFigure(res.p99)))
		}
		opts.progress(name, run, "%s", strings.Join(line, "; "))
	}
	for _, p := range meshPaths {
		recs = append(recs, byPath[p][:]...)
	}
	return recs, nil
}

// meshBackends sends one request through the mesh, then reads the tasks
// behind the port from the entry node's /metrics.
func meshBackends(ctx context.Context, nodeIP, meshAddr string) ([]string, error) {
	var backends []string
	err := Poll(ctx, settleTimeout, "the mesh to list both tasks", func(ctx context.Context) error {
		if _, err := httpGet(ctx, "http://"+meshAddr+"/"); err != nil {
			return err
		}
		metrics, err := httpGet(ctx, "http://"+nodeIP+":9323/metrics")
		if err != nil {
			return err
		}
		backends = backendsOf(metrics, meshPort)
		if len(backends) != 2 {
			return fmt.Errorf("backends of %s: %v", meshPort, backends)
		}
		return nil
	})
	return backends, err
}

var backendLabel = regexp.MustCompile(`^actorswarm_lb_connections_total\{backend="([^"]+)",port="(\d+)",protocol="tcp"\}`)

// backendsOf lists the backends of port in a /metrics page.
func backendsOf(metrics, port string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(metrics))
	for sc.Scan() {
		if m := backendLabel.FindStringSubmatch(sc.Text()); m != nil && m[2] == port && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	slices.Sort(out)
	return out
}

func httpGet(ctx context.Context, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// haproxyConfig is the baseline: a TCP round-robin proxy, as the mesh is.
func haproxyConfig(backends []string) string {
	var b strings.Builder
	b.WriteString("global\n  maxconn 4096\n\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 30s\n  timeout server 30s\n\n")
	fmt.Fprintf(&b, "frontend fe\n  bind %s\n  default_backend be\n\nbackend be\n  balance roundrobin\n", haproxyAddr)
	for i, be := range backends {
		fmt.Fprintf(&b, "  server t%d %s\n", i+1, be)
	}
	return b.String()
}

// startHAProxy runs HAProxy in the foreground over backends until the
// returned func stops it.
func startHAProxy(ctx context.Context, backends []string) (func(), error) {
	dir, err := os.MkdirTemp("", "swarmbench-haproxy-")
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(backends)), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command("haproxy", "-db", "-f", cfg)
	cmd.SysProcAttr = childAttr()
	out, err := os.Create(filepath.Join(dir, "haproxy.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		out.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start haproxy: %w", err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		out.Close()
		os.RemoveAll(dir)
	}
	if err := Poll(ctx, settleTimeout, "haproxy to answer", func(ctx context.Context) error {
		_, err := httpGet(ctx, "http://"+haproxyAddr+"/")
		return err
	}); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "haproxy.log"))
		stop()
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(string(log)))
	}
	return stop, nil
}

// wrkResult is what mesh-throughput takes from one wrk run.
type wrkResult struct {
	rps, p50, p99 float64 // requests/s, ms
}

// runWrk runs wrk against addr for d.
func runWrk(ctx context.Context, addr string, d time.Duration) (wrkResult, error) {
	secs := strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second)))
	cmd := exec.CommandContext(ctx, "wrk", "-t"+strconv.Itoa(meshThreads), "-c"+strconv.Itoa(meshConnections), "-d"+secs+"s", "--latency", "http://"+addr+"/")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	return parseWrk(string(out))
}

var (
	wrkRPS     = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)`)
	wrkLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkErrors  = regexp.MustCompile(`(?m)^\s+(Non-2xx or 3xx responses|Socket errors):.*$`)
)

// parseWrk reads requests/s and the 50th and 99th latency percentiles
// (in ms) from wrk --latency output; errors or non-2xx answers fail it.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	if m := wrkErrors.FindString(out); m != "" {
		return r, fmt.Errorf("wrk saw failures: %s", strings.TrimSpace(m))
	}
	m := wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk output:\n%s", out)
	}
	r.rps, _ = strconv.ParseFloat(m[1], 64)
	found := 0
	for _, l := range wrkLatency.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(l[2], 64)
		switch l[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if l[1] == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
		found++
	}
	if found != 2 || r.rps <= 0 {
		return r, fmt.Errorf("no latency distribution in wrk output:\n%s", out)
	}
	return r, nil
}
