//go:build linux

package bench

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actorswarm/swarm/internal/cpulatency"
)

const pingSample = `PING 10.78.0.2 (10.78.0.2) 56(84) bytes of data.

--- 10.78.0.2 ping statistics ---
5 packets transmitted, 5 received, 0% packet loss, time 221ms
rtt min/avg/max/mdev = 0.074/0.098/0.150/0.027 ms
`

func TestParsePing(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want float64 // ms; 0 means an error is wanted
	}{
		{"iputils", pingSample, 0.098},
		{"busybox", "PING 10.0.0.2 (10.0.0.2): 56 data bytes\n\n--- 10.0.0.2 ping statistics ---\n" +
			"3 packets transmitted, 3 packets received, 0% packet loss\nround-trip min/avg/max = 0.061/1.250/2.104 ms\n", 1.25},
		{"some lost", strings.Replace(pingSample, "5 received, 0%", "4 received, 20%", 1), 0.098},
		{"all lost", "PING 10.77.0.2 (10.77.0.2) 56(84) bytes of data.\n\n--- 10.77.0.2 ping statistics ---\n" +
			"5 packets transmitted, 0 received, 100% packet loss, time 4090ms\n", 0},
		{"no rtt", strings.Replace(pingSample, "rtt min/avg/max/mdev = 0.074/0.098/0.150/0.027 ms\n", "", 1), 0},
		{"garbage", "ping: connect: Network is unreachable\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parsePing(tt.out)
			switch {
			case tt.want == 0 && err == nil:
				t.Fatalf("parsePing = %v, want an error", got)
			case tt.want != 0 && err != nil:
				t.Fatalf("parsePing: %v", err)
			case got != tt.want:
				t.Errorf("parsePing = %v, want %v", got, tt.want)
			}
		})
	}
}

// iperf3Sample is iperf3 3.12's -J report of a 2 s client run over kernel
// VXLAN, cut down to the fields read and a few around them.
const iperf3Sample = `{
	"start": {
		"connected": [{"socket": 5, "local_host": "10.78.0.1", "local_port": 40934, "remote_host": "10.78.0.2", "remote_port": 5201}],
		"version": "iperf 3.12",
		"tcp_mss_default": 1398,
		"test_start": {"protocol": "TCP", "num_streams": 1, "blksize": 131072, "duration": 2}
	},
	"intervals": [],
	"end": {
		"streams": [],
		"sum_sent": {"start": 0, "end": 2.00028, "seconds": 2.00028, "bytes": 5946736640, "bits_per_second": 23783616853.64049, "retransmits": 260, "sender": true},
		"sum_received": {"start": 0, "end": 2.000328, "seconds": 2.000328, "bytes": 5946736640, "bits_per_second": 23783046140.43297, "sender": true},
		"cpu_utilization_percent": {"host_total": 98.9645708769821, "host_user": 2.036383912177384, "host_system": 96.928137002002,
			"remote_total": 78.6330712629221, "remote_user": 5.435990547668337, "remote_system": 73.19708071525376},
		"sender_tcp_congestion": "bbr",
		"receiver_tcp_congestion": "bbr"
	}
}`

func TestParseIperf3(t *testing.T) {
	got, err := parseIperf3([]byte(iperf3Sample))
	if err != nil {
		t.Fatal(err)
	}
	want := iperfResult{
		bitsPerSecond: 23783046140.43297, bytes: 5946736640, seconds: 2.000328, retransmits: 260,
		senderCPU: 98.9645708769821, receiverCPU: 78.6330712629221,
	}
	if got != want {
		t.Errorf("parseIperf3 = %+v, want %+v", got, want)
	}
	if g := got.gbits(); math.Abs(g-23.783046) > 1e-6 {
		t.Errorf("gbits = %v, want 23.783046", g)
	}
	for name, out := range map[string]string{
		"error report": `{"start": {"connected": [], "version": "iperf 3.12"}, "intervals": [], "end": {},
			"error": "unable to connect to server: Connection timed out"}`,
		"nothing received": strings.Replace(iperf3Sample, `"bytes": 5946736640, "bits_per_second": 23783046140.43297`, `"bytes": 0, "bits_per_second": 0`, 1),
		"empty":            "",
		"not JSON":         "iperf3: error - unable to connect to server",
	} {
		if r, err := parseIperf3([]byte(out)); err == nil {
			t.Errorf("%s: parseIperf3 = %+v, want an error", name, r)
		}
	}
}

