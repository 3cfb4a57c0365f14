package tunnel

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/actorswarm/swarm/tunnel/tunneltest"
)

// The lab: namespaces tnt-a and tnt-b joined by a veth pair on the
// underlay 10.201.0.0/24, each with a forwarder on port 4789 and a TUN
// ovl0 on the overlay 10.77.0.0/24. tnt-b also has 10.201.0.3, which is not
// a peer.
var (
	underA  = netip.MustParseAddr("10.201.0.1")
	underB  = netip.MustParseAddr("10.201.0.2")
	notPeer = netip.MustParseAddr("10.201.0.3")
)

const labVNI = 4242

type lab struct {
	a, b *Forwarder
}

type side struct {
	ns           string
	under, other netip.Addr
	ovl, otherOv netip.Addr
}

// newLab builds the lab; cfg gives the forwarders' MTU (also the TUNs')
// and options, the addresses are filled in. With offload the TUNs are
// opened by OpenOffloadTUN (and must get offloads), else by OpenTUN.
func newLab(t *testing.T, cfg Config, offload bool) *lab {
	t.Helper()
	requireRoot(t)
	leakCheck(t)
	netns(t, "tnt-a")
	netns(t, "tnt-b")
	mustOK(t, InNetns("tnt-a", func() error {
		if err := CreateVeth("tnt-ua", "tnt-ub", "tnt-b"); err != nil {
			return err
		}
		return ConfigureLink("tnt-ua", netip.PrefixFrom(underA, 24), 1500)
	}))
	mustOK(t, InNetns("tnt-b", func() error {
		if err := ConfigureLink("tnt-ub", netip.PrefixFrom(underB, 24), 1500); err != nil {
			return err
		}
		return ip("addr", "add", netip.PrefixFrom(notPeer, 24).String(), "dev", "tnt-ub")
	}))
	return &lab{
		a: startSide(t, side{"tnt-a", underA, underB, ovlA, ovlB}, cfg, offload),
		b: startSide(t, side{"tnt-b", underB, underA, ovlB, ovlA}, cfg, offload),
	}
}

// startSide creates the TUN and the forwarder inside the side's namespace.
func startSide(t *testing.T, s side, cfg Config, offload bool) *Forwarder {
	t.Helper()
	var f *Forwarder
	mustOK(t, InNetns(s.ns, func() error {
		var qs []io.ReadWriteCloser
		if offload {
			tq, err := OpenOffloadTUN("ovl0", 1)
			if err != nil {
				return err
			}
			if !tq[0].Offload() {
				tq[0].Close()
				return errors.New("the TUN got no offloads")
			}
			qs = append(qs, tq[0])
		} else {
			wq, err := OpenTUN("ovl0", 1)
			if err != nil {
				return err
			}
			qs = append(qs, wq[0])
		}
		if err := ConfigureLink("ovl0", netip.PrefixFrom(s.ovl, 24), cfg.MTU); err != nil {
			qs[0].Close()
			return err
		}
		cfg.ListenAddr = netip.AddrPortFrom(s.under, DefaultPort)
		cfg.Peers = []netip.Addr{s.other}
		var err error
		f, err = NewForwarder(cfg)
		if err != nil {
			qs[0].Close()
			return err
		}
		err = f.SetEndpoints(labVNI, map[netip.Addr]netip.AddrPort{
			s.ovl:     {},
			s.otherOv: netip.AddrPortFrom(s.other, DefaultPort),
		})
		if err == nil {
			err = f.AddNetwork(labVNI, qs[0])
		}
		if err != nil {
			qs[0].Close()
			f.Close()
		}
		return err
	}))
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("close forwarder in %s: %v", s.ns, err)
		}
	})
	return f
}

