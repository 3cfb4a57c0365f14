package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config is what swarmd was started with.
type Config struct {
	DataDir   string
	Addr      string
	Port      int
	RaftPort  int
	VXLANPort int
	Hostname  string
	Runtimes  []string
	// DetectDocker adds the docker runtime when an engine answers; set by
	// Validate when no runtime was named.
	DetectDocker bool
	Heartbeat    time.Duration
	// MetricsAddr is where /metrics is served (IP:port); empty means
	// Addr:DefaultMetricsPort, MetricsOff none.
	MetricsAddr   string
	ServiceShards int
	// RaftTick is the Raft tick of this manager's replicas (0: the
	// default, 20ms); an election takes 10 ticks without a leader.
	RaftTick time.Duration
	// SimNodes is how many simulated nodes this swarmd hosts once it is a
	// manager (swarmd --sim-nodes, for scale benchmarks; see sim.go).
	SimNodes int
	// ClockSkewFile, when set, names a file holding how far this
	// swarmd's wall clock is from the system's, as a duration ("-1h"):
	// read every 100 ms, so that a benchmark can make one daemon's clock
	// jump (swarmd --clock-skew-file; see clockskew.go).
	ClockSkewFile string
	// OverlayLowLatency keeps idle CPUs polling rather than halting while
	// overlay packets flow through this host (swarmd
	// --overlay-low-latency, see internal/cpulatency): shorter round trips
	// through the forwarder for idle CPU time. Linux and root only.
	OverlayLowLatency bool
	Version           string
	Logger            *slog.Logger
}

// Metrics defaults: the port of Docker's --metrics-addr convention, and
// the --metrics-addr value that turns metrics off.
const (
	DefaultMetricsPort = 9323
	MetricsOff         = "none"
)

// Validate fills defaults and checks the values.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		c.DataDir = "/var/lib/actorswarm"
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	c.DataDir = abs
	if c.Addr == "" {
		a, err := DefaultAddr()
		if err != nil {
			return err
		}
		c.Addr = a
	}
	ip, err := netip.ParseAddr(c.Addr)
	if err != nil || !ip.Is4() {
		return fmt.Errorf("--addr %q: not an IPv4 address", c.Addr)
	}
	for name, p := range map[string]int{"--port": c.Port, "--raft-port": c.RaftPort, "--vxlan-port": c.VXLANPort} {
		if p <= 0 || p > 65535 {
			return fmt.Errorf("%s %d: out of range 1-65535", name, p)
		}
	}
	if c.Port == c.RaftPort {
		return errors.New("--port and --raft-port must differ")
	}
	switch c.MetricsAddr {
	case MetricsOff:
	case "":
		c.MetricsAddr = net.JoinHostPort(c.Addr, strconv.Itoa(DefaultMetricsPort))
	default:
		if _, err := netip.ParseAddrPort(c.MetricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr %q: want IP:port, or %q: %w", c.MetricsAddr, MetricsOff, err)
		}
	}
	if c.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("hostname: %w", err)
		}
		c.Hostname = h
	}
	if len(c.Runtimes) == 0 {
		c.Runtimes = []string{"process"}
		c.DetectDocker = true
	}
	for _, r := range c.Runtimes {
		switch r {
		case "process", "docker", "sim":
		default:
			return fmt.Errorf("--runtime %q: unknown runtime (process, docker, sim)", r)
		}
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 100 * time.Millisecond
	}
	if c.Heartbeat < 10*time.Millisecond || c.Heartbeat > time.Minute {
		return fmt.Errorf("--heartbeat %s: must be between 10ms and 1m", c.Heartbeat)
	}
	if c.RaftTick != 0 && (c.RaftTick < 5*time.Millisecond || c.RaftTick > time.Second) {
		return fmt.Errorf("--raft-tick %s: must be between 5ms and 1s", c.RaftTick)
	}
	if c.SimNodes < 0 || c.SimNodes > 1_000_000 {
		return fmt.Errorf("--sim-nodes %d: out of range 0-1000000", c.SimNodes)
	}
	if c.ServiceShards <= 0 {
		c.ServiceShards = 4
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// GatewayAddr is IP:port of the gateway and actor remote.
func (c *Config) GatewayAddr() string { return net.JoinHostPort(c.Addr, strconv.Itoa(c.Port)) }

// RaftAddr is IP:port of Raft.
func (c *Config) RaftAddr() string { return net.JoinHostPort(c.Addr, strconv.Itoa(c.RaftPort)) }

// DefaultAddr returns the first non-loopback IPv4 address of this host.
func DefaultAddr() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", fmt.Errorf("list addresses: %w", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String(), nil
		}
	}
	return "", errors.New("no non-loopback IPv4 address: pass --addr")
}

func (c *Config) description() (cpus, memory int64, osName, arch string) {
	cpus = int64(runtime.NumCPU()) * 1e9
	memory = memTotal()
	arch = runtime.GOARCH
	if arch == "amd64" {
		arch = "x86_64"
	}
	return cpus, memory, runtime.GOOS, arch
}

func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, _ := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
