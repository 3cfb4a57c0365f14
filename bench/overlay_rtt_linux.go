package bench

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/actorswarm/swarm/internal/cpulatency"
)

// ortNetwork is overlay-rtt's overlay network.
const ortNetwork = "rttnet"

// ortPath is one way overlay-rtt pings: to dst, ping run by the command
// in (in a namespace).
type ortPath struct {
	name string
	in   []string
	dst  netip.Addr
}

// runOverlayRTT measures the ping RTT between two tasks on two hosts as a
// user's services see it: a swarm of network-namespace hosts on a bridge
// (swarmd each), an overlay network, one task on each of two workers; ping
// from the first task's namespace to the second task's overlay address
// (task veth, the host's TUN, swarmd's forwarder, the bridge, and the same
// on the other host), against ping from the first host to the second over
// the bridge. Pings go 50 ms apart, 5 ms apart, flooded, and 5 ms apart
// with ping and both workers' swarmd pinned to one CPU. Then a second
// swarm, its swarmd run with --overlay-low-latency, gives the overlay's
// 50 ms and 5 ms rows again (left out where the kernel has no CPU latency
// QoS device). It needs root, ip, ping and nsenter.
func runOverlayRTT(ctx context.Context, opts Options) ([]Record, error) {
	const name = "overlay-rtt"
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root: it starts swarmd in network namespaces and tasks on an overlay")
	}
	for _, tool := range []string{"ip", "ping", "sleep", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found: apt-get install -y iproute2 iputils-ping coreutils util-linux", tool)
		}
	}
	pings, floods, oneCPU := ovlPings, ovlFloodPings, ovlOneCPUPings
	if opts.Quick {
		pings, floods, oneCPU = ovlQuickPings, ovlQuickFloodPings, ovlQuickOneCPUPings
	}
	sparse := ortKind{"rtt", fmt.Sprintf("ping -c %d -i %s -q %%s, run by %%s; rtt avg", pings, pingInterval(ovlPingGap)),
		func(ctx context.Context, p ortPath, _ []int) (float64, error) {
			return pingRTT(ctx, p.in, p.dst, pings, ovlPingGap)
		}}
	warm := ortKind{"rtt-warm", fmt.Sprintf("ping -c %d -i %s -q %%s, run by %%s; rtt avg", pings, pingInterval(ovlWarmGap)),
		func(ctx context.Context, p ortPath, _ []int) (float64, error) {
			return pingRTT(ctx, p.in, p.dst, pings, ovlWarmGap)
		}}
	flood := ortKind{"rtt-flood", fmt.Sprintf("ping -c %d -f -q %%s, run by %%s; rtt avg", floods),
		func(ctx context.Context, p ortPath, _ []int) (float64, error) {
			return pingRTT(ctx, p.in, p.dst, floods, 0)
		}}
	pinned := ortKind{"rtt-one-cpu", fmt.Sprintf("ping -c %d -i %s -q %%s, run by %%s, it and every thread of both workers' swarmd pinned to one CPU; rtt avg", oneCPU, pingInterval(ovlWarmGap)),
		func(ctx context.Context, p ortPath, pids []int) (float64, error) {
			return pingRTTOneCPU(ctx, p.in, p.dst, oneCPU, ovlWarmGap, pids...)
		}}
	recs, err := measureOverlayRTT(ctx, opts, name, nil, []ortRun{
		{path: "overlay", kinds: []ortKind{sparse, warm, flood, pinned}},
		{path: "underlay", kinds: []ortKind{sparse, warm, flood, pinned}},
	})
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cpulatency.DevicePath); err != nil {
		opts.logf("%s: no CPU latency QoS device (%v): the overlay-low-latency rows are left out\n", name, err)
		return recs, nil
	}
	low, err := measureOverlayRTT(ctx, opts, name, []string{"--overlay-low-latency"}, []ortRun{
		{path: "overlay-low-latency", via: "overlay", kinds: []ortKind{lowLatencyHeld(sparse), lowLatencyHeld(warm)}},
	})
	if err != nil {
		return nil, err
	}
	return append(recs, low...), nil
}