func TestOverlay(t *testing.T) {
	for _, c := range []struct {
		mtu     int
		offload bool
	}{{1450, false}, {65000, false}, {1450, true}, {65000, true}} {
		t.Run(fmt.Sprintf("mtu=%d/offload=%v", c.mtu, c.offload), func(t *testing.T) {
			l := newLab(t, Config{MTU: c.mtu}, c.offload)
			t.Run("ping", func(t *testing.T) {
				ping(t, "tnt-a", ovlB, 3, 56)
				ping(t, "tnt-a", ovlB, 2, 20000) // fragmented on the underlay
			})
			t.Run("tcp", func(t *testing.T) { tcpTransfer(t, 8<<20) })
			t.Run("not a peer", func(t *testing.T) {
				before := l.a.Stats().Drops.NotPeer
				sendIn(t, "tnt-b", notPeer, encap(t, labVNI, tunneltest.Ping(ovlB, ovlA, 1, nil)))
				eventually(t, "not-peer drop", func() bool { return l.a.Stats().Drops.NotPeer == before+1 })
			})
			t.Run("garbage", func(t *testing.T) {
				before := l.a.Stats().Drops.Malformed
				sendIn(t, "tnt-b", underB, []byte("\x08\x00\x00\x00 definitely not a VXLAN datagram"))
				eventually(t, "malformed drop", func() bool { return l.a.Stats().Drops.Malformed == before+1 })
			})
			t.Run("unknown vni", func(t *testing.T) {
				before := l.a.Stats().Drops.UnknownVNI
				sendIn(t, "tnt-b", underB, encap(t, labVNI+1, tunneltest.Ping(ovlB, ovlA, 1, nil)))
				eventually(t, "unknown-VNI drop", func() bool { return l.a.Stats().Drops.UnknownVNI == before+1 })
			})
			sa, sb := l.a.Stats(), l.b.Stats()
			t.Logf("tnt-a: %+v", sa)
			t.Logf("tnt-b: %+v", sb)
			if sa.PacketsOut == 0 || sb.PacketsIn == 0 || sa.Drops.DeviceError+sb.Drops.SendError != 0 {
				t.Errorf("counters: a %+v, b %+v", sa, sb)
			}
		})
	}
}

// ping sends count echo requests of size bytes of data from namespace ns to
// dst and requires every reply: with the ping command when it is
// installed, else with an ICMP socket of our own.
func ping(t *testing.T, ns string, dst netip.Addr, count, size int) {
	t.Helper()
	if _, err := exec.LookPath("ping"); err == nil {
		start := time.Now()
		defer func() { t.Logf("ping -s %d: %v", size, time.Since(start)) }()
		out := run(t, "ip", "netns", "exec", ns, "ping", "-c", strconv.Itoa(count), "-i", "0.2",
			"-W", "5", "-s", strconv.Itoa(size), dst.String())
		if !strings.Contains(out, fmt.Sprintf("%d received", count)) {
			t.Fatalf("ping lost replies:\n%s", out)
		}
		return
	}
	t.Log("no ping command: pinging with an ICMP socket")
	var c *icmp.PacketConn
	mustOK(t, InNetns(ns, func() (err error) {
		c, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}))
	defer c.Close()
	id := os.Getpid() & 0xffff
	for seq := range count {
		req, err := (&icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{
			ID: id, Seq: seq, Data: bytes.Repeat([]byte{byte(seq)}, size),
		}}).Marshal(nil)
		mustOK(t, err)
		_, err = c.WriteTo(req, &net.IPAddr{IP: dst.AsSlice()})
		mustOK(t, err)
		mustOK(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		buf := make([]byte, 65536)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				t.Fatalf("ping %s seq %d: %v", dst, seq, err)
			}
			m, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || m.Type != ipv4.ICMPTypeEchoReply || from.String() != dst.String() {
				continue
			}
			if e, ok := m.Body.(*icmp.Echo); ok && e.ID == id && e.Seq == seq && len(e.Data) == size {
				break
			}
		}
	}
}

// tcpTransfer sends n random bytes from tnt-a to a server in tnt-b over the
// overlay and checks the server's SHA-256 of what it received.
func tcpTransfer(t *testing.T, n int) {
	var ln net.Listener
	mustOK(t, InNetns("tnt-b", func() (err error) {
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(ovlB, 0).String())
		return err
	}))
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Minute))
		h := sha256.New()
		if _, err := io.Copy(h, c); err != nil {
			served <- err
			return
		}
		_, err = c.Write(h.Sum(nil))
		served <- err
	}()

	var c net.Conn
	mustOK(t, InNetns("tnt-a", func() (err error) {
		c, err = net.DialTimeout("tcp4", ln.Addr().String(), 10*time.Second)
		return err
	}))
	defer c.Close()
	mustOK(t, c.SetDeadline(time.Now().Add(time.Minute)))
	data := make([]byte, n)
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	start := time.Now()
	_, err := c.Write(data)
	mustOK(t, err)
	mustOK(t, c.(*net.TCPConn).CloseWrite())
	got, err := io.ReadAll(c)
	mustOK(t, err)
	mustOK(t, <-served)
	want := sha256.Sum256(data)
	if !bytes.Equal(got, want[:]) {
		t.Fatalf("server got different data (seed %d)", seed)
	}
	t.Logf("%d MiB in %v", n>>20, time.Since(start).Round(time.Millisecond))
}

