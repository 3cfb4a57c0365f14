package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/actorswarm/swarm/internal/cpulatency"
	"github.com/actorswarm/swarm/tunnel"
)

// The lab of overlay-throughput: namespaces asb-ovl-a and asb-ovl-b joined
// by a veth pair (the underlay), and over it ActorSwarm's overlay and a
// kernel VXLAN, each on a subnet of its own so that the destination
// address picks the path.
const (
	ovlNetnsA = "asb-ovl-a"
	ovlNetnsB = "asb-ovl-b"
	// ovlVeth names both ends of the underlay veth, one in each namespace.
	ovlVeth      = "asb-ovl-v"
	ovlUnderMTU  = 1500
	ovlVNI       = 77
	ovlTUN       = "ovl0"
	kernelVXLAN  = "vxk0"
	kernelVXPort = "4790" // 4789 is the forwarder's (STACK-NOTES)
	kernelVXMTU  = 1450
	// ovlTUNMTU is swarmd's (daemon overlayMTU).
	ovlTUNMTU = 65000
	// ovlSegment is the inner packet of the TCP segments on the underlay:
	// the TUN has offloads, and the forwarder cuts TCP into segments that
	// fit the underlay's MTU once encapsulated (50 bytes).
	ovlSegment = ovlUnderMTU - 50
	// tcpIPOverhead is what a segment carries besides its payload: IPv4
	// and TCP headers with the timestamp option.
	tcpIPOverhead = 20 + 20 + 12
)

// Sizes of overlay-throughput: iperf3's duration and the pings per path.
const (
	ovlDuration      = 10 * time.Second
	ovlQuickDuration = 2 * time.Second
	// ovlPings is 100: on this 2-vCPU VM a few slow pings in 20 moved
	// the average by up to 90 % from one repetition to the next.
	ovlPings      = 100
	ovlQuickPings = 5
	// Pings are sent ovlPingGap apart, which lets every thread on the
	// path fall idle in between, then as many ovlWarmGap apart, which
	// keeps them awake: the two RTTs tell the cost of waking the
	// forwarders from the cost of forwarding.
	ovlPingGap = 50 * time.Millisecond
	ovlWarmGap = 5 * time.Millisecond
	// Then ovlFloodPings are sent each as soon as the last reply is in
	// (ping -f): no thread on the path sleeps, so the RTT is the cost of
	// forwarding alone.
	ovlFloodPings      = 2000
	ovlQuickFloodPings = 200
	// Last, ovlOneCPUPings are sent ovlWarmGap apart with ping and every
	// thread of this process (the forwarders) pinned to one CPU: no wake-up
	// crosses CPUs. On a VM a wake-up of another, idle, vCPU can cost more
	// than forwarding a packet; the RTT then tells what the forwarding
	// itself adds.
	ovlOneCPUPings      = 200
	ovlQuickOneCPUPings = 20
	// ovlWait bounds each wait for a lab's piece: a first ping through a
	// path, an iperf3 server to listen.
	ovlWait = 10 * time.Second
)

var (
	ovlUnderA = netip.MustParseAddr("10.202.0.1")
	ovlUnderB = netip.MustParseAddr("10.202.0.2")
	ovlA      = netip.MustParseAddr("10.77.0.1")
	ovlB      = netip.MustParseAddr("10.77.0.2")
	kernelA   = netip.MustParseAddr("10.78.0.1")
	kernelB   = netip.MustParseAddr("10.78.0.2")
)

// ovlPath is one way from asb-ovl-a to asb-ovl-b: traffic to dst takes it.
type ovlPath struct {
	name string
	dst  netip.Addr
	mtu  int
}

// ovlPaths are what overlay-throughput compares, in report order.
var ovlPaths = []ovlPath{
	{"overlay", ovlB, ovlTUNMTU},
	{"kernel-vxlan", kernelB, kernelVXMTU},
	{"veth", ovlUnderB, ovlUnderMTU},
}