// lowLatencyHeld is k checked to have run with the CPU latency held at
// 0 µs: swarmd --overlay-low-latency holds it while packets flow and for a
// while after, so it must still stand when the pings end.
func lowLatencyHeld(k ortKind) ortKind {
	measure := k.measure
	k.measure = func(ctx context.Context, p ortPath, pids []int) (float64, error) {
		v, err := measure(ctx, p, pids)
		if err != nil {
			return 0, err
		}
		if err := latencyHeld("swarmd --overlay-low-latency"); err != nil {
			return 0, err
		}
		return v, nil
	}
	return k
}

// ortKind is one way overlay-rtt pings a path: its record's last name, the
// tool parameter (a format of the destination and the command it runs
// in) and the measurement (pids: both workers' swarmd).
type ortKind struct {
	name    string
	tool    string
	measure func(ctx context.Context, p ortPath, pids []int) (float64, error)
}

// ortRun is a path overlay-rtt measures in one swarm: path names the
// records, via the route ("overlay" or "underlay"; path itself if empty).
type ortRun struct {
	path, via string
	kinds     []ortKind
}

// measureOverlayRTT starts a swarm whose swarmd have flags, with the tasks
// overlay-rtt pings between, measures runs opts.Repeat times, and tears
// the swarm down.
func measureOverlayRTT(ctx context.Context, opts Options, name string, flags []string, runs []ortRun) (recs []Record, err error) {
	sleepBin, _ := exec.LookPath("sleep")
	// Swarmd runs in a mount namespace of its own (ip netns exec makes
	// one), where it binds its tasks' namespaces at /run/netns: they are
	// reached from there, and a killed swarmd leaves their names behind
	// here, deleted once the swarm is down.
	var taskNames []string
	defer func() {
		for _, ns := range taskNames {
			_ = run(context.Background(), "ip", "netns", "del", ns)
		}
	}()
	s, err := startSwarmWith(ctx, opts, true, func(lb *Loopback) error {
		lb.SetFlags(flags...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()
	from, hosts := s.managers[0], s.workers[:2]
	if _, err := s.Ctl(ctx, from, "network", "create", "-d", "overlay", ortNetwork); err != nil {
		return nil, err
	}
	var pids []int
	for _, h := range hosts {
		p := s.proc(s.Node(h))
		if p == nil {
			return nil, fmt.Errorf("%s does not run", s.Node(h).Hostname)
		}
		pids = append(pids, p.cmd.Process.Pid)
	}
	var taskIn [][]string
	var taskAddr []netip.Addr
	for i, h := range hosts {
		svc := fmt.Sprintf("rtt-%d", i+1)
		if _, err := s.Ctl(ctx, from, "service", "create", "-d", "--name", svc, "--network", ortNetwork,
			"--constraint", "node.hostname=="+s.Node(h).Hostname, sleepBin, "infinity"); err != nil {
			return nil, err
		}
		if err := s.waitSettled(ctx, from, svc, 1); err != nil {
			return nil, err
		}
		ns, err := s.taskNetns(ctx, from, svc)
		if err != nil {
			return nil, err
		}
		taskNames = append(taskNames, ns)
		in := []string{"nsenter", "-t", strconv.Itoa(pids[i]), "-m", "ip", "netns", "exec", ns}
		addr, err := overlayAddr(ctx, in)
		if err != nil {
			return nil, err
		}
		taskIn, taskAddr = append(taskIn, in), append(taskAddr, addr)
	}
	hostB, err := netip.ParseAddr(s.Node(hosts[1]).IP)
	if err != nil {
		return nil, err
	}
	routes := map[string]ortPath{
		"overlay":  {"overlay", taskIn[0], taskAddr[1]},
		"underlay": {"underlay", netnsExec(fmt.Sprintf("%s%d", netnsHost, hosts[0])), hostB},
	}
	describe := map[string]string{
		"overlay":  fmt.Sprintf("from the task on %s to the task on %s: task veth, host TUN, swarmd's forwarder, the bridge, and back the same way", s.Node(hosts[0]).Hostname, s.Node(hosts[1]).Hostname),
		"underlay": fmt.Sprintf("from host %s to host %s over the bridge", s.Node(hosts[0]).Hostname, s.Node(hosts[1]).Hostname),
	}
	paths := make([]ortPath, len(runs))
	for i, r := range runs {
		if r.via == "" {
			r.via = r.path
		}
		p, ok := routes[r.via]
		if !ok {
			return nil, fmt.Errorf("overlay-rtt: no route %q", r.via)
		}
		paths[i] = p
	}
	// The overlay's endpoints reach the hosts as tasks start: wait for
	// the first reply.
	for _, p := range paths {
		if err := pingPath(ctx, p.in, p.dst, 1, ovlWait); err != nil {
			return nil, fmt.Errorf("%s: no way through: %w", p.name, err)
		}
	}
	params := s.parameters()
	params["tasks"] = fmt.Sprintf("%s infinity on %s and %s, overlay network %s", sleepBin, s.Node(hosts[0]).Hostname, s.Node(hosts[1]).Hostname, ortNetwork)
	if len(flags) > 0 {
		params["swarmd"] = strings.Join(flags, " ") + " on every node"
	}
	started := time.Now()
	byRun := make([][]*Record, len(runs))
	for i, r := range runs {
		p := paths[i]
		for _, k := range r.kinds {
			m := map[string]string{"path": r.path, "route": describe[p.name], "tool": fmt.Sprintf(k.tool, p.dst, strings.Join(p.in, " "))}
			for key, v := range params {
				m[key] = v
			}
			byRun[i] = append(byRun[i], &Record{Scenario: name + "/" + r.path + "/" + k.name, Parameters: m, Started: started, Unit: "ms"})
		}
	}
	for rep := 1; rep <= opts.Repeat; rep++ {
		var line []string
		for i, r := range runs {
			var got []string
			for j, k := range r.kinds {
				v, err := k.measure(ctx, paths[i], pids)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", r.path, k.name, err)
				}
				byRun[i][j].Samples = append(byRun[i][j].Samples, v)
				got = append(got, fmt.Sprintf("%s %s ms", k.name, FormatFigure(v)))
			}
			line = append(line, r.path+": "+strings.Join(got, ", "))
		}
		opts.progress(name, rep, "%s", strings.Join(line, "; "))
	}
	for i := range runs {
		for _, r := range byRun[i] {
			recs = append(recs, *r)
		}
	}
	return recs, nil
}

// taskNetns returns the name of the network namespace of the one task of
// service: "as-" and 12 characters of the task ID, as swarmd names it.
func (s *swarm) taskNetns(ctx context.Context, from int, service string) (string, error) {
	out, err := s.Ctl(ctx, from, "service", "ps", "-q", "--no-trunc", service)
	if err != nil {
		return "", err
	}
	ids := strings.Fields(out)
	if len(ids) != 1 || len(ids[0]) < 12 {
		return "", fmt.Errorf("service ps -q %s: want one task ID, got %q", service, out)
	}
	return "as-" + ids[0][:12], nil
}

// overlayAddr returns the IPv4 address, not loopback, of the namespace
// that the command in runs ip in.
func overlayAddr(ctx context.Context, in []string) (netip.Addr, error) {
	args := append(slices.Clone(in[1:]), "ip", "-4", "-o", "addr", "show")
	out, err := exec.CommandContext(ctx, in[0], args...).CombinedOutput()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%s: %w: %s", strings.Join(slices.Concat(in, []string{"ip", "addr"}), " "), err, strings.TrimSpace(string(out)))
	}
	f := strings.Fields(string(out))
	for i := 0; i+1 < len(f); i++ {
		if f[i] != "inet" {
			continue
		}
		p, err := netip.ParsePrefix(f[i+1])
		if err == nil && !p.Addr().IsLoopback() {
			return p.Addr(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no address but loopback in %s: %s", strings.Join(in, " "), strings.TrimSpace(string(out)))
}
