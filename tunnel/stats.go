package tunnel

import "sync/atomic"

// Stats are a forwarder's counters since it started. "Out" is the
// direction TUN → underlay, "In" underlay → TUN; packets and bytes count
// inner IPv4 packets (without the 50 bytes of encapsulation) that were
// handed to the socket or to a TUN device.
type Stats struct {
	PacketsOut, BytesOut uint64
	PacketsIn, BytesIn   uint64
	Drops                Drops
}

// Drops counts packets and datagrams that were dropped, by reason.
type Drops struct {
	// UnknownVNI: a datagram for a VNI with no network on this host.
	UnknownVNI uint64
	// NotPeer: a datagram whose source IP is not a cluster peer.
	NotPeer uint64
	// Malformed: a datagram that Decap rejects or that was truncated, or a
	// packet read from a TUN that is not a well-formed IPv4 packet.
	Malformed uint64
	// NoRoute: a packet read from a TUN for an address with no endpoint.
	NoRoute uint64
	// NotLocal: a datagram whose inner destination is not a local endpoint
	// of its network.
	NotLocal uint64
	// Loop: a packet read from a TUN for a local endpoint. Writing it back
	// would loop it through the kernel, whose route for the subnet points at
	// the TUN again, so it is dropped.
	Loop uint64
	// SendError: a datagram the socket refused to send.
	SendError uint64
	// DeviceError: a packet the TUN device refused to take.
	DeviceError uint64
}

type dropReason int

const (
	dropUnknownVNI dropReason = iota
	dropNotPeer
	dropMalformed
	dropNoRoute
	dropNotLocal
	dropLoop
	dropSendError
	dropDeviceError
	numDropReasons
)

// counters are the forwarder's shared atomics. The loops count into a
// private tally and flush it once per batch, so the shared cache lines are
// touched per batch rather than per packet.
type counters struct {
	packetsOut, bytesOut atomic.Uint64
	packetsIn, bytesIn   atomic.Uint64
	drops                [numDropReasons]atomic.Uint64
}

type tally struct {
	packets, bytes uint64
	drops          [numDropReasons]uint64
}

func (t *tally) drop(r dropReason) { t.drops[r]++ }

func (c *counters) flushOut(t *tally) {
	c.flushDrops(t)
	if t.packets != 0 {
		c.packetsOut.Add(t.packets)
		c.bytesOut.Add(t.bytes)
	}
	*t = tally{}
}

func (c *counters) flushIn(t *tally) {
	c.flushDrops(t)
	if t.packets != 0 {
		c.packetsIn.Add(t.packets)
		c.bytesIn.Add(t.bytes)
	}
	*t = tally{}
}

func (c *counters) flushDrops(t *tally) {
	for r, n := range t.drops {
		if n != 0 {
			c.drops[r].Add(n)
		}
	}
}

func (c *counters) snapshot() Stats {
	d := func(r dropReason) uint64 { return c.drops[r].Load() }
	return Stats{
		PacketsOut: c.packetsOut.Load(),
		BytesOut:   c.bytesOut.Load(),
		PacketsIn:  c.packetsIn.Load(),
		BytesIn:    c.bytesIn.Load(),
		Drops: Drops{
			UnknownVNI:  d(dropUnknownVNI),
			NotPeer:     d(dropNotPeer),
			Malformed:   d(dropMalformed),
			NoRoute:     d(dropNoRoute),
			NotLocal:    d(dropNotLocal),
			Loop:        d(dropLoop),
			SendError:   d(dropSendError),
			DeviceError: d(dropDeviceError),
		},
	}
}