func TestPacketsPerCore(t *testing.T) {
	tests := []struct {
		name   string
		r      iperfResult
		mtu    int
		fwdCPU time.Duration
		want   float64
	}{
		// MTU 1052 less 52 bytes of headers: 1e9 bytes in 1000-byte
		// segments over 2 s, 500k packets/s; iperf3 kept 1 core busy.
		{"iperf3 only", iperfResult{bytes: 1e9, seconds: 2, senderCPU: 60, receiverCPU: 40}, 1052, 0, 500e3},
		// The forwarders took another 1 s of CPU in 2 s: 1.5 cores.
		{"with forwarders", iperfResult{bytes: 1e9, seconds: 2, senderCPU: 60, receiverCPU: 40}, 1052, time.Second, 500e3 / 1.5},
		// MTU 65000: 64948-byte segments.
		{"mtu 65000", iperfResult{bytes: 64948e4, seconds: 1, senderCPU: 10, receiverCPU: 10}, 65000, 800 * time.Millisecond, 1e4},
		{"no cpu", iperfResult{bytes: 1e9, seconds: 2}, 1500, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := packetsPerCore(tt.r, tt.mtu, tt.fwdCPU); math.Abs(got-tt.want) > 1e-6*max(1, tt.want) {
				t.Errorf("packetsPerCore = %v, want %v", got, tt.want)
			}
		})
	}
}

// wantRecord is a record a quick run must return: its name and unit.
type wantRecord struct{ name, unit string }

// checkOneRun checks the records of a quick run of one repetition: want's
// names and units in order, on ActorSwarm, each valid with one positive
// sample and the parameters params; never the figures.
func checkOneRun(t *testing.T, recs []Record, want []wantRecord, params ...string) {
	t.Helper()
	if len(recs) != len(want) {
		t.Fatalf("Run returned %d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		r := recs[i]
		if err := r.Check(); err != nil {
			t.Error(err)
		}
		if r.Scenario != w.name || r.Unit != w.unit || r.Target != TargetActorSwarm {
			t.Errorf("record %d = %s in %s on %s, want %s in %s on %s", i, r.Scenario, r.Unit, r.Target, w.name, w.unit, TargetActorSwarm)
		}
		if len(r.Samples) != 1 || r.Samples[0] <= 0 {
			t.Errorf("%s: samples %v, want one positive figure", r.Scenario, r.Samples)
		}
		for _, k := range params {
			if r.Parameters[k] == "" {
				t.Errorf("%s: no parameter %q in %v", r.Scenario, k, r.Parameters)
			}
		}
	}
}

// requireOverlayLab skips the test unless it may build the lab: SWARM_E2E=1,
// root, and ip, iperf3 and ping installed.
func requireOverlayLab(t *testing.T) {
	t.Helper()
	requireRootWith(t, "overlay-throughput", "builds network namespaces and sends traffic through them", "ip", "iperf3", "ping")
}

// requireRootWith skips the test of scenario unless SWARM_E2E=1, it runs
// as root and tools are installed; what tells why it needs all that.
func requireRootWith(t *testing.T, scenario, what string, tools ...string) {
	t.Helper()
	if os.Getenv("SWARM_E2E") != "1" {
		t.Skipf("%s: set SWARM_E2E=1 (as root) to run it", what)
	}
	if os.Geteuid() != 0 {
		t.Skipf("%s needs root (network namespaces, TUN devices)", scenario)
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s needs %s: apt-get install -y iproute2 iperf3 iputils-ping util-linux", scenario, tool)
		}
	}
}

// checkNoOverlayNetns fails the test if a namespace of the lab is left.
func checkNoOverlayNetns(t *testing.T) {
	t.Helper()
	for _, ns := range []string{ovlNetnsA, ovlNetnsB} {
		if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
			t.Errorf("namespace %s left behind", ns)
		}
	}
}