// runOverlayThroughput measures one TCP stream (iperf3) and the ping RTT
// between two network namespaces through ActorSwarm's overlay (a
// tunnel.Forwarder per namespace, in this process, as swarmd sets it
// up), through a kernel VXLAN and over the bare veth under both, one
// after the other in each repetition. For the overlay it also gives the
// data packets moved per second per core busy (see packetsPerCore), and
// pings it again with a cpulatency.Keeper on the forwarders, as swarmd
// --overlay-low-latency runs one (left out without the kernel's device). It
// needs root, ip, iperf3 and ping, and tears the lab down on every return.
func runOverlayThroughput(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "overlay-throughput"
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root: it creates network namespaces and TUN devices, and pings every 50 ms")
	}
	for _, tool := range []string{"ip", "iperf3", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found: apt-get install -y iproute2 iperf3 iputils-ping", tool)
		}
	}
	dur, pings, floods, oneCPU := ovlDuration, ovlPings, ovlFloodPings, ovlOneCPUPings
	if opts.Quick {
		dur, pings, floods, oneCPU = ovlQuickDuration, ovlQuickPings, ovlQuickFloodPings, ovlQuickOneCPUPings
	}

	l, err := newOverlayLab(ctx, opts)
	defer func() { err = errors.Join(err, l.close()) }()
	if err != nil {
		return nil, err
	}
	for _, p := range ovlPaths {
		if err := pingPath(ctx, netnsExec(ovlNetnsA), p.dst, 1, ovlWait); err != nil {
			return nil, fmt.Errorf("%s: no way through: %w", p.name, err)
		}
	}

	secs := strconv.Itoa(max(1, int(dur.Round(time.Second)/time.Second)))
	common := map[string]string{
		"underlay": fmt.Sprintf("veth pair %s/24 (%s) – %s/24 (%s), MTU %d", ovlUnderA, ovlNetnsA, ovlUnderB, ovlNetnsB, ovlUnderMTU),
		"note": fmt.Sprintf("both namespaces on this machine: sender, receiver and forwarders share its %d CPUs, no NIC in the way",
			runtime.NumCPU()),
	}
	describe := map[string]map[string]string{
		"overlay": {
			"forwarder": fmt.Sprintf("tunnel.Forwarder per namespace in swarmbench's process, UDP %d, VNI %d, TUN %s (1 queue), %s/24 – %s/24",
				tunnel.DefaultPort, ovlVNI, ovlTUN, ovlA, ovlB),
		},
		"kernel-vxlan": {
			"vxlan": fmt.Sprintf("ip link add %s type vxlan id %d remote PEER dstport %s dev %s; %s/24 – %s/24",
				kernelVXLAN, ovlVNI, kernelVXPort, ovlVeth, kernelA, kernelB),
		},
		"veth": {},
	}
	started := time.Now()
	byPath := map[string][]*Record{}
	for _, p := range ovlPaths {
		params := func(extra ...string) map[string]string {
			m := map[string]string{"path": p.name, "mtu": strconv.Itoa(p.mtu)}
			for k, v := range common {
				m[k] = v
			}
			for k, v := range describe[p.name] {
				m[k] = v
			}
			for i := 0; i+1 < len(extra); i += 2 {
				m[extra[i]] = extra[i+1]
			}
			return m
		}
		iperfTool := fmt.Sprintf("iperf3 -c %s -t %s -J in %s (one TCP stream), iperf3 -s -1 -B %s in %s; received rate", p.dst, secs, ovlNetnsA, p.dst, ovlNetnsB)
		rs := []*Record{
			{Scenario: name + "/" + p.name + "/gbits", Parameters: params("tool", iperfTool), Started: started, Unit: "Gbit/s"},
			{Scenario: name + "/" + p.name + "/rtt", Parameters: params("tool", fmt.Sprintf("ping -c %d -i %s -q %s in %s; rtt avg", pings, pingInterval(ovlPingGap), p.dst, ovlNetnsA)), Started: started, Unit: "ms"},
			{Scenario: name + "/" + p.name + "/rtt-warm", Parameters: params("tool", fmt.Sprintf("ping -c %d -i %s -q %s in %s; rtt avg", pings, pingInterval(ovlWarmGap), p.dst, ovlNetnsA)), Started: started, Unit: "ms"},
			{Scenario: name + "/" + p.name + "/rtt-flood", Parameters: params("tool", fmt.Sprintf("ping -c %d -f -q %s in %s; rtt avg", floods, p.dst, ovlNetnsA)), Started: started, Unit: "ms"},
			{Scenario: name + "/" + p.name + "/rtt-one-cpu", Parameters: params("tool", fmt.Sprintf("ping -c %d -i %s -q %s in %s, it and every thread of swarmbench (the forwarders) pinned to one CPU; rtt avg",
				oneCPU, pingInterval(ovlWarmGap), p.dst, ovlNetnsA)), Started: started, Unit: "ms"},
		}
		if p.name == "overlay" {
			rs = append(rs, &Record{Scenario: name + "/" + p.name + "/packets-per-core", Parameters: params("tool", iperfTool,
				"formula", fmt.Sprintf("packets/s ÷ cores; packets = received bytes ÷ (%d − 52 bytes of IPv4 and TCP headers with timestamps), the TCP segments on the underlay (the forwarder cuts the TUN's 64 KB super-segments to the underlay's MTU), data segments only, ACKs not counted; ", ovlSegment)+
					"cores = (iperf3 end.cpu_utilization_percent host_total + remote_total) / 100 + the forwarders' CPU time (getrusage of swarmbench) ÷ test seconds"),
				Started: started, Unit: "packets/s/core"},
				&Record{Scenario: name + "/" + p.name + "/cpu-per-ping", Parameters: params("tool", fmt.Sprintf("ping -c %d -f -q %s in %s", floods, p.dst, ovlNetnsA),
					"formula", "the forwarders' CPU time (getrusage of swarmbench) during the flood ÷ the pings: both namespaces' forwarding of a request and its reply, system calls included"),
					Started: started, Unit: "µs"})
		}
		byPath[p.name] = rs
	}
	// The overlay again, with a cpulatency.Keeper on the forwarders'
	// counters as swarmd --overlay-low-latency runs one.
	var low []*Record
	if _, err := os.Stat(cpulatency.DevicePath); err != nil {
		opts.logf("%s: no CPU latency QoS device (%v): the overlay-low-latency rows are left out\n", name, err)
	} else {
		params := map[string]string{"path": "overlay-low-latency", "mtu": strconv.Itoa(ovlTUNMTU),
			"low-latency": "a cpulatency.Keeper on both forwarders' packet counters, as swarmd --overlay-low-latency runs: CPU latency 0 µs while packets flow"}
		for k, v := range common {
			params[k] = v
		}
		for k, v := range describe["overlay"] {
			params[k] = v
		}
		for _, kind := range []struct {
			name string
			gap  time.Duration
		}{{"rtt", ovlPingGap}, {"rtt-warm", ovlWarmGap}} {
			m := maps.Clone(params)
			m["tool"] = fmt.Sprintf("ping -c %d -i %s -q %s in %s; rtt avg", pings, pingInterval(kind.gap), ovlB, ovlNetnsA)
			low = append(low, &Record{Scenario: name + "/overlay-low-latency/" + kind.name, Parameters: m, Started: started, Unit: "ms"})
		}
	}

	for run := 1; run <= opts.Repeat; run++ {
		var line []string
		for _, p := range ovlPaths {
			rtt, err := pingRTT(ctx, netnsExec(ovlNetnsA), p.dst, pings, ovlPingGap)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			warm, err := pingRTT(ctx, netnsExec(ovlNetnsA), p.dst, pings, ovlWarmGap)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			floodCPU := processCPU()
			flood, err := pingRTT(ctx, netnsExec(ovlNetnsA), p.dst, floods, 0)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			floodCPU = processCPU() - floodCPU
			pinned, err := pingRTTOneCPU(ctx, netnsExec(ovlNetnsA), p.dst, oneCPU, ovlWarmGap)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			cpu0 := processCPU()
			res, err := runIperf3(ctx, p.dst, secs, dur+ovlWait)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			fwdCPU := processCPU() - cpu0
			rs := byPath[p.name]
			rs[0].Samples = append(rs[0].Samples, res.gbits())
			rs[1].Samples = append(rs[1].Samples, rtt)
			rs[2].Samples = append(rs[2].Samples, warm)
			rs[3].Samples = append(rs[3].Samples, flood)
			rs[4].Samples = append(rs[4].Samples, pinned)
			desc := fmt.Sprintf("%s %s Gbit/s (CPU sender %.0f%% receiver %.0f%%, %d retransmits) rtt %s ms (%s ms warm, %s ms flooded, %s ms on one CPU)",
				p.name, FormatFigure(res.gbits()), res.senderCPU, res.receiverCPU, res.retransmits, FormatFigure(rtt), FormatFigure(warm), FormatFigure(flood), FormatFigure(pinned))
			if p.name == "overlay" {
				ppc := packetsPerCore(res, ovlSegment, fwdCPU)
				perPing := float64(floodCPU.Microseconds()) / float64(floods)
				rs[5].Samples = append(rs[5].Samples, ppc)
				rs[6].Samples = append(rs[6].Samples, perPing)
				desc += fmt.Sprintf(" forwarders %.0f%% CPU, %s packets/s/core, %s µs CPU per ping",
					100*fwdCPU.Seconds()/res.seconds, FormatFigure(ppc), FormatFigure(perPing))
			}
			line = append(line, desc)
		}
		if low != nil {
			rtt, warm, err := l.pingLowLatency(ctx, pings)
			if err != nil {
				return nil, fmt.Errorf("overlay-low-latency: %w", err)
			}
			low[0].Samples = append(low[0].Samples, rtt)
			low[1].Samples = append(low[1].Samples, warm)
			line = append(line, fmt.Sprintf("overlay-low-latency rtt %s ms (%s ms warm)", FormatFigure(rtt), FormatFigure(warm)))
		}
		opts.progress(name, run, "%s", strings.Join(line, "; "))
	}
	for _, p := range ovlPaths {
		for _, r := range byPath[p.name] {
			recs = append(recs, *r)
		}
	}
	for _, r := range low {
		recs = append(recs, *r)
	}
	return recs, nil
}

