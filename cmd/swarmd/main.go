// Command swarmd is the ActorSwarm node daemon: started alone it is an
// unjoined engine; `swarmctl swarm init` or `swarmctl swarm join` make it
// part of a swarm.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/actorswarm/swarm/daemon"
	"github.com/actorswarm/swarm/internal/version"
)

func main() {
	// A task on overlay networks starts through swarmd itself: enter its
	// network namespace, then become the task's program.
	daemon.RunTaskInit()
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "swarmd:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := pflag.NewFlagSet("swarmd", pflag.ContinueOnError)
	var (
		cfg      daemon.Config
		runtimes string
		logLevel string
		showVer  bool
	)
	fs.StringVar(&cfg.DataDir, "data-dir", "/var/lib/actorswarm", "state, certificates, Raft log and admin socket")
	fs.StringVar(&cfg.Addr, "addr", "", "IPv4 address to listen on and advertise (default: the first non-loopback IPv4)")
	fs.IntVar(&cfg.Port, "port", 2377, "gateway and actor remote port")
	fs.IntVar(&cfg.RaftPort, "raft-port", 2378, "Raft port (managers)")
	fs.IntVar(&cfg.VXLANPort, "vxlan-port", 4789, "overlay VXLAN UDP port")
	fs.StringVar(&cfg.Hostname, "hostname", "", "node hostname (default: the host's)")
	fs.StringVar(&runtimes, "runtime", "", "runtimes this node offers, comma-separated: process, docker, sim (default: process, plus docker when a Docker engine answers)")
	fs.DurationVar(&cfg.Heartbeat, "heartbeat", 0, "heartbeat period (default 100ms)")
	fs.DurationVar(&cfg.RaftTick, "raft-tick", 0, "Raft tick of a manager (default 20ms); a leader is replaced after 10 ticks of silence")
	fs.IntVar(&cfg.SimNodes, "sim-nodes", 0, "host this many simulated nodes (sim runtime) once this node is a manager; for scale benchmarks")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", `where to serve Prometheus /metrics, IP:port, or "none" (default: --addr:9323)`)
	fs.BoolVar(&cfg.OverlayLowLatency, "overlay-low-latency", false, "while overlay packets flow through this host, keep idle CPUs polling instead of halting (Linux CPU latency QoS, root): shorter round trips through the overlay for idle CPU time")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.BoolVar(&showVer, "version", false, "print the version and exit")
	// A benchmark's seam (swarmbench clock-jump), not for users: the file
	// holds how far this daemon's wall clock is from the system's.
	fs.StringVar(&cfg.ClockSkewFile, "clock-skew-file", "", "file holding a skew of this daemon's wall clock, such as -1h (testing)")
	_ = fs.MarkHidden("clock-skew-file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if showVer {
		fmt.Println("swarmd version", version.Version)
		return nil
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: %w", logLevel, err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	for _, r := range strings.Split(runtimes, ",") {
		if r = strings.TrimSpace(r); r != "" {
			cfg.Runtimes = append(cfg.Runtimes, r)
		}
	}
	cfg.Version = version.Version

	d, err := daemon.New(cfg)
	if err != nil {
		return err
	}
	if err := d.Start(); err != nil {
		d.Close()
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sig:
		cfg.Logger.Info("shutting down", "signal", s.String())
		d.Close()
		return nil
	case err := <-d.Fatal():
		// No Close: closing Raft writes to the full disk and would panic.
		// The process ends as a crash would, its data as last written.
		return err
	}
}