// TestQuickOverlayThroughput runs overlay-throughput once through Run and
// checks its records (names, units, parameters, one positive sample
// each), its reports and that the lab is gone; never the figures.
func TestQuickOverlayThroughput(t *testing.T) {
	requireOverlayLab(t)
	out := t.TempDir()
	recs, err := Run(t.Context(), RunConfig{
		Scenarios: []string{"overlay-throughput"},
		Options:   Options{Quick: true, Repeat: 1, Log: testLog{t}},
		OutDir:    out,
	})
	checkNoOverlayNetns(t)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []wantRecord{
		{"overlay-throughput/overlay/gbits", "Gbit/s"},
		{"overlay-throughput/overlay/rtt", "ms"},
		{"overlay-throughput/overlay/rtt-warm", "ms"},
		{"overlay-throughput/overlay/rtt-flood", "ms"},
		{"overlay-throughput/overlay/rtt-one-cpu", "ms"},
		{"overlay-throughput/overlay/packets-per-core", "packets/s/core"},
		{"overlay-throughput/overlay/cpu-per-ping", "µs"},
		{"overlay-throughput/kernel-vxlan/gbits", "Gbit/s"},
		{"overlay-throughput/kernel-vxlan/rtt", "ms"},
		{"overlay-throughput/kernel-vxlan/rtt-warm", "ms"},
		{"overlay-throughput/kernel-vxlan/rtt-flood", "ms"},
		{"overlay-throughput/kernel-vxlan/rtt-one-cpu", "ms"},
		{"overlay-throughput/veth/gbits", "Gbit/s"},
		{"overlay-throughput/veth/rtt", "ms"},
		{"overlay-throughput/veth/rtt-warm", "ms"},
		{"overlay-throughput/veth/rtt-flood", "ms"},
		{"overlay-throughput/veth/rtt-one-cpu", "ms"},
	}
	if _, err := os.Stat(cpulatency.DevicePath); err == nil {
		want = append(want, wantRecord{"overlay-throughput/overlay-low-latency/rtt", "ms"},
			wantRecord{"overlay-throughput/overlay-low-latency/rtt-warm", "ms"})
	}
	checkOneRun(t, recs, want, "path", "mtu", "tool", "underlay", "note")
	for _, i := range []int{5, 6} {
		if recs[i].Parameters["formula"] == "" {
			t.Errorf("%s does not give its formula", recs[i].Scenario)
		}
	}

	f, err := os.Open(filepath.Join(out, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if read, err := ReadJSON(f); err != nil || len(read) != len(recs) {
		t.Errorf("%s: %d records, error %v; want %d records", JSONFile, len(read), err, len(recs))
	}
	md, err := os.ReadFile(filepath.Join(out, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	if rows := markdownRows(md); len(rows) != len(recs) {
		t.Errorf("%s has %d rows, want %d:\n%s", MarkdownFile, len(rows), len(recs), md)
	}
}

// TestOverlayThroughputCancelled cancels the scenario while it measures
// and checks that it returns the cancellation and leaves no namespace.
func TestOverlayThroughputCancelled(t *testing.T) {
	requireOverlayLab(t)
	ctx, cancel := context.WithCancelCause(t.Context())
	defer cancel(nil)
	stop := errors.New("cancelled by the test")
	// The first progress line comes once the lab is up and one
	// repetition done; 1.5 s later the second is inside the overlay's
	// iperf3 run (after 5 pings, before 2 s of iperf3 end), though any
	// point of it must tear down as well.
	log := progressHook{after: "run 1/", do: func() { time.AfterFunc(1500*time.Millisecond, func() { cancel(stop) }) }}
	_, err := runOverlayThroughput(ctx, Options{Quick: true, Repeat: 2, Log: &log})
	if !errors.Is(err, stop) {
		t.Errorf("runOverlayThroughput = %v, want the cancellation cause", err)
	}
	t.Logf("cancelled: %v", err)
	checkNoOverlayNetns(t)
}

// progressHook calls do once, when a progress line containing after is
// written.
type progressHook struct {
	after string
	do    func()
	done  bool
}

func (h *progressHook) Write(p []byte) (int, error) {
	if !h.done && strings.Contains(string(p), h.after) {
		h.done = true
		h.do()
	}
	return len(p), nil
}