// pingLowLatency pings through the overlay (50 ms apart, then 5 ms
// apart) with a cpulatency.Keeper on the forwarders' packet counters, and
// checks that it held the CPU latency at 0 µs: it still must when the
// pings end.
func (l *overlayLab) pingLowLatency(ctx context.Context, pings int) (rtt, warm float64, err error) {
	dev, err := cpulatency.OpenDevice(cpulatency.DevicePath)
	if err != nil {
		return 0, 0, err
	}
	k, err := cpulatency.NewKeeper(dev, cpulatency.Config{Count: func() uint64 {
		var n uint64
		for _, f := range l.fwds {
			s := f.Stats()
			n += s.PacketsOut + s.PacketsIn
		}
		return n
	}})
	if err != nil {
		dev.Close()
		return 0, 0, err
	}
	defer func() { err = errors.Join(err, k.Close()) }()
	if rtt, err = pingRTT(ctx, netnsExec(ovlNetnsA), ovlB, pings, ovlPingGap); err != nil {
		return 0, 0, err
	}
	if warm, err = pingRTT(ctx, netnsExec(ovlNetnsA), ovlB, pings, ovlWarmGap); err != nil {
		return 0, 0, err
	}
	if err := latencyHeld("the keeper"); err != nil {
		return 0, 0, err
	}
	return rtt, warm, nil
}

