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
// with ping and both workers' swarmd pinned to one CPU. It needs root, ip,
// ping and nsenter.
func runOverlayRTT(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "overlay-rtt"
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root: it starts swarmd in network namespaces and tasks on an overlay")
	}
	for _, tool := range []string{"ip", "ping", "sleep", "nsenter"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found: apt-get install -y iproute2 iputils-ping coreutils util-linux", tool)
		}
	}
	sleepBin, _ := exec.LookPath("sleep")
	pings, floods, oneCPU := ovlPings, ovlFloodPings, ovlOneCPUPings
	if opts.Quick {
		pings, floods, oneCPU = ovlQuickPings, ovlQuickFloodPings, ovlQuickOneCPUPings
	}

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
	s, err := startSwarmOn(ctx, opts, true)
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
	paths := []ortPath{
		{"overlay", taskIn[0], taskAddr[1]},
		{"underlay", netnsExec(fmt.Sprintf("%s%d", netnsHost, hosts[0])), hostB},
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
	describe := map[string]string{
		"overlay":  fmt.Sprintf("from the task on %s to the task on %s: task veth, host TUN, swarmd's forwarder, the bridge, and back the same way", s.Node(hosts[0]).Hostname, s.Node(hosts[1]).Hostname),
		"underlay": fmt.Sprintf("from host %s to host %s over the bridge", s.Node(hosts[0]).Hostname, s.Node(hosts[1]).Hostname),
	}
	started := time.Now()
	byPath := map[string][]*Record{}
	for _, p := range paths {
		rec := func(kind, tool string) *Record {
			m := map[string]string{"path": p.name, "route": describe[p.name], "tool": tool}
			for k, v := range params {
				m[k] = v
			}
			return &Record{Scenario: name + "/" + p.name + "/" + kind, Parameters: m, Started: started, Unit: "ms"}
		}
		byPath[p.name] = []*Record{
			rec("rtt", fmt.Sprintf("ping -c %d -i %s -q %s, run by %s; rtt avg", pings, pingInterval(ovlPingGap), p.dst, strings.Join(p.in, " "))),
			rec("rtt-warm", fmt.Sprintf("ping -c %d -i %s -q %s, run by %s; rtt avg", pings, pingInterval(ovlWarmGap), p.dst, strings.Join(p.in, " "))),
			rec("rtt-flood", fmt.Sprintf("ping -c %d -f -q %s, run by %s; rtt avg", floods, p.dst, strings.Join(p.in, " "))),
			rec("rtt-one-cpu", fmt.Sprintf("ping -c %d -i %s -q %s, run by %s, it and every thread of both workers' swarmd pinned to one CPU; rtt avg",
				oneCPU, pingInterval(ovlWarmGap), p.dst, strings.Join(p.in, " "))),
		}
	}
	for run := 1; run <= opts.Repeat; run++ {
		var line []string
		for _, p := range paths {
			var got [4]float64
			for i, m := range []func() (float64, error){
				func() (float64, error) { return pingRTT(ctx, p.in, p.dst, pings, ovlPingGap) },
				func() (float64, error) { return pingRTT(ctx, p.in, p.dst, pings, ovlWarmGap) },
				func() (float64, error) { return pingRTT(ctx, p.in, p.dst, floods, 0) },
				func() (float64, error) { return pingRTTOneCPU(ctx, p.in, p.dst, oneCPU, ovlWarmGap, pids...) },
			} {
				v, err := m()
				if err != nil {
					return nil, fmt.Errorf("%s: %w", p.name, err)
				}
				got[i] = v
				byPath[p.name][i].Samples = append(byPath[p.name][i].Samples, v)
			}
			line = append(line, fmt.Sprintf("%s rtt %s ms (%s ms warm, %s ms flooded, %s ms on one CPU)",
				p.name, FormatFigure(got[0]), FormatFigure(got[1]), FormatFigure(got[2]), FormatFigure(got[3])))
		}
		opts.progress(name, run, "%s", strings.Join(line, "; "))
	}
	for _, p := range paths {
		for _, r := range byPath[p.name] {
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
