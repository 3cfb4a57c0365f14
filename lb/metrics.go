package lb

import (
	"fmt"
	"io"
	"net"
	"strconv"
)

// PortStats is a snapshot of one listener's counters.
type PortStats struct {
	Protocol string // "tcp" or "udp"
	Port     int    // the listening port
	// Accepted counts connections accepted (UDP: sessions started); Failed
	// those closed because no backend could be reached (UDP: datagrams
	// dropped because no session could start).
	Accepted, Failed uint64
	// Active, BytesIn (client to backend) and BytesOut (backend to client)
	// add up every backend's, including backends since forgotten.
	Active            int64
	BytesIn, BytesOut uint64
	// Backends lists the current backends in their order, then the removed
	// ones still draining.
	Backends []BackendStats
}

// BackendStats is a snapshot of one backend's counters. For UDP a
// connection is a session.
type BackendStats struct {
	Backend  string // IP:port
	Active   int64  // connections open
	Total    uint64 // connections made
	BytesIn  uint64 // client to backend
	BytesOut uint64 // backend to client
	Failures uint64 // failed dials (UDP: failed sockets)
	Suspect  bool   // tried last after a failure
	Draining bool   // removed, connections still open
}

func (p *pool) portStats(proto string, addr net.Addr, accepted, failed uint64) PortStats {
	s := PortStats{
		Protocol: proto,
		Accepted: accepted,
		Failed:   failed,
		BytesIn:  p.bytesIn.Load(),
		BytesOut: p.bytesOut.Load(),
		Backends: p.stats(),
	}
	switch a := addr.(type) {
	case *net.TCPAddr:
		s.Port = a.Port
	case *net.UDPAddr:
		s.Port = a.Port
	}
	for _, b := range s.Backends {
		s.Active += b.Active
	}
	return s
}

// Label is a Prometheus label added to every line WritePrometheus writes,
// such as the node's ID.
type Label struct{ Name, Value string }

// metric is one metric family of the exposition.
type metric struct {
	name, help, kind string
	port             func(PortStats) uint64    // a per-port metric, or
	backend          func(BackendStats) uint64 // a per-backend one
}

// metrics are the families WritePrometheus writes, in order.
var metrics = [...]metric{
	{
		name: "actorswarm_lb_accepted_total",
		kind: "counter",
		help: "Connections accepted (UDP: sessions started) on a published port.",
		port: func(p PortStats) uint64 { return p.Accepted },
	},
	{
		name: "actorswarm_lb_rejected_total",
		kind: "counter",
		help: "Connections closed (UDP: datagrams dropped) because no backend could be reached.",
		port: func(p PortStats) uint64 { return p.Failed },
	},
	{
		name:    "actorswarm_lb_connections_active",
		kind:    "gauge",
		help:    "Open connections (UDP: sessions) to a backend.",
		backend: func(b BackendStats) uint64 { return uint64(b.Active) },
	},
	{
		name:    "actorswarm_lb_connections_total",
		kind:    "counter",
		help:    "Connections (UDP: sessions) made to a backend.",
		backend: func(b BackendStats) uint64 { return b.Total },
	},
	{
		name:    "actorswarm_lb_bytes_in_total",
		kind:    "counter",
		help:    "Bytes from clients to a backend.",
		backend: func(b BackendStats) uint64 { return b.BytesIn },
	},
	{
		name:    "actorswarm_lb_bytes_out_total",
		kind:    "counter",
		help:    "Bytes from a backend to clients.",
		backend: func(b BackendStats) uint64 { return b.BytesOut },
	},
	{
		name:    "actorswarm_lb_dial_failures_total",
		kind:    "counter",
		help:    "Failed connects (UDP: failed sockets) to a backend.",
		backend: func(b BackendStats) uint64 { return b.Failures },
	},
	{
		name:    "actorswarm_lb_backend_suspect",
		kind:    "gauge",
		help:    "1 while a backend is tried last after a failed connect.",
		backend: func(b BackendStats) uint64 { return one(b.Suspect) },
	},
	{
		name:    "actorswarm_lb_backend_draining",
		kind:    "gauge",
		help:    "1 while a removed backend still has connections open.",
		backend: func(b BackendStats) uint64 { return one(b.Draining) },
	},
}

func one(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// WritePrometheus writes the counters of ports in the Prometheus text
// exposition format (version 0.0.4): each metric's HELP and TYPE once,
// then one line per port or per backend, labelled with labels, then
// port, protocol and backend. It fails on an invalid label name or a
// failed write.
func WritePrometheus(w io.Writer, ports []PortStats, labels ...Label) error {
	var prefix []byte
	for _, l := range labels {
		if !validLabel(l.Name) {
			return fmt.Errorf("lb: invalid Prometheus label name %q", l.Name)
		}
		prefix = appendLabel(prefix, l.Name, l.Value)
	}
	var b []byte
	for _, m := range metrics {
		b = append(b, "# HELP "...)
		b = append(b, m.name...)
		b = append(b, ' ')
		b = append(b, m.help...)
		b = append(b, "\n# TYPE "...)
		b = append(b, m.name...)
		b = append(b, ' ')
		b = append(b, m.kind...)
		b = append(b, '\n')
		for _, p := range ports {
			port := strconv.Itoa(p.Port)
			if m.port != nil {
				b = appendSample(b, m.name, prefix, port, p.Protocol, "", m.port(p))
				continue
			}
			for _, be := range p.Backends {
				b = appendSample(b, m.name, prefix, port, p.Protocol, be.Backend, m.backend(be))
			}
		}
	}
	_, err := w.Write(b)
	return err
}

func appendSample(b []byte, name string, prefix []byte, port, proto, backend string, v uint64) []byte {
	b = append(b, name...)
	b = append(b, '{')
	b = append(b, prefix...)
	b = appendLabel(b, "port", port)
	b = appendLabel(b, "protocol", proto)
	if backend != "" {
		b = appendLabel(b, "backend", backend)
	}
	b[len(b)-1] = '}'
	b = append(b, ' ')
	b = strconv.AppendUint(b, v, 10)
	return append(b, '\n')
}

// appendLabel appends name="value", with the value escaped as the format
// requires.
func appendLabel(b []byte, name, value string) []byte {
	b = append(b, name...)
	b = append(b, '=', '"')
	for i := 0; i < len(value); i++ {
		switch c := value[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"', ',')
}

func validLabel(name string) bool {
	if name == "" || name == "port" || name == "protocol" || name == "backend" {
		return false
	}
	for i, c := range name {
		ok := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}