// latencyHeld checks that the kernel's CPU latency target is 0 µs, as
// holder (named in the error) should have set it.
func latencyHeld(holder string) error {
	cur, err := cpulatency.Current(cpulatency.DevicePath)
	if err != nil {
		return err
	}
	if cur != 0 {
		return fmt.Errorf("CPU latency target %d µs after the pings: %s did not hold it at 0", cur, holder)
	}
	return nil
}

// overlayLab is what runOverlayThroughput sets up; close takes it down.
type overlayLab struct {
	netns []string
	fwds  []*tunnel.Forwarder
}

// newOverlayLab creates the namespaces, the underlay, the kernel VXLAN and
// the overlay. On error it returns what it made so far, for close.
func newOverlayLab(ctx context.Context, opts Options) (*overlayLab, error) {
	l := &overlayLab{}
	for _, ns := range []string{ovlNetnsA, ovlNetnsB} {
		// Left behind by a run that was killed: these names are ours.
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
			opts.logf("overlay-throughput: deleting namespace %s left by an earlier run\n", ns)
			if err := tunnel.DeleteNetns(ns); err != nil {
				return l, err
			}
		}
		if err := ctx.Err(); err != nil {
			return l, context.Cause(ctx)
		}
		if err := tunnel.CreateNetns(ns); err != nil {
			return l, err
		}
		l.netns = append(l.netns, ns)
	}
	if err := tunnel.InNetns(ovlNetnsA, func() error { return tunnel.CreateVeth(ovlVeth, ovlVeth, ovlNetnsB) }); err != nil {
		return l, err
	}
	sides := []struct {
		ns                 string
		under, peer        netip.Addr
		ovl, peerOvl, kern netip.Addr
	}{
		{ovlNetnsA, ovlUnderA, ovlUnderB, ovlA, ovlB, kernelA},
		{ovlNetnsB, ovlUnderB, ovlUnderA, ovlB, ovlA, kernelB},
	}
	for _, s := range sides {
		steps := [][]string{
			{"addr", "add", netip.PrefixFrom(s.under, 24).String(), "dev", ovlVeth},
			{"link", "set", "dev", ovlVeth, "mtu", strconv.Itoa(ovlUnderMTU), "up"},
			{"link", "add", kernelVXLAN, "type", "vxlan", "id", strconv.Itoa(ovlVNI), "remote", s.peer.String(),
				"dstport", kernelVXPort, "dev", ovlVeth},
			{"addr", "add", netip.PrefixFrom(s.kern, 24).String(), "dev", kernelVXLAN},
			{"link", "set", "dev", kernelVXLAN, "mtu", strconv.Itoa(kernelVXMTU), "up"},
		}
		for _, args := range steps {
			if err := ipIn(ctx, s.ns, args...); err != nil {
				return l, err
			}
		}
		f, err := startOverlaySide(s.ns, s.under, s.peer, s.ovl, s.peerOvl)
		if err != nil {
			return l, err
		}
		l.fwds = append(l.fwds, f)
	}
	return l, nil
}