// sendIn sends one datagram from src (an address of namespace ns) to
// tnt-a's forwarder.
func sendIn(t *testing.T, ns string, src netip.Addr, datagram []byte) {
	t.Helper()
	mustOK(t, InNetns(ns, func() error {
		c, err := net.DialUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)),
			net.UDPAddrFromAddrPort(netip.AddrPortFrom(underA, DefaultPort)))
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Write(datagram)
		return err
	}))
}

// TestIperf measures single-stream TCP throughput with iperf3 for 5 s over
// the overlay at several TUN MTUs and over the bare veth. It runs only with
// TUNNEL_IPERF=1 (go test -run TestIperf -v ./tunnel/).
func TestIperf(t *testing.T) {
	if os.Getenv("TUNNEL_IPERF") != "1" {
		t.Skip("skipped: set TUNNEL_IPERF=1 to measure throughput with iperf3")
	}
	if _, err := exec.LookPath("iperf3"); err != nil {
		t.Skip("skipped: iperf3 is not installed")
	}
	secs := 5
	if s, err := strconv.Atoi(os.Getenv("TUNNEL_IPERF_SECONDS")); err == nil && s > 0 {
		secs = s
	}
	type result struct {
		name string
		gbps float64
		retr int
	}
	var results []result
	cases := []struct {
		name    string
		cfg     Config
		offload bool
		dst     netip.Addr
	}{
		{"overlay/mtu=1450", Config{MTU: 1450}, false, ovlB},
		{"overlay/mtu=1450/gso=off", Config{MTU: 1450, DisableGSO: true}, false, ovlB},
		{"overlay/mtu=9000", Config{MTU: 9000}, false, ovlB},
		{"overlay/mtu=65000", Config{MTU: 65000}, false, ovlB},
		{"overlay/mtu=1450/offload", Config{MTU: 1450}, true, ovlB},
		{"overlay/mtu=65000/offload", Config{MTU: 65000}, true, ovlB},
		{"veth/mtu=1500", Config{MTU: 1450}, false, underB},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLab(t, c.cfg, c.offload)
			gbps, retr := iperf(t, c.dst, secs)
			results = append(results, result{c.name, gbps, retr})
			t.Logf("%s: %.2f Gbit/s, %d retransmits; tnt-a %+v", c.name, gbps, retr, l.a.Stats())
			// Where the kernel dropped packets, if anywhere: the TUN's queue
			// (TX dropped in tnt-a) or a socket buffer (UDP errors in tnt-b).
			t.Logf("tnt-a ovl0:\n%s", run(t, "ip", "-n", "tnt-a", "-s", "link", "show", "ovl0"))
			t.Logf("tnt-b UDP:\n%s", run(t, "ip", "netns", "exec", "tnt-b", "cat", "/proc/net/snmp"))
		})
	}
	for _, r := range results {
		fmt.Printf("iperf3 single TCP stream %ds  %-20s %6.2f Gbit/s  (%d retransmits)\n", secs, r.name, r.gbps, r.retr)
	}
}

// iperf runs an iperf3 server in tnt-b on dst and a client in tnt-a and
// returns the received rate in Gbit/s and the sender's retransmits.
func iperf(t *testing.T, dst netip.Addr, secs int) (float64, int) {
	t.Helper()
	srv := exec.Command("ip", "netns", "exec", "tnt-b", "iperf3", "-s", "-1", "--forceflush", "-B", dst.String())
	stdout, err := srv.StdoutPipe()
	mustOK(t, err)
	mustOK(t, srv.Start())
	defer func() {
		srv.Process.Kill()
		srv.Wait()
	}()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Server listening") {
				close(ready)
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case <-ready:
	case <-time.After(waitTimeout):
		t.Fatal("iperf3 server did not start")
	}
	out := run(t, "ip", "netns", "exec", "tnt-a", "iperf3", "-c", dst.String(), "-t", strconv.Itoa(secs), "-J")
	var rep struct {
		End struct {
			SumSent struct {
				Retransmits int `json:"retransmits"`
			} `json:"sum_sent"`
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("iperf3 output: %v\n%s", err, out)
	}
	return rep.End.SumReceived.BitsPerSecond / 1e9, rep.End.SumSent.Retransmits
}
