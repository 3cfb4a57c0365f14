package daemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/actorswarm/swarm/actors"
	"github.com/actorswarm/swarm/lb"
	"github.com/actorswarm/swarm/tunnel"
)

// lbCollector exposes the counters of this node's load balancers, read
// at each scrape: per published port, and per port and backend.
type lbCollector struct {
	reg *actors.LBRegistry

	accepted, rejected, portActive           *prometheus.Desc
	active, total, bytesIn, bytesOut, failed *prometheus.Desc
	suspect, draining                        *prometheus.Desc
}

func newLBCollector(reg *actors.LBRegistry) *lbCollector {
	port := []string{"port", "protocol"}
	backend := []string{"port", "protocol", "backend"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("actorswarm_lb_"+name, help, labels, nil)
	}
	return &lbCollector{
		reg:        reg,
		accepted:   d("accepted_total", "Connections accepted on a published port (UDP: sessions started).", port),
		rejected:   d("rejected_total", "Connections closed because no backend could be reached (UDP: datagrams dropped).", port),
		portActive: d("port_connections_active", "Connections open through a published port.", port),
		active:     d("connections_active", "Connections open to a backend.", backend),
		total:      d("connections_total", "Connections made to a backend.", backend),
		bytesIn:    d("bytes_in_total", "Bytes from clients to a backend.", backend),
		bytesOut:   d("bytes_out_total", "Bytes from a backend to clients.", backend),
		failed:     d("dial_failures_total", "Failed connection attempts to a backend.", backend),
		suspect:    d("backend_suspect", "1 while a backend is tried last after a failure.", backend),
		draining:   d("backend_draining", "1 while a removed backend's connections drain.", backend),
	}
}

// Describe implements prometheus.Collector.
func (c *lbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.accepted, c.rejected, c.portActive, c.active, c.total, c.bytesIn, c.bytesOut, c.failed, c.suspect, c.draining} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *lbCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.reg.Stats() {
		port := strconv.Itoa(p.Port)
		ch <- prometheus.MustNewConstMetric(c.accepted, prometheus.CounterValue, float64(p.Accepted), port, p.Protocol)
		ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.CounterValue, float64(p.Failed), port, p.Protocol)
		ch <- prometheus.MustNewConstMetric(c.portActive, prometheus.GaugeValue, float64(p.Active), port, p.Protocol)
		for _, b := range p.Backends {
			c.collectBackend(ch, port, p.Protocol, b)
		}
	}
}

func (c *lbCollector) collectBackend(ch chan<- prometheus.Metric, port, proto string, b lb.BackendStats) {
	labels := []string{port, proto, b.Backend}
	flag := func(on bool) float64 {
		if on {
			return 1
		}
		return 0
	}
	ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(b.Active), labels...)
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.CounterValue, float64(b.Total), labels...)
	ch <- prometheus.MustNewConstMetric(c.bytesIn, prometheus.CounterValue, float64(b.BytesIn), labels...)
	ch <- prometheus.MustNewConstMetric(c.bytesOut, prometheus.CounterValue, float64(b.BytesOut), labels...)
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(b.Failures), labels...)
	ch <- prometheus.MustNewConstMetric(c.suspect, prometheus.GaugeValue, flag(b.Suspect), labels...)
	ch <- prometheus.MustNewConstMetric(c.draining, prometheus.GaugeValue, flag(b.Draining), labels...)
}

// overlayStats is what /metrics shows of this host's overlay: the
// forwarder's counters and, with --overlay-low-latency, its CPU latency
// keeper.
type overlayStats struct {
	fwd        tunnel.Stats
	lowLatency bool
	held       bool
	holds      uint64
}

// overlayCollector exposes overlayStats, read at each scrape; nothing
// while no forwarder runs on this host.
type overlayCollector struct {
	stats func() (overlayStats, bool)

	packets, bytes, dropped, held, holds *prometheus.Desc
}

func newOverlayCollector(stats func() (overlayStats, bool)) *overlayCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("actorswarm_overlay_"+name, help, labels, nil)
	}
	return &overlayCollector{
		stats:   stats,
		packets: d("packets_total", "Inner packets the forwarder handed to the underlay (out) or to a TUN device (in).", "direction"),
		bytes:   d("bytes_total", "Bytes of those inner packets, without the encapsulation.", "direction"),
		dropped: d("dropped_total", "Packets and datagrams the forwarder dropped, by reason.", "reason"),
		held:    d("cpu_latency_held", "1 while --overlay-low-latency holds the CPU latency at 0 µs (idle CPUs poll)."),
		holds:   d("cpu_latency_holds_total", "Times --overlay-low-latency started holding the CPU latency at 0 µs."),
	}
}

// Describe implements prometheus.Collector.
func (c *overlayCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.packets, c.bytes, c.dropped, c.held, c.holds} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *overlayCollector) Collect(ch chan<- prometheus.Metric) {
	s, ok := c.stats()
	if !ok {
		return
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.packets, s.fwd.PacketsOut, "out")
	counter(c.packets, s.fwd.PacketsIn, "in")
	counter(c.bytes, s.fwd.BytesOut, "out")
	counter(c.bytes, s.fwd.BytesIn, "in")
	d := s.fwd.Drops
	for _, r := range []struct {
		reason string
		n      uint64
	}{
		{"unknown_vni", d.UnknownVNI}, {"not_peer", d.NotPeer}, {"malformed", d.Malformed}, {"no_route", d.NoRoute},
		{"not_local", d.NotLocal}, {"loop", d.Loop}, {"send_error", d.SendError}, {"device_error", d.DeviceError},
	} {
		counter(c.dropped, r.n, r.reason)
	}
	if s.lowLatency {
		held := 0.0
		if s.held {
			held = 1
		}
		ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, held)
		counter(c.holds, s.holds)
	}
}

// serveMetrics serves /metrics on the metrics address, unless it is off.
// A port it cannot bind is logged; the node runs on without metrics.
func (d *Daemon) serveMetrics() {
	addr := d.cfg.MetricsAddr
	if addr == "" || addr == MetricsOff {
		return
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newLBCollector(d.lbs), newOverlayCollector(d.overlay.stats),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		d.log.Warn("metrics not served", "addr", addr, "err", err)
		return
	}
	d.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := d.metricsSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Warn("metrics server stopped", "err", err)
		}
	}()
}

func (d *Daemon) stopMetrics() {
	if d.metricsSrv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = d.metricsSrv.Shutdown(ctx)
}