// startOverlaySide creates, inside namespace ns, the TUN device and the
// forwarder that carries the overlay to peer, as swarmd does on a host.
func startOverlaySide(ns string, under, peer, ovl, peerOvl netip.Addr) (*tunnel.Forwarder, error) {
	var f *tunnel.Forwarder
	err := tunnel.InNetns(ns, func() error {
		qs, err := tunnel.OpenOffloadTUN(ovlTUN, 1)
		if err != nil {
			return err
		}
		if err := tunnel.ConfigureLink(ovlTUN, netip.PrefixFrom(ovl, 24), ovlTUNMTU); err != nil {
			qs[0].Close()
			return err
		}
		f, err = tunnel.NewForwarder(tunnel.Config{
			ListenAddr: netip.AddrPortFrom(under, tunnel.DefaultPort),
			Peers:      []netip.Addr{peer},
			MTU:        ovlTUNMTU,
		})
		if err != nil {
			qs[0].Close()
			return err
		}
		err = f.SetEndpoints(ovlVNI, map[netip.Addr]netip.AddrPort{
			ovl:     {},
			peerOvl: netip.AddrPortFrom(peer, tunnel.DefaultPort),
		})
		if err == nil {
			err = f.AddNetwork(ovlVNI, qs[0])
		}
		if err != nil {
			qs[0].Close()
			f.Close()
			f = nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("overlay in %s: %w", ns, err)
	}
	return f, nil
}

// close stops the forwarders (their TUN devices go with them) and deletes
// the namespaces, with the veth and the kernel VXLAN in them. It runs
// whatever the context, so a cancelled run still cleans up.
func (l *overlayLab) close() error {
	var errs []error
	for _, f := range l.fwds {
		errs = append(errs, f.Close())
	}
	for _, ns := range l.netns {
		errs = append(errs, tunnel.DeleteNetns(ns))
	}
	l.fwds, l.netns = nil, nil
	return errors.Join(errs...)
}

// ipIn runs ip with args in namespace ns.
func ipIn(ctx context.Context, ns string, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip -n %s %s: %w: %s", ns, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// netnsExec is the command that runs a program in network namespace ns.
func netnsExec(ns string) []string { return []string{"ip", "netns", "exec", ns} }

// pingPath pings dst with ping run by the command in (netnsExec, say)
// until count replies came or wait passed.
func pingPath(ctx context.Context, in []string, dst netip.Addr, count int, wait time.Duration) error {
	_, err := pingOut(ctx, in, dst, count, ovlPingGap, wait)
	return err
}

// pingRTT returns the average RTT in ms of count pings to dst, gap apart
// (a zero gap floods: each ping as soon as the last reply is in), from
// ping run by the command in. A lost reply fails it.
func pingRTT(ctx context.Context, in []string, dst netip.Addr, count int, gap time.Duration) (float64, error) {
	out, err := pingOut(ctx, in, dst, count, gap, ovlWait+time.Duration(count)*gap)
	if err != nil {
		return 0, err
	}
	return parsePing(out)
}

// pingRTTOneCPU is pingRTT with ping and every thread of this process and
// of the processes pids pinned to one CPU.
func pingRTTOneCPU(ctx context.Context, in []string, dst netip.Addr, count int, gap time.Duration, pids ...int) (rtt float64, err error) {
	unpin, err := pinProcess(pids...)
	if err != nil {
		return 0, err
	}
	defer func() { err = errors.Join(err, unpin()) }()
	return pingRTT(ctx, in, dst, count, gap)
}

// pingInterval is gap as ping's -i takes it, in seconds.
func pingInterval(gap time.Duration) string {
	return strconv.FormatFloat(gap.Seconds(), 'f', -1, 64)
}

func pingOut(ctx context.Context, in []string, dst netip.Addr, count int, gap, wait time.Duration) (string, error) {
	deadline := strconv.Itoa(max(1, int(wait.Round(time.Second)/time.Second)))
	pace := []string{"-i", pingInterval(gap)}
	if gap == 0 {
		pace = []string{"-f"}
	}
	args := append(append(slices.Clone(in[1:]), "ping", "-c", strconv.Itoa(count)), pace...)
	cmd := exec.CommandContext(ctx, in[0], append(args, "-q", "-w", deadline, dst.String())...)
	cmd.SysProcAttr = childAttr()
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		return "", fmt.Errorf("ping %s: %w: %s", dst, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

var (
	pingCounts = regexp.MustCompile(`(?m)^(\d+) packets transmitted, (\d+) (?:packets )?received`)
	pingRTTs   = regexp.MustCompile(`(?m)^(?:rtt|round-trip) min/avg/max(?:/mdev|/stddev)? = [0-9.]+/([0-9.]+)/`)
)

// parsePing returns the average RTT in ms from the summary of ping -q
// (iputils or BusyBox); a summary without replies fails it.
func parsePing(out string) (float64, error) {
	m := pingCounts.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no packet counts in ping output:\n%s", out)
	}
	if m[2] == "0" {
		return 0, fmt.Errorf("no reply to %s pings:\n%s", m[1], out)
	}
	r := pingRTTs.FindStringSubmatch(out)
	if r == nil {
		return 0, fmt.Errorf("no rtt in ping output:\n%s", out)
	}
	return strconv.ParseFloat(r[1], 64)
}

// iperfResult is what overlay-throughput takes from one iperf3 run.
type iperfResult struct {
	bitsPerSecond float64 // received
	bytes         float64 // received
	seconds       float64
	retransmits   int
	// senderCPU and receiverCPU are iperf3's own CPU use, in % of one
	// core (user and system time over the test's duration).
	senderCPU, receiverCPU float64
}

func (r iperfResult) gbits() float64 { return r.bitsPerSecond / 1e9 }

// runIperf3 starts an iperf3 server for one test on dst in asb-ovl-b and
// runs the client in asb-ovl-a for secs seconds; limit bounds the whole.
func runIperf3(ctx context.Context, dst netip.Addr, secs string, limit time.Duration) (iperfResult, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	srv := exec.Command("ip", "netns", "exec", ovlNetnsB, "iperf3", "-s", "-1", "--forceflush", "-B", dst.String())
	srv.SysProcAttr = childAttr()
	stdout, err := srv.StdoutPipe()
	if err != nil {
		return iperfResult{}, err
	}
	srv.Stderr = srv.Stdout
	if err := srv.Start(); err != nil {
		return iperfResult{}, fmt.Errorf("start iperf3 server: %w", err)
	}
	var srvOut strings.Builder
	ready, drained := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(stdout)
		listening := false
		for sc.Scan() {
			srvOut.WriteString(sc.Text() + "\n")
			if !listening && strings.Contains(sc.Text(), "Server listening") {
				listening = true
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	// The server ends by itself after the one test (-1); killing it is
	// for the other ways out. Wait closes the pipe, so drain it first.
	defer func() {
		_ = srv.Process.Kill()
		<-drained
		_ = srv.Wait()
	}()
	select {
	case <-ready:
	case <-drained:
		_ = srv.Wait()
		return iperfResult{}, fmt.Errorf("iperf3 server on %s exited: %s", dst, strings.TrimSpace(srvOut.String()))
	case <-time.After(ovlWait):
		return iperfResult{}, fmt.Errorf("iperf3 server on %s not listening after %s", dst, ovlWait)
	case <-ctx.Done():
		return iperfResult{}, context.Cause(ctx)
	}
	cli := exec.CommandContext(ctx, "ip", "netns", "exec", ovlNetnsA, "iperf3", "-c", dst.String(), "-t", secs, "-J",
		"--connect-timeout", strconv.Itoa(int(ovlWait/time.Millisecond)))
	cli.SysProcAttr = childAttr()
	out, err := cli.Output()
	if ctx.Err() != nil {
		return iperfResult{}, fmt.Errorf("iperf3 to %s: %w", dst, context.Cause(ctx))
	}
	res, perr := parseIperf3(out)
	if perr != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return iperfResult{}, fmt.Errorf("iperf3 to %s: %w", dst, errors.Join(err, perr))
	}
	return res, nil
}

// iperf3JSON is the part of iperf3 -J's report that is read.
//
// Its start.tcp_mss_default is not the data stream's MSS: it is read from
// the control connection, whose MSS the kernel bounds by half the window
// the peer has offered so far (32768 on the overlay at MTU 65000).
type iperf3JSON struct {
	End struct {
		SumSent struct {
			Retransmits int `json:"retransmits"`
		} `json:"sum_sent"`
		SumReceived struct {
			Seconds       float64 `json:"seconds"`
			Bytes         float64 `json:"bytes"`
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
		CPU struct {
			HostTotal   float64 `json:"host_total"`
			RemoteTotal float64 `json:"remote_total"`
		} `json:"cpu_utilization_percent"`
	} `json:"end"`
	Error string `json:"error"`
}

// parseIperf3 reads an iperf3 client's -J report: the received rate,
// bytes and duration, the sender's retransmits and both ends' CPU
// use. A report of an error or of no data fails it.
func parseIperf3(out []byte) (iperfResult, error) {
	var j iperf3JSON
	if err := json.Unmarshal(out, &j); err != nil {
		return iperfResult{}, fmt.Errorf("iperf3 report: %w: %.500s", err, out)
	}
	if j.Error != "" {
		return iperfResult{}, fmt.Errorf("iperf3: %s", j.Error)
	}
	s := j.End.SumReceived
	if s.Seconds <= 0 || s.Bytes <= 0 || s.BitsPerSecond <= 0 {
		return iperfResult{}, fmt.Errorf("iperf3 report received nothing: %g bytes in %g s", s.Bytes, s.Seconds)
	}
	return iperfResult{
		bitsPerSecond: s.BitsPerSecond,
		bytes:         s.Bytes,
		seconds:       s.Seconds,
		retransmits:   j.End.SumSent.Retransmits,
		senderCPU:     j.End.CPU.HostTotal,
		receiverCPU:   j.End.CPU.RemoteTotal,
	}, nil
}

// packetsPerCore is the data packets moved per second per core busy: the
// bytes received cut into full segments of mtu bytes (the forwarder sends
// each as one datagram), over the test's seconds, divided by the cores
// that iperf3's two ends and the forwarders (fwdCPU of CPU time) kept
// busy. ACKs are not counted.
func packetsPerCore(r iperfResult, mtu int, fwdCPU time.Duration) float64 {
	pps := r.bytes / float64(mtu-tcpIPOverhead) / r.seconds
	cores := (r.senderCPU+r.receiverCPU)/100 + fwdCPU.Seconds()/r.seconds
	if cores <= 0 {
		return 0
	}
	return pps / cores
}

// processCPU is the user and system CPU time this process has used: the
// forwarders' during an iperf3 run, when nothing else in it works.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
