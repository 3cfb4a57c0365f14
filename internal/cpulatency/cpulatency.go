// Package cpulatency keeps idle CPUs ready to run at once while a host
// forwards overlay packets, through Linux's CPU latency QoS device
// (/dev/cpu_dma_latency).
//
// A packet through a userspace forwarder wakes a sleeping thread at each
// hop. Where idle CPUs halt, as on a virtual machine, the wake-up of a
// thread placed on a halted CPU waits for that CPU to come back: 37-40 µs
// measured on the 2-vCPU development VM, more than the forwarding itself.
// A CPU latency request of 0 µs makes idle CPUs poll instead of halting,
// but while it stands they spend their idle time polling (a host sees
// such a VM's CPUs busy). A Keeper therefore holds the request only while
// a packet counter moves, and lets it go after a quiet spell.
//
// The kernel keeps a request while its file is open and drops it when the
// file is closed or the process ends, also by a crash: nothing is left
// behind. Opening the device alone constrains nothing.
//
// Concurrency: a Keeper's goroutine owns the device and its decisions;
// Held, Holds and Close are safe from any goroutine.
package cpulatency

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DevicePath is Linux's CPU latency QoS device.
const DevicePath = "/dev/cpu_dma_latency"

// NoConstraint is the kernel's default CPU latency in µs
// (PM_QOS_CPU_LATENCY_DEFAULT_VALUE): a request of it constrains nothing.
const NoConstraint int32 = 2000 * 1000 * 1000

// Defaults of Config: traffic is seen within 100 ms, and the request
// stands through gaps of up to 2 s, so that one packet a second (ping's
// pace, a health check's) keeps it.
const (
	DefaultPeriod = 100 * time.Millisecond
	DefaultQuiet  = 2 * time.Second
)

// OpenDevice opens path (DevicePath but in tests) for writing requests.
func OpenDevice(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("CPU latency QoS device: %w", err)
	}
	return f, nil
}

// Current reads the latency target in µs that the kernel applies now: the
// smallest request of all processes, NoConstraint when none constrains.
func Current(path string) (int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("CPU latency QoS device: %w", err)
	}
	defer f.Close()
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return int32(binary.NativeEndian.Uint32(b[:])), nil
}

// Config says what a Keeper watches and how fast it reacts.
type Config struct {
	// Count returns a counter that moves while there is traffic (packets
	// forwarded in either direction). Required.
	Count func() uint64
	// Period is how often Count is read. Zero means DefaultPeriod.
	Period time.Duration
	// Quiet is how long Count must stand still before the request is let
	// go. Zero means DefaultQuiet.
	Quiet time.Duration
	// Logger receives changes of the request (debug) and failed writes
	// (a warning, once until a write succeeds again). Nil discards them.
	Logger *slog.Logger
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	switch {
	case c.Count == nil:
		return errors.New("cpulatency: no Count")
	case c.Period < 0 || c.Quiet < 0:
		return errors.New("cpulatency: negative Period or Quiet")
	}
	return nil
}

// Keeper holds a CPU latency request of 0 µs while Config.Count moves and
// NoConstraint after Config.Quiet without a move.
type Keeper struct {
	dev  io.WriteCloser
	cfg  Config
	held atomic.Bool
	// holds counts the times the request went to 0.
	holds atomic.Uint64
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once
	err   error
}

// NewKeeper starts a Keeper writing its requests to dev (an OpenDevice
// file, or a fake); the Keeper owns dev and closes it in Close.
func NewKeeper(dev io.WriteCloser, cfg Config) (*Keeper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Period == 0 {
		cfg.Period = DefaultPeriod
	}
	if cfg.Quiet == 0 {
		cfg.Quiet = DefaultQuiet
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	k := &Keeper{dev: dev, cfg: cfg, stop: make(chan struct{}), done: make(chan struct{})}
	// Read now: a move right after NewKeeper returns is a move.
	g := governor{quiet: cfg.Quiet}
	g.start(cfg.Count(), time.Now())
	go k.run(g)
	return k, nil
}

// Held reports whether the request of 0 µs stands.
func (k *Keeper) Held() bool { return k.held.Load() }

// Holds returns how many times the request went to 0 µs.
func (k *Keeper) Holds() uint64 { return k.holds.Load() }

// Close stops the Keeper and closes the device, which ends its request.
func (k *Keeper) Close() error {
	k.once.Do(func() {
		close(k.stop)
		<-k.done
		k.held.Store(false)
		k.err = k.dev.Close()
	})
	return k.err
}

func (k *Keeper) run(g governor) {
	defer close(k.done)
	t := time.NewTicker(k.cfg.Period)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-k.stop:
			return
		case now := <-t.C:
			v, ok := g.observe(k.cfg.Count(), now)
			if !ok {
				continue
			}
			if err := k.write(v); err != nil {
				// Undo the governor's change: the next reading
				// that calls for it tries again.
				g.held = !g.held
				if !failing {
					k.cfg.Logger.Warn("CPU latency request not written", "latency_us", v, "err", err)
				}
				failing = true
				continue
			}
			failing = false
			k.held.Store(v == 0)
			if v == 0 {
				k.holds.Add(1)
				k.cfg.Logger.Debug("traffic: idle CPUs poll (CPU latency 0 µs)")
			} else {
				k.cfg.Logger.Debug("quiet: idle CPUs may halt again", "quiet", k.cfg.Quiet)
			}
		}
	}
}

func (k *Keeper) write(v int32) error {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(v))
	_, err := k.dev.Write(b[:])
	return err
}

// governor decides the requests from the counter's readings: pure, its
// clock given.
type governor struct {
	quiet time.Duration
	last  uint64
	moved time.Time
	held  bool
}

func (g *governor) start(count uint64, now time.Time) {
	g.last, g.moved = count, now
}

// observe takes a reading and returns the request to write, if it changes:
// 0 when the counter moved and no request stands, NoConstraint when it
// has stood still for quiet while one stands.
func (g *governor) observe(count uint64, now time.Time) (int32, bool) {
	if count != g.last {
		g.last, g.moved = count, now
		if !g.held {
			g.held = true
			return 0, true
		}
		return 0, false
	}
	if g.held && now.Sub(g.moved) >= g.quiet {
		g.held = false
		return NoConstraint, true
	}
	return 0, false
}
