// Package tunnel is the overlay networks' data path on one host: a
// user-space VXLAN forwarder between the TUN device of each overlay network
// and one UDP socket on the underlay (DESIGN.md §6).
//
// A packet read from a network's TUN is looked up by its inner destination
// in that network's endpoint table, wrapped in a VXLAN header (RFC 7348,
// the network's VNI) and a synthetic Ethernet header, and sent to the UDP
// address of the host that holds the destination. A datagram received from
// a cluster peer is checked (Decap) and its inner packet written to the TUN
// of the network with that VNI, if the destination is an endpoint on this
// host. Everything else is dropped and counted (Stats), never logged per
// packet.
//
// The package owns its socket, the TUN queues handed to it, its goroutines
// and its counters. It does not decide anything: which networks exist, which
// endpoints live where and which nodes are peers come from its owner (the
// node's tunnel actor) through AddNetwork, SetEndpoints and SetPeers. The
// device helpers (OpenTUN, ConfigureLink, AddRoute, CreateNetns, CreateVeth,
// InNetns) create and configure devices and namespaces for it, as root.
//
// TUN queues with offloads (OpenOffloadTUN, OffloadQueue) hand over TCP
// super-segments of up to 64 KB: the forwarder cuts them into TCP segments
// that fit the underlay (Config.UnderlayMTU), sent with UDP GSO, and glues
// the segments of a flow it receives (UDP GRO) back into super-segments,
// one TUN write each. The wire carries ordinary RFC 7348 datagrams either
// way, so nodes with and without offloads interoperate.
//
// Concurrency: every Forwarder method is safe for concurrent use. The
// forwarder runs one goroutine per TUN queue (read a batch of packets,
// encapsulate or segment, sendmmsg) and Config.Readers goroutines on the
// socket (recvmmsg, decapsulate, coalesce, write to a TUN). The loops read
// the network set, the endpoint tables and the peer set without locks:
// each is an immutable value behind an atomic pointer, replaced whole by
// the methods that change it. Every loop owns a batch of pooled buffers
// with HeaderLen bytes of headroom and the message and iovec arrays of its
// system calls, so the packet path neither copies payloads in user space
// nor allocates. Close and RemoveNetwork return once the goroutines
// concerned have exited.
package tunnel
